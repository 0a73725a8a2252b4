"""change_external_tag end to end: an admin acts in WeCom's console (emulator scenario) → encrypted
callback → inbox → huike.wecom.service.process_event → local state equal to WeCom's. Duplicates, late
and out-of-order events store WeCom's current state."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.tag import service
from huike.tag.models import Tag, TagGroup, TagOwner
from huike.tenant.models import Tenant
from huike.wecom import service as wecom_service
from huike.wecom.models import InboxEvent, InboxStatus
from tests.tag.conftest import assert_in_step, id_of, local_shape
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport

Emulator = tuple[EmulatorState, SeedReport, FastAPI]
RANK = {"delete": 0, "shuffle": 1, "update": 2, "create": 3}


async def _inbox(session: AsyncSession, tenant: Tenant) -> list[InboxEvent]:
    rows = await session.execute(
        select(InboxEvent).where(
            InboxEvent.tenant_id == id_of(tenant), InboxEvent.status == InboxStatus.received
        )
    )
    return list(rows.scalars())


async def _deliver_and_process(
    session: AsyncSession, tenant: Tenant, state: EmulatorState, *, backwards: bool = False
) -> list[str]:
    deliveries = await state.deliveries.drain()
    assert deliveries
    assert all(d.delivered for d in deliveries)
    events = await _inbox(session, tenant)
    if backwards:  # newest change first: deletes, then updates, then creates
        events.sort(key=lambda e: RANK[e.change_type])
    ctx = TenantContext.system(id_of(tenant))
    return [await wecom_service.process_event(session, ctx, e.id) for e in events]


async def test_create_update_delete_from_the_console(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    made = scenarios.admin_creates_tags(state, report.corp_id, "节日活动", ["春节", "中秋"], group_order=5)
    assert await _deliver_and_process(session, tenant, state) == ["processed"] * 3
    await assert_in_step(session, tenant, state)
    group = (
        await session.execute(select(TagGroup).where(TagGroup.wecom_id == made.data["group_id"]))
    ).scalar_one()
    assert group.owner == TagOwner.wecom_console

    scenarios.admin_edits_tag(state, report.corp_id, made.data["tag_ids"][0], name="元旦", order=7)
    scenarios.admin_edits_tag(state, report.corp_id, made.data["group_id"], name="节日")
    await _deliver_and_process(session, tenant, state)
    await assert_in_step(session, tenant, state)

    scenarios.admin_deletes_tag(state, report.corp_id, made.data["tag_ids"][1])
    await _deliver_and_process(session, tenant, state)
    await assert_in_step(session, tenant, state)
    scenarios.admin_deletes_tag(
        state, report.corp_id, made.data["tag_ids"][0]
    )  # the last: the group goes too
    await _deliver_and_process(session, tenant, state)
    local = await assert_in_step(session, tenant, state)
    assert made.data["group_id"] not in local


async def test_out_of_order_and_duplicated_events(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    state.deliveries.switches.duplicate = True
    state.deliveries.switches.order = "reverse"
    made = scenarios.admin_creates_tags(state, report.corp_id, "临时组", ["甲", "乙"])
    scenarios.admin_edits_tag(state, report.corp_id, made.data["tag_ids"][0], name="丙")
    scenarios.admin_deletes_tag(state, report.corp_id, made.data["group_id"])
    outcomes = await _deliver_and_process(session, tenant, state, backwards=True)
    assert set(outcomes) == {"processed"}
    local = await assert_in_step(session, tenant, state)
    assert made.data["group_id"] not in local
    # an old create or update arriving now changes nothing: WeCom says deleted
    rows = (await session.execute(select(Tag).where(Tag.wecom_id.in_(made.data["tag_ids"])))).scalars().all()
    assert all(row.deleted for row in rows)
    assert len(rows) <= 2
    before = await local_shape(session, tenant)
    ctx = TenantContext.system(id_of(tenant))
    for change in ("create", "update"):
        event = {
            "Event": "change_external_tag",
            "ChangeType": change,
            "Id": made.data["tag_ids"][1],
            "TagType": "tag",
        }
        await service.refresh_from_event(session, ctx, event)
    assert await local_shape(session, tenant) == before


async def test_a_late_update_stores_the_current_state(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    made = scenarios.admin_creates_tags(state, report.corp_id, "地区", ["华东"])
    await _deliver_and_process(session, tenant, state)
    tag_id = made.data["tag_ids"][0]
    scenarios.admin_edits_tag(state, report.corp_id, tag_id, name="华南")
    first = await state.deliveries.drain()
    scenarios.admin_edits_tag(state, report.corp_id, tag_id, name="华北")
    state.clock.advance(2)  # a distinct CreateTime, so the two updates are two events
    scenarios.admin_edits_tag(state, report.corp_id, tag_id, name="西北")
    await state.deliveries.drain()
    assert first
    events = await _inbox(session, tenant)
    ctx = TenantContext.system(id_of(tenant))
    for event in reversed(events):
        await wecom_service.process_event(session, ctx, event.id)
    row = (
        await session.execute(
            select(Tag).where(Tag.wecom_id == tag_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert row.name == "西北"
    await assert_in_step(session, tenant, state)


async def test_shuffle_events_reread_orders(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    groups = (
        (await session.execute(select(TagGroup).where(TagGroup.tenant_id == id_of(tenant)))).scalars().all()
    )
    wecom_ids = [str(g.wecom_id) for g in groups]
    tags = (await session.execute(select(Tag).where(Tag.group_id == groups[0].id))).scalars().all()
    # the console reorders without Huike hearing of each move (events lost or not yet processed)
    for index, wecom_id in enumerate(wecom_ids):
        scenarios.admin_edits_tag(state, report.corp_id, wecom_id, order=index)
    for index, tag in enumerate(tags):
        scenarios.admin_edits_tag(state, report.corp_id, str(tag.wecom_id), order=100 + index)
    await state.deliveries.drain()
    ctx = TenantContext.system(id_of(tenant))
    shuffle_tags = {"Event": "change_external_tag", "ChangeType": "shuffle", "Id": str(groups[0].wecom_id)}
    assert await service.refresh_from_event(session, ctx, shuffle_tags) == "applied"
    shuffle_groups = {"Event": "change_external_tag", "ChangeType": "shuffle", "Id": ""}
    assert await service.refresh_from_event(session, ctx, shuffle_groups) == "synced"
    await assert_in_step(session, tenant, state)


async def test_strategy_tags_are_not_mirrored(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    event = {"ChangeType": "create", "Id": "st" + uuid.uuid4().hex, "TagType": "tag", "StrategyId": "1"}
    outcome = await service.refresh_from_event(session, TenantContext.system(id_of(tenant)), event)
    assert outcome == "ignored_strategy_tag"
