"""Custom roles (create, update, delete, 409 while assigned), assignments, the creator's lock, grants
limited to what the actor holds, the audit rows, the catalogue and /permissions/me."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.permission.catalog import MEMBER_DEFAULT
from huike.privacy.audit.models import AuditEvent
from huike.tenant.models import Tenant
from tests.permission.conftest import assign, custom_role, login, member


async def audit_rows(session: AsyncSession, tenant_id: uuid.UUID, action: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AuditEvent.object_id, AuditEvent.details)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action == action)
        .order_by(AuditEvent.seq)
    )
    return [{"object_id": object_id, **details} for object_id, details in rows.all()]


async def test_catalogue_and_builtins(logged_in: httpx.AsyncClient) -> None:
    catalog = (await logged_in.get("/api/v1/permissions/catalog")).json()
    modules = {m["code"]: m for m in catalog["modules"]}
    assert list(modules) == [
        "acquisition",
        "customers",
        "groups",
        "outreach",
        "marketing",
        "data",
        "settings",
    ]
    assert modules["acquisition"]["label"] == {"zh": "拓客引流", "en": "Acquisition"}
    codes = {p["code"] for m in catalog["modules"] for p in m["permissions"]}
    assert {"customers.reveal_mobile", "mass_messages.send", "roles.manage", "audit.view"} <= codes
    assert [a["code"] for a in catalog["apps"]] == ["app.console", "app.sidebar"]
    assert [s["code"] for s in catalog["data_scopes"]] == ["self", "department", "company"]
    assert {r["resource"] for r in catalog["scope_rules"]} >= {"group_chats", "customer_tags"}
    roles = (await logged_in.get("/api/v1/roles", headers={"Accept-Language": "en"})).json()["items"]
    builtins = {r["id"]: r for r in roles if r["builtin"]}
    assert builtins["admin"]["name"] == "Admin"
    assert "calendar.manage" in builtins["creator"]["permissions"]
    assert "calendar.manage" not in builtins["admin"]["permissions"]
    assert builtins["member"]["data_scope"] == "self"
    for method in ("PATCH", "DELETE"):
        response = await logged_in.request(
            method, "/api/v1/roles/admin", json={"name": "x"} if method == "PATCH" else None
        )
        assert (response.status_code, response.json()["error"]["code"]) == (409, "permission.role_builtin")


async def test_custom_role_lifecycle_with_audit(
    logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    created = await logged_in.post(
        "/api/v1/roles",
        json={"name": " 销售主管 ", "permissions": ["customers.edit"], "data_scope": "department"},
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert (role["name"], role["permissions"], role["builtin"]) == (
        "销售主管",
        ["customers.edit", "customers.view"],
        False,
    )
    again = await logged_in.post(
        "/api/v1/roles", json={"name": "销售主管", "permissions": [], "data_scope": "self"}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "permission.role_name_taken")
    for bad in ("customers.fly", "calendar.manage"):
        refused = await logged_in.post(
            "/api/v1/roles", json={"name": "x", "permissions": [bad], "data_scope": "self"}
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "permission.unknown")

    updated = await logged_in.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["groups.manage"]})
    assert updated.json()["permissions"] == ["groups.manage", "groups.view"]
    assert updated.json()["data_scope"] == "department"

    member_id, _ = await member(session, tenant_id)
    await session.commit()
    assigned = await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": role["id"]})
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["role"]["id"], assigned.json()["role"]["member_count"]) == (role["id"], 1)
    in_use = await logged_in.delete(f"/api/v1/roles/{role['id']}")
    assert (in_use.status_code, in_use.json()["error"]["code"]) == (409, "permission.role_in_use")
    assert in_use.json()["error"]["details"] == {"members": 1}
    assert (
        await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": "member"})
    ).status_code == 200
    assert (await logged_in.delete(f"/api/v1/roles/{role['id']}")).status_code == 204
    assert (await logged_in.get(f"/api/v1/roles/{role['id']}")).status_code == 404

    changes = await audit_rows(session, tenant_id, "permission.changed")
    assert [(c["change"], c["before"], c["after"]) for c in changes] == [
        ("created", [], ["customers.edit", "customers.view"]),
        ("updated", ["customers.edit", "customers.view"], ["groups.manage", "groups.view"]),
        ("deleted", ["groups.manage", "groups.view"], []),
    ]
    assert {c["object_id"] for c in changes} == {role["id"]}
    assert changes[0]["data_scope"] == {"from": None, "to": "department"}
    moves = await audit_rows(session, tenant_id, "role.changed")
    assert [(m["role"]["from"], m["role"]["to"]) for m in moves] == [
        ("member", role["id"]),
        (role["id"], "member"),
    ]
    assert moves[0]["before"] == sorted(MEMBER_DEFAULT)
    assert moves[0]["after"] == ["groups.manage", "groups.view"]
    assert moves[0]["data_scope"] == {"from": "self", "to": "department"}
    assert {m["object_id"] for m in moves} == {str(member_id)}


async def test_an_assignment_takes_effect_at_the_next_request(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    auditor = await custom_role(session, tenant_id, ["app.console", "audit.view"], "company", name="审计员")
    client = await login(app, session, tenant_id, user_id)
    async with client:
        assert (await client.get("/api/v1/audit-events")).status_code == 403
        me = (await client.get("/api/v1/permissions/me")).json()
        assert me["role"]["id"] == "member"
        assert me["permissions"] == sorted(p for p in MEMBER_DEFAULT if not p.startswith("app."))
        assert (me["apps"], me["data_scope"], me["member_id"]) == (
            ["app.console", "app.sidebar"],
            "self",
            str(member_id),
        )
        assert (
            await logged_in.put(f"/api/v1/members/{member_id}/role", json={"role": str(auditor)})
        ).status_code == 200
        assert (await client.get("/api/v1/audit-events")).status_code == 200
        me = (await client.get("/api/v1/permissions/me")).json()
        assert (me["role"]["name"], me["permissions"], me["data_scope"]) == (
            "审计员",
            ["audit.view"],
            "company",
        )
        own = await client.put(f"/api/v1/members/{member_id}/role", json={"role": "admin"})
        assert own.json()["error"]["details"] == {"permission": "roles.manage"}


async def test_the_creator_cannot_be_demoted(
    creator_client: httpx.AsyncClient, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    creator_member, _ = await member(session, tenant_id, account_role="creator")
    other, _ = await member(session, tenant_id, account_role="member")
    await session.commit()
    for client in (logged_in, creator_client):
        for role in ("member", "admin"):
            response = await client.put(f"/api/v1/members/{creator_member}/role", json={"role": role})
            assert (response.status_code, response.json()["error"]["code"]) == (
                409,
                "permission.creator_locked",
            )
        made = await client.put(f"/api/v1/members/{other}/role", json={"role": "creator"})
        assert (made.status_code, made.json()["error"]["code"]) == (409, "permission.creator_locked")
    assert await audit_rows(session, tenant_id, "role.changed") == []


async def test_nobody_changes_their_own_role(app: FastAPI, session: AsyncSession, tenant: Tenant) -> None:
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="admin")
    assert user_id is not None
    async with await login(app, session, tenant_id, user_id) as client:
        response = await client.put(f"/api/v1/members/{member_id}/role", json={"role": "member"})
        assert (response.status_code, response.json()["error"]["code"]) == (409, "permission.own_role")


async def test_one_grants_only_what_one_holds(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    manager, manager_user = await member(session, tenant_id, account_role="member")
    assert manager_user is not None
    held = ["app.console", "roles.manage", "customers.view", "groups.view"]
    await assign(
        session, tenant_id, manager, await custom_role(session, tenant_id, held, "department", name="主管")
    )
    target, _ = await member(session, tenant_id)
    within = await custom_role(session, tenant_id, ["customers.view"], "self", name="查看")
    admin_member, _ = await member(session, tenant_id, account_role="admin")
    big = await custom_role(session, tenant_id, ["customers.export"], "self", name="导出")
    async with await login(app, session, tenant_id, manager_user) as client:

        async def refused(response: httpx.Response) -> dict[str, Any]:
            assert (response.status_code, response.json()["error"]["code"]) == (
                403,
                "permission.grant_exceeds_own",
            )
            details: dict[str, Any] = response.json()["error"]["details"]
            return details

        wider = await client.post(
            "/api/v1/roles", json={"name": "a", "permissions": ["customers.export"], "data_scope": "self"}
        )
        assert (await refused(wider))["permissions"] == ["customers.export"]
        scope = await client.post(
            "/api/v1/roles", json={"name": "b", "permissions": ["groups.view"], "data_scope": "company"}
        )
        assert (await refused(scope))["data_scope"] == "company"
        await refused(await client.put(f"/api/v1/members/{target}/role", json={"role": "admin"}))
        await refused(await client.put(f"/api/v1/members/{target}/role", json={"role": str(big)}))
        # the built-in member role holds permissions the manager lacks; an admin cannot be demoted by them
        await refused(await client.put(f"/api/v1/members/{target}/role", json={"role": "member"}))
        # nor take away what they lack: the target (no account yet) holds the member role's defaults
        await refused(await client.put(f"/api/v1/members/{target}/role", json={"role": str(within)}))
        await assign(session, tenant_id, target, within)
        await session.commit()
        small = await client.post(
            "/api/v1/roles", json={"name": "c", "permissions": ["groups.view"], "data_scope": "self"}
        )
        assert small.status_code == 201
        await refused(
            await client.put(f"/api/v1/members/{admin_member}/role", json={"role": small.json()["id"]})
        )
        assert (
            await client.put(f"/api/v1/members/{target}/role", json={"role": small.json()["id"]})
        ).status_code == 200
        await refused(await client.patch(f"/api/v1/roles/{big}", json={"name": "改名"}))
        await refused(await client.delete(f"/api/v1/roles/{big}"))
    # an admin holds every grantable permission, but not the creator's own
    admin_try = await logged_in.post(
        "/api/v1/roles", json={"name": "d", "permissions": ["creator.transfer"], "data_scope": "self"}
    )
    assert (admin_try.status_code, admin_try.json()["error"]["code"]) == (422, "permission.unknown")


async def test_other_tenants_roles_and_members_are_not_found(
    logged_in: httpx.AsyncClient, session: AsyncSession, other_tenant: Tenant
) -> None:
    foreign_role = await custom_role(session, other_tenant.id, ["groups.view"], name="外部")
    foreign_member, _ = await member(session, other_tenant.id)
    await session.commit()
    for path in (f"/api/v1/roles/{foreign_role}", f"/api/v1/roles/{uuid.uuid4()}"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await logged_in.request(method, path, json={} if method == "PATCH" else None)
            assert response.status_code == 404, (method, path)
    unknown = await logged_in.put(f"/api/v1/members/{foreign_member}/role", json={"role": "member"})
    assert unknown.status_code == 404
    ours, _ = await member(session, (await _tenant_of(logged_in)), account_role=None)
    await session.commit()
    response = await logged_in.put(f"/api/v1/members/{ours}/role", json={"role": str(foreign_role)})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "permission.role_unknown")
    assert (await logged_in.get("/api/v1/roles")).json()["items"][-1]["id"] in {"creator", "admin", "member"}


async def _tenant_of(client: httpx.AsyncClient) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/v1/auth/me")).json()["tenant"]["id"])
