"""change_external_chat end to end: a person acts in WeCom (emulator scenario) → encrypted callback →
inbox → handler → local state equal to WeCom's, with joins and quits counted once per person and
event, whatever the order and however often an event arrives."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.group_chat import service
from huike.group_chat.models import GroupChatDailyStat, GroupChatMember, GroupStatus
from huike.tenant.models import Tenant
from tests.group_chat.conftest import (
    Emulator,
    deliver,
    emulator_groups,
    group_by_chat_id,
    local_groups,
)
from wecom_emulator import scenarios


async def _totals(session: AsyncSession, tenant: Tenant, group_id: object) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(GroupChatDailyStat.joins), 0),
                func.coalesce(func.sum(GroupChatDailyStat.quits), 0),
            )
            .where(GroupChatDailyStat.tenant_id == tenant.id, GroupChatDailyStat.group_chat_id == group_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return int(row[0]), int(row[1])


async def test_joins_and_quits_apply_directly_when_the_version_matches(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator, calls: Counter[str]
) -> None:
    state, report, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    joined = scenarios.customer_joins_group(state, report.corp_id, chat_id, join_scene=3)
    second = scenarios.customer_joins_group(state, report.corp_id, chat_id, join_scene=1, invitor="x")
    scenarios.customer_quits_group(state, report.corp_id, chat_id, joined.data["external_userid"])
    calls.clear()
    assert await deliver(session, tenant, state) == 3
    assert calls["get"] == 0  # MemChangeList applied: LastMemVer matched each time
    assert await local_groups(session, tenant.id) == emulator_groups(state)
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert group.member_version == second.data["member_version"] or group.member_version
    assert await _totals(session, tenant, group.id) == (2, 1)
    row = (
        await session.execute(
            select(GroupChatMember).where(
                GroupChatMember.group_chat_id == group.id,
                GroupChatMember.userid == joined.data["external_userid"],
            )
        )
    ).scalar_one()
    assert row.left_at is not None
    assert row.join_scene == 3
    assert row.member_type == "external"


async def test_a_version_gap_rereads_the_group(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator, calls: Counter[str]
) -> None:
    state, report, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    scenarios.customer_joins_group(state, report.corp_id, chat_id)
    await state.deliveries.drain()  # lost: WeCom gave up on it
    from huike.wecom.models import InboxEvent

    for row in (await session.execute(select(InboxEvent))).scalars():
        await session.delete(row)
    await session.commit()
    scenarios.customer_joins_group(state, report.corp_id, chat_id, join_scene=2, invitor="someone")
    calls.clear()
    await deliver(session, tenant, state)
    assert calls["get"] == 1
    assert await local_groups(session, tenant.id) == emulator_groups(state)


async def test_out_of_order_and_duplicated_deliveries(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    state.deliveries.switches.duplicate = True
    state.deliveries.switches.order = "reverse"
    chat_id = next(iter(emulator_groups(state)))
    a = scenarios.customer_joins_group(state, report.corp_id, chat_id)
    state.clock.advance(2)
    scenarios.customer_joins_group(state, report.corp_id, chat_id)
    state.clock.advance(2)
    scenarios.customer_quits_group(state, report.corp_id, chat_id, a.data["external_userid"], quit_scene=1)
    await deliver(session, tenant, state)
    assert await local_groups(session, tenant.id) == emulator_groups(state)
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert await _totals(session, tenant, group.id) == (2, 1)
    # every event handed over again (a retried job, a second delivery) counts nothing more
    from huike.wecom.models import InboxEvent

    ctx = TenantContext.system(tenant.id)
    for row in (await session.execute(select(InboxEvent).where(InboxEvent.tenant_id == tenant.id))).scalars():
        await service.on_chat_event(session, ctx, dict(row.payload))
    await session.commit()
    assert await _totals(session, tenant, group.id) == (2, 1)
    assert await local_groups(session, tenant.id) == emulator_groups(state)


async def test_create_rename_owner_notice_and_dismiss(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator, calls: Counter[str]
) -> None:
    state, report, _ = emulator
    owner = state.store.scalar("SELECT userid FROM member ORDER BY pk LIMIT 1")
    heir = state.store.scalar("SELECT userid FROM member ORDER BY pk DESC LIMIT 1")
    made = scenarios.member_creates_group(state, report.corp_id, owner, name="新群")
    chat_id = made.data["chat_id"]
    await deliver(session, tenant, state)
    assert (await local_groups(session, tenant.id))[chat_id] == emulator_groups(state)[chat_id]

    ctx = TenantContext.system(tenant.id)
    now = state.clock.timestamp()
    state.store.conn.execute("UPDATE groupchat SET name = '改名了' WHERE chat_id = ?", (chat_id,))
    event = {
        "Event": "change_external_chat",
        "ChangeType": "update",
        "ChatId": chat_id,
        "CreateTime": str(now + 1),
    }
    await service.on_chat_event(session, ctx, {**event, "UpdateDetail": "change_name"})
    heir_pk = state.store.scalar("SELECT pk FROM member WHERE userid = ?", (heir,))
    state.store.conn.execute("UPDATE groupchat SET owner_pk = ? WHERE chat_id = ?", (heir_pk, chat_id))
    await service.on_chat_event(
        session, ctx, {**event, "UpdateDetail": "change_owner", "CreateTime": str(now + 2)}
    )
    calls.clear()
    await service.on_chat_event(
        session, ctx, {**event, "UpdateDetail": "change_notice", "CreateTime": str(now + 3)}
    )
    assert calls["get"] == 0  # the notice is not kept: nothing to read
    await session.commit()
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert (group.name, group.owner_userid, group.event_time) == ("改名了", heir, now + 3)

    state.clock.advance(5)
    scenarios.member_dismisses_group(state, report.corp_id, chat_id)
    await deliver(session, tenant, state)
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert group.status == GroupStatus.dismissed
    assert group.member_count == 0
    # a late create or rename changes nothing and asks WeCom nothing
    calls.clear()
    for detail in ("change_name", "add_member"):
        await service.on_chat_event(session, ctx, {**event, "UpdateDetail": detail})
    await service.on_chat_event(session, ctx, {**event, "ChangeType": "create"})
    await session.commit()
    assert calls["get"] == 0
    assert (await group_by_chat_id(session, tenant.id, chat_id)).status == GroupStatus.dismissed


async def test_dismiss_before_create_leaves_the_group_dismissed(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    state.deliveries.switches.order = "reverse"
    owner = state.store.scalar("SELECT userid FROM member ORDER BY pk LIMIT 1")
    made = scenarios.member_creates_group(state, report.corp_id, owner, name="昙花一现")
    state.clock.advance(2)
    scenarios.member_dismisses_group(state, report.corp_id, made.data["chat_id"])
    await deliver(session, tenant, state)
    group = await group_by_chat_id(session, tenant.id, made.data["chat_id"])
    assert group.status == GroupStatus.dismissed
    assert made.data["chat_id"] not in await local_groups(session, tenant.id)
