"""Helpers of the permission tests: members with departments, users with roles, logged-in clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.member.models import Department, Member, MemberDepartment
from huike.permission.models import Role, RoleAssignment
from huike.security.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrf_token_for, start_session
from huike.tenant.models import Tenant
from tests.conftest import user_with_role


async def department(session: AsyncSession, tenant_id: uuid.UUID, wecom_id: int, parent: int) -> None:
    session.add(
        Department(tenant_id=tenant_id, wecom_id=wecom_id, parent_wecom_id=parent, name=f"部门{wecom_id}")
    )
    await session.flush()


async def member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    departments: Sequence[int] = (),
    account_role: str | None = None,
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """A WeCom member in ``departments``; with ``account_role`` also a user (their account) linked to it.
    Returns (member id, user id)."""
    user_id = await user_with_role(session, tenant_id, account_role) if account_role else None
    row = Member(
        tenant_id=tenant_id, wecom_userid=f"perm-{uuid.uuid4().hex[:10]}", name=None, user_id=user_id
    )
    session.add(row)
    await session.flush()
    for wecom_id in departments:
        session.add(MemberDepartment(tenant_id=tenant_id, member_id=row.id, department_wecom_id=wecom_id))
    await session.flush()
    return row.id, user_id


async def custom_role(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    permissions: Sequence[str],
    scope: str = "self",
    name: str = "",
) -> uuid.UUID:
    role = Role(
        tenant_id=tenant_id,
        name=name or f"角色{uuid.uuid4().hex[:6]}",
        permissions=sorted(permissions),
        data_scope=scope,
    )
    session.add(role)
    await session.flush()
    return role.id


async def assign(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, role_id: uuid.UUID
) -> None:
    session.add(RoleAssignment(tenant_id=tenant_id, member_id=member_id, role_id=role_id))
    await session.flush()


async def login(
    app: FastAPI, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> httpx.AsyncClient:
    _, token = await start_session(session, tenant_id, user_id)
    await session.commit()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token_for(token))
    client.headers[CSRF_HEADER] = csrf_token_for(token)
    return client


@pytest_asyncio.fixture
async def nobody(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> AsyncIterator[tuple[httpx.AsyncClient, uuid.UUID]]:
    """A member holding a custom role with the web console app and no function permission, logged in;
    with their user id."""
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    role = await custom_role(session, tenant_id, ["app.console"], name="无权限")
    await assign(session, tenant_id, member_id, role)
    client = await login(app, session, tenant_id, user_id)
    yield client, user_id
    await client.aclose()
