"""The effective role, wherever a person's role is shown: the current user (/auth/me, which the console's
session store reads), the profile, and the member list and detail. A custom role assigned to a member
wins over the built-in role stored on their account membership."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.permission.catalog import MEMBER_DEFAULT
from huike.tenant.models import Tenant
from tests.permission.conftest import assign, custom_role, login, member


async def test_me_and_profile_show_an_assigned_custom_role_and_its_permissions(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    role_id = await custom_role(
        session, tenant_id, ["customers.edit", "customers.view", "app.console"], name="店长"
    )
    await assign(session, tenant_id, member_id, role_id)
    client = await login(app, session, tenant_id, user_id)

    me = (await client.get("/api/v1/auth/me")).json()
    assert me["role"] == {"id": str(role_id), "name": "店长", "builtin": False}
    assert me["permissions"] == ["app.console", "customers.edit", "customers.view"]
    profile = (await client.get("/api/v1/auth/profile")).json()
    assert profile["role"] == me["role"]


async def test_me_shows_the_builtin_role_in_the_callers_language(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    _, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    client = await login(app, session, tenant_id, user_id)

    zh = (await client.get("/api/v1/auth/me")).json()
    assert zh["role"] == {"id": "member", "name": "普通成员", "builtin": True}
    assert zh["permissions"] == sorted(str(p) for p in MEMBER_DEFAULT)
    en = (await client.get("/api/v1/auth/me", headers={"Accept-Language": "en"})).json()
    assert en["role"]["name"] == "Member"


async def test_member_list_and_detail_show_each_members_effective_role(
    logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    assigned, _ = await member(session, tenant_id, account_role="member")
    role_id = await custom_role(session, tenant_id, ["customers.view"], name="客服")
    await assign(session, tenant_id, assigned, role_id)
    plain, _ = await member(session, tenant_id, account_role="member")
    admin, _ = await member(session, tenant_id, account_role="admin")
    not_activated, _ = await member(session, tenant_id)
    await session.commit()

    listed = await logged_in.get("/api/v1/members", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    roles = {item["id"]: item["role"] for item in listed.json()["items"]}
    assert roles[str(assigned)] == {"id": str(role_id), "name": "客服", "builtin": False}
    assert roles[str(plain)] == {"id": "member", "name": "普通成员", "builtin": True}
    assert roles[str(admin)] == {"id": "admin", "name": "管理员", "builtin": True}
    # not activated yet: the invitation's role until one is assigned
    assert roles[str(not_activated)] == {"id": "member", "name": "普通成员", "builtin": True}

    detail = await logged_in.get(f"/api/v1/members/{assigned}", headers={"Accept-Language": "en"})
    assert detail.json()["role"] == {"id": str(role_id), "name": "客服", "builtin": False}
    detail = await logged_in.get(f"/api/v1/members/{admin}", headers={"Accept-Language": "en"})
    assert detail.json()["role"] == {"id": "admin", "name": "Admin", "builtin": True}
