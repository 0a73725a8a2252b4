"""Permission changes count from the next request (R-ADM-1 「功能权限…应用权限」): the role, its permissions and
the web console app (``app.console``) are read for every request of a session, not remembered from the
login. Taking ``app.console`` away (by editing the member's role or by giving them another role) refuses
the member's next console call with 403 ``permission.console_not_allowed`` in their language; giving it
back lets the same session through again. Login refuses such a role too (test_console_app.py)."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.tenant.models import Tenant
from tests.permission.conftest import assign, custom_role, login, member


def refused_for_console(response: httpx.Response) -> str:
    """The message of a ``permission.console_not_allowed`` refusal (asserting it is one)."""
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == (
        "permission.console_not_allowed",
        {"permission": "app.console"},
    )
    return str(error["message"])


async def member_with_role(
    session: AsyncSession, tenant_id: uuid.UUID, permissions: list[str]
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A member with an account, holding a new custom role: (member id, user id, role id)."""
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    role_id = await custom_role(session, tenant_id, permissions)
    await assign(session, tenant_id, member_id, role_id)
    return member_id, user_id, role_id


async def test_taking_the_console_app_from_the_role_refuses_the_next_request_and_giving_it_back_admits_it(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    _, user_id, role_id = await member_with_role(session, tenant.id, ["app.console", "customers.view"])
    async with await login(app, session, tenant.id, user_id) as client:
        assert (await client.get("/api/v1/jobs")).status_code == 200
        assert (await client.get("/api/v1/external-contacts/count")).status_code == 200

        edited = await logged_in.patch(f"/api/v1/roles/{role_id}", json={"permissions": ["customers.view"]})
        assert edited.status_code == 200, edited.text

        # every console call of the same session, reads and writes, routes with and without a rule
        zh = refused_for_console(await client.get("/api/v1/external-contacts/count"))
        assert "Web 管理后台" in zh
        en = refused_for_console(await client.get("/api/v1/jobs", headers={"Accept-Language": "en"}))
        assert "Web console" in en
        refused_for_console(await client.get("/api/v1/permissions/me"))
        refused_for_console(await client.post("/api/v1/external-contacts/sync"))
        # the session itself lives on: the console learns who is signed in and can sign out
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert "app.console" not in me.json()["permissions"]

        restored = await logged_in.patch(
            f"/api/v1/roles/{role_id}", json={"permissions": ["app.console", "customers.view"]}
        )
        assert restored.status_code == 200, restored.text
        assert (await client.get("/api/v1/external-contacts/count")).status_code == 200
        assert (await client.get("/api/v1/jobs")).status_code == 200


async def test_another_role_without_the_console_app_refuses_the_next_request(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    member_id, user_id = await member(session, tenant.id, account_role="member")
    assert user_id is not None
    sidebar_only = await custom_role(session, tenant.id, ["app.sidebar", "customers.view"], name="仅侧边栏")
    async with await login(app, session, tenant.id, user_id) as client:
        assert (await client.get("/api/v1/jobs")).status_code == 200  # the built-in member role

        moved = await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": str(sidebar_only)})
        assert moved.status_code == 200, moved.text
        refused_for_console(await client.get("/api/v1/jobs"))

        back = await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": "member"})
        assert back.status_code == 200, back.text
        assert (await client.get("/api/v1/jobs")).status_code == 200


async def test_a_function_permission_taken_away_is_refused_at_the_next_request_and_given_back_admitted(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    member_id, user_id, role_id = await member_with_role(
        session, tenant.id, ["app.console", "audit.view", "customers.view"]
    )
    other = await custom_role(session, tenant.id, ["app.console", "customers.view"], name="客服")
    async with await login(app, session, tenant.id, user_id) as client:
        assert (await client.get("/api/v1/audit-events")).status_code == 200

        edited = await logged_in.patch(
            f"/api/v1/roles/{role_id}", json={"permissions": ["app.console", "customers.view"]}
        )
        assert edited.status_code == 200, edited.text
        denied = await client.get("/api/v1/audit-events")
        assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission.denied")
        assert denied.json()["error"]["details"] == {"permission": "audit.view"}

        restored = await logged_in.patch(
            f"/api/v1/roles/{role_id}", json={"permissions": ["app.console", "audit.view", "customers.view"]}
        )
        assert restored.status_code == 200, restored.text
        assert (await client.get("/api/v1/audit-events")).status_code == 200

        # the same through the member's role assignment
        assert (
            await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": str(other)})
        ).status_code == 200
        assert (await client.get("/api/v1/audit-events")).status_code == 403
        assert (await client.get("/api/v1/external-contacts/count")).status_code == 200
