"""group_chat.sync_from_wecom against the emulator: counts match WeCom, a rerun is cheap, owners are
listed in batches (never unfiltered: 81017), a retried job resumes from its checkpoint, groups missing
after a complete pass are dismissed, and the route queues one job at a time."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.group_chat import service
from huike.group_chat.models import GroupChat, GroupChatMember, GroupChatSyncState, GroupStatus
from huike.tenant.models import Tenant
from huike.wecom.errors import WeComError
from huike.wecom.service import client_for
from tests.group_chat.conftest import Emulator, emulator_groups, group_by_chat_id, local_groups, sync
from wecom_emulator.routes import groups as emulator_group_routes


async def test_sync_matches_the_emulator(
    connected: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    calls: Counter[str],
) -> None:
    state, _, _ = emulator
    stats = await sync(session, tenant.id)
    wecom = emulator_groups(state)
    assert len(wecom) == 7
    assert await local_groups(session, tenant.id) == wecom
    assert stats["created"] == 7
    assert stats["read"] == 7
    assert stats.get("dismissed", 0) == 0
    assert calls["get"] == 7
    assert calls["unfiltered"] == 0
    # what the policy does not let us keep is not stored (the name a group shows for an external
    # contact is, encrypted: see test_member_names)
    chat_id = next(iter(wecom))
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert group.wecom_created_at.year > 2000
    assert not hasattr(GroupChat, "notice")
    assert not hasattr(GroupChat, "admin_list")
    for dropped in ("group_nickname", "unionid", "state", "name"):
        assert not hasattr(GroupChatMember, dropped)


async def test_a_rerun_with_nothing_changed_is_cheap(
    connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, calls: Counter[str]
) -> None:
    await sync(session, tenant.id)
    before = {
        row.id: row.updated_at
        for row in (
            await session.execute(select(GroupChatMember).where(GroupChatMember.tenant_id == tenant.id))
        )
        .scalars()
        .all()
    }
    calls.clear()
    stats = await sync(session, tenant.id)
    assert calls["get"] == 0
    assert calls["list"] >= 1
    assert stats.get("read", 0) == 0
    assert stats.get("created", 0) == 0
    assert stats.get("dismissed", 0) == 0
    # a full rerun reads every group, but an unchanged member_version leaves the members alone
    stats = await sync(session, tenant.id, full=True)
    assert stats["read"] == 7
    assert stats.get("updated", 0) == 0
    after = {
        row.id: row.updated_at
        for row in (
            await session.execute(
                select(GroupChatMember)
                .where(GroupChatMember.tenant_id == tenant.id)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    }
    assert after == before


async def test_owners_are_listed_in_batches_so_81017_never_happens(
    connected: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    calls: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _, _ = emulator
    monkeypatch.setattr(emulator_group_routes, "UNFILTERED_SCOPE_MAX", 2)  # a "large" scope
    monkeypatch.setattr(service, "OWNER_BATCH", 2)
    client, _ = await client_for(session, TenantContext.system(tenant.id))
    with pytest.raises(WeComError) as refused:
        await client.groupchat_list(limit=100)
    assert refused.value.details.get("errcode") == 81017
    calls.clear()
    stats = await sync(session, tenant.id)
    assert calls["unfiltered"] == 0
    assert calls["max_owners"] == 2
    assert stats["owner_batches"] >= 3
    assert await local_groups(session, tenant.id) == emulator_groups(state)


async def test_a_retried_job_resumes_from_its_checkpoint(
    connected: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    calls: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _, _ = emulator
    monkeypatch.setattr(service, "OWNER_BATCH", 2)
    monkeypatch.setattr(service, "LIST_PAGE", 1)
    ctx = TenantContext.system(tenant.id)
    run_id = uuid.uuid4()
    saves = 0

    async def crash_on_the_third_page() -> None:
        nonlocal saves
        saves += 1
        await session.commit()
        if saves == 3:
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        await service.sync_from_wecom(session, ctx, run_id, checkpoint=crash_on_the_third_page)
    await session.rollback()
    state_row = (
        await session.execute(select(GroupChatSyncState).where(GroupChatSyncState.tenant_id == tenant.id))
    ).scalar_one()
    assert state_row.phase == "listing"
    assert state_row.owner_after or state_row.cursor
    read_before = calls["get"]
    stats = await service.sync_from_wecom(session, ctx, run_id)
    await session.commit()
    assert calls["get"] - read_before < 7  # the groups read before the crash are not read again
    assert stats["created"] == 7
    assert await local_groups(session, tenant.id) == emulator_groups(state)
    # the same delivery again: the run is done, nothing happens
    calls.clear()
    assert (await service.sync_from_wecom(session, ctx, run_id))["created"] == 7
    assert calls["list"] == 0


async def test_groups_missing_after_a_complete_pass_are_dismissed(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    pk = state.store.scalar("SELECT pk FROM groupchat WHERE chat_id = ?", (chat_id,))
    state.store.conn.execute("DELETE FROM groupchat_member WHERE chat_pk = ?", (pk,))
    state.store.conn.execute("DELETE FROM groupchat WHERE pk = ?", (pk,))
    stats = await sync(session, tenant.id)
    assert stats["dismissed"] == 1
    group = await group_by_chat_id(session, tenant.id, chat_id)
    assert group.status == GroupStatus.dismissed
    assert group.member_count == 0
    assert await local_groups(session, tenant.id) == emulator_groups(state)


async def test_the_route_queues_one_sync_at_a_time(synced: httpx.AsyncClient) -> None:
    first = await synced.post("/api/v1/group-chats/sync", json={"full": True})
    assert first.status_code == 202, first.text
    assert first.json()["kind"] == "group_chat.sync_from_wecom"
    second = await synced.post("/api/v1/group-chats/sync")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "group_chat.sync_running"
    assert second.json()["error"]["details"]["job_id"] == first.json()["id"]
