"""Fixtures of the customer-group tests: a generated corp in the emulator (every member in the app's
scope and active), an admin of the tenant connected with callbacks, and helpers that read both sides."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import User
from huike.core.tenancy import TenantContext
from huike.group_chat import repository as group_repository
from huike.group_chat import service
from huike.group_chat.models import GroupChat, GroupChatMember
from huike.security.sessions import start_session
from huike.tenant.models import Tenant
from huike.wecom.client import WeComClient
from tests.member.conftest import deliver, login_client, make_admin
from tests.wecom.test_connection_and_callbacks import connect_and_register_callback
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import SeedReport, seed_company

CORP = "ww5e1f0c0ffee0groups"
Emulator = tuple[EmulatorState, SeedReport, FastAPI]

__all__ = ["deliver"]


@pytest.fixture
def emulator() -> Emulator:
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(state, CORP, members=6, external_contacts=30, groups=7, tags=2, seed=11)
    state.store.conn.execute("UPDATE member SET visible = 1, status = 1")
    state.store.conn.execute("UPDATE groupchat SET status = 0")
    return state, report, create_emulator(state)


@pytest_asyncio.fixture
async def admin_user(session: AsyncSession, tenant: Tenant) -> User:
    user = await make_admin(session, tenant)
    await session.commit()
    return user


@pytest_asyncio.fixture
async def admin(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, admin_user: User
) -> httpx.AsyncClient:
    _, token = await start_session(session, tenant.id, admin_user.id)
    await session.commit()
    return login_client(client, token)


@pytest_asyncio.fixture
async def connected(wired: None, admin: httpx.AsyncClient, emulator: Emulator) -> httpx.AsyncClient:
    state, report, _ = emulator
    await connect_and_register_callback(admin, state, report)
    return admin


async def sync(session: AsyncSession, tenant_id: uuid.UUID, *, full: bool = False) -> dict[str, int]:
    stats = await service.sync_from_wecom(session, TenantContext.system(tenant_id), uuid.uuid4(), full=full)
    await session.commit()
    return stats


@pytest_asyncio.fixture
async def synced(connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> httpx.AsyncClient:
    await sync(session, tenant.id)
    return connected


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of groupchat/list and groupchat/get calls (and the owner batches listed)."""
    counted: Counter[str] = Counter()
    original_list, original_get = WeComClient.groupchat_list, WeComClient.groupchat_get

    async def groupchat_list(self: WeComClient, **kwargs: Any) -> Any:
        counted["list"] += 1
        owners = kwargs.get("owners") or ()
        counted["max_owners"] = max(counted["max_owners"], len(owners))
        if not owners:
            counted["unfiltered"] += 1
        return await original_list(self, **kwargs)

    async def groupchat_get(self: WeComClient, chat_id: str, **kwargs: Any) -> Any:
        counted["get"] += 1
        return await original_get(self, chat_id, **kwargs)

    monkeypatch.setattr(WeComClient, "groupchat_list", groupchat_list)
    monkeypatch.setattr(WeComClient, "groupchat_get", groupchat_get)
    return counted


@pytest.fixture(autouse=True)
def _no_scope_left_behind() -> Iterator[None]:
    yield
    group_repository.set_owner_scope(None)


def emulator_groups(state: EmulatorState) -> dict[str, dict[str, Any]]:
    """{chat_id: {name, owner, members: {userid: type}}} as WeCom has it."""
    found: dict[str, dict[str, Any]] = {}
    for chat in state.store.all(
        "SELECT g.pk, g.chat_id, g.name, m.userid AS owner FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
    ):
        members = state.store.all(
            "SELECT userid, type FROM groupchat_member WHERE chat_pk = ?", (chat["pk"],)
        )
        found[chat["chat_id"]] = {
            "name": chat["name"],
            "owner": chat["owner"],
            "members": {m["userid"]: m["type"] for m in members},
        }
    return found


async def local_groups(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    groups = (
        (
            await session.execute(
                select(GroupChat)
                .where(GroupChat.tenant_id == tenant_id, GroupChat.status != "dismissed")
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        members = (
            (
                await session.execute(
                    select(GroupChatMember)
                    .where(GroupChatMember.group_chat_id == group.id, GroupChatMember.left_at.is_(None))
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        assert group.member_count == len(members)
        found[group.chat_id] = {
            "name": group.name,
            "owner": group.owner_userid,
            "members": {m.userid: 1 if m.member_type == "member" else 2 for m in members},
        }
    return found


async def group_by_chat_id(session: AsyncSession, tenant_id: uuid.UUID, chat_id: str) -> GroupChat:
    return (
        await session.execute(
            select(GroupChat)
            .where(GroupChat.tenant_id == tenant_id, GroupChat.chat_id == chat_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
