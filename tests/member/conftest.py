"""Fixtures of the member tests: a small generated corp in the emulator (one member outside the app's
visibility scope, one resigned), an admin of the tenant, the tenant connected with callbacks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Membership, User
from huike.config import Settings
from huike.core.tenancy import TenantContext
from huike.member import service as members
from huike.security.keys import warm_keys
from huike.security.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrf_token_for, start_session
from huike.tenant.models import Tenant
from huike.wecom import service as wecom_service
from huike.wecom.models import InboxEvent, InboxStatus
from tests.wecom.test_connection_and_callbacks import connect_and_register_callback
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import SeedReport, seed_company

CORP = "ww5e1f0c0ffee0member"
OUT_OF_SCOPE_PK_OFFSET = 2  # the third member is outside the app's visibility scope
RESIGNED_PK_OFFSET = 3  # the fourth has resigned
Emulator = tuple[EmulatorState, SeedReport, FastAPI]


@pytest.fixture
def emulator() -> Emulator:
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(state, CORP, members=14, external_contacts=10, groups=1, tags=2, seed=5)
    first = state.store.scalar("SELECT min(pk) FROM member")
    state.store.conn.execute("UPDATE member SET visible = 1, status = 1")
    state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (first + OUT_OF_SCOPE_PK_OFFSET,))
    state.store.conn.execute("UPDATE member SET status = 5 WHERE pk = ?", (first + RESIGNED_PK_OFFSET,))
    return state, report, create_emulator(state)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # the QR login page of the emulator sits beside its /cgi-bin (wired: http://wecom.test)
    return settings.model_copy(update={"wecom_base_url": "http://wecom.test/cgi-bin"})


def emulator_members(state: EmulatorState, where: str = "1 = 1") -> list[Any]:
    return state.store.all(f"SELECT * FROM member WHERE {where} ORDER BY pk")


async def make_admin(session: AsyncSession, tenant: Tenant, phone: str = "+8613900000001") -> User:
    user = User(phone=phone, status="active")
    session.add(user)
    await session.flush()
    session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="admin"))
    await session.flush()
    return user


def login_client(client: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token_for(token))
    client.headers[CSRF_HEADER] = csrf_token_for(token)
    return client


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
async def connected(wired: None, admin: httpx.AsyncClient, emulator: Emulator) -> dict[str, Any]:
    state, report, _ = emulator
    return await connect_and_register_callback(admin, state, report)


async def sync(session: AsyncSession, tenant: Tenant | uuid.UUID, *, full: bool = False) -> dict[str, int]:
    context = TenantContext.system(tenant_id_of(tenant))
    stats = await members.sync_from_wecom(session, context, uuid.uuid4(), full=full)
    await session.commit()
    return stats


@pytest_asyncio.fixture
async def synced(connected: dict[str, Any], session: AsyncSession, tenant: Tenant) -> dict[str, int]:
    return await sync(session, tenant)


def tenant_id_of(tenant: Tenant | uuid.UUID) -> uuid.UUID:
    return tenant if isinstance(tenant, uuid.UUID) else tenant.id


async def deliver(session: AsyncSession, tenant: Tenant | uuid.UUID, state: EmulatorState) -> int:
    """Deliver the emulator's queued callbacks and process the inbox events, in arrival order."""
    tenant_id = tenant_id_of(tenant)
    await state.deliveries.drain()
    rows: Sequence[InboxEvent] = (
        (
            await session.execute(
                select(InboxEvent)
                .where(InboxEvent.tenant_id == tenant_id, InboxEvent.status == InboxStatus.received)
                .order_by(InboxEvent.received_at)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        await wecom_service.process_event(session, TenantContext.system(tenant_id), row.id)
    await session.commit()
    return len(rows)


async def member_by_userid(session: AsyncSession, tenant: Tenant | uuid.UUID, userid: str) -> Any:
    from huike.member.models import Member

    tenant_id = tenant_id_of(tenant)
    await warm_keys(session, tenant_id)
    return (
        await session.execute(
            select(Member)
            .where(Member.tenant_id == tenant_id, Member.wecom_userid == userid)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
