"""R-ADM-1 (§一（二）9.1 「查看成员的客户群列表、成员给客户添加的标签」「编辑成员创建的所有任务、规则和标签组
数据」「功能权限…应用权限」): RBAC with the modules 拓客引流, 消息触达, 营销, 客户社群 and 数据 and app
permissions; admins view members' group lists and tags and edit their work, only in their own tenant;
each view and each edit writes F4.

Acceptance: an admin of T reading a member of U → 404; a non-admin reading another member's groups →
403; one admin view → one F4 row; after 营销 is removed, that member's marketing endpoints return 403.

Built for the customer-group list (``GET /api/v1/group-chats?owner_id=``); the same two hooks
(``permission.service.require_members_visible`` and ``audit_member_view``) are still to be called by
the customer list when it is filtered by the member who added the tags. See the issue report."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.routing import make_router
from huike.member.models import Member
from huike.permission.catalog import MODULES
from huike.permission.deps import MaterialsManage
from huike.privacy.audit.models import AuditEvent
from huike.tenant.models import Tenant
from tests.permission.conftest import assign, custom_role, login, member
from tests.support import add_probe_router

marketing_probe = make_router(prefix="/api/v1/_probe_marketing", tag="probe")


@marketing_probe.get("/materials")
async def materials(ctx: MaterialsManage) -> dict[str, str]:
    """Stands in for the 营销 endpoints (none is built yet); it needs materials.manage like they will."""
    return {"tenant": str(ctx.tenant_id)}


def test_r_adm_1_rbac_has_the_policy_modules_and_app_permissions() -> None:
    labels = {module.zh for module in MODULES}
    assert {"拓客引流", "消息触达", "营销", "客户社群", "数据"} <= labels
    for module in MODULES:
        assert module.permissions, module.code  # each with sub-permissions


async def test_r_adm_1_an_admin_of_t_reading_a_member_of_u_is_404(
    logged_in: httpx.AsyncClient, session: AsyncSession, other_tenant: Tenant
) -> None:
    foreign, _ = await member(session, other_tenant.id)
    await session.commit()
    read = await logged_in.get(f"/api/v1/members/{foreign}")
    missing = await logged_in.get(f"/api/v1/members/{uuid.uuid4()}")
    assert read.status_code == 404
    assert read.json() == missing.json()
    role = await logged_in.put(f"/api/v1/members/{foreign}/role", json={"role": "member"})
    assert role.status_code == 404
    groups = await logged_in.get("/api/v1/group-chats", params={"owner_id": str(foreign)})
    assert groups.status_code in (200, 404, 422)
    if groups.status_code == 200:
        assert groups.json()["items"] == []


async def test_r_adm_1_a_non_admin_reading_another_members_groups_is_403(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    other, _ = await member(session, tenant_id)
    _, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    own = (await session.execute(select(Member.id).where(Member.user_id == user_id))).scalar_one()
    async with await login(app, session, tenant_id, user_id) as client:
        response = await client.get("/api/v1/group-chats", params={"owner_id": str(other)})
        mine = await client.get("/api/v1/group-chats", params={"owner_id": str(own)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission.member_outside_scope"
    assert mine.status_code == 200  # their own groups, as before
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0  # own view: no row


async def test_r_adm_1_one_admin_view_writes_one_f4_row(
    logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    target, _ = await member(session, tenant.id)
    await session.commit()
    before = await session.scalar(select(func.count()).select_from(AuditEvent))
    response = await logged_in.get("/api/v1/group-chats", params={"owner_id": str(target)})
    assert response.status_code == 200
    rows = (
        (
            await session.execute(
                select(AuditEvent).where(AuditEvent.object_id == str(target)).order_by(AuditEvent.seq)
            )
        )
        .scalars()
        .all()
    )
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == (before or 0) + 1
    assert len(rows) == 1
    assert (rows[0].action, rows[0].details) == ("member.groups_viewed", {"members": [str(target)]})
    # the next page of the same view is not another view
    await logged_in.get("/api/v1/group-chats", params={"owner_id": str(target), "cursor": "x"})
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == (before or 0) + 1


async def test_r_adm_1_after_marketing_is_removed_the_marketing_endpoints_are_403(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    add_probe_router(app, marketing_probe)
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    marketer = await custom_role(session, tenant_id, ["materials.manage", "customers.view"], name="营销专员")
    await assign(session, tenant_id, member_id, marketer)
    async with await login(app, session, tenant_id, user_id) as client:
        assert (await client.get("/api/v1/_probe_marketing/materials")).status_code == 200
        # the admin takes 营销 away from the role
        changed = await logged_in.patch(f"/api/v1/roles/{marketer}", json={"permissions": ["customers.view"]})
        assert changed.status_code == 200, changed.text
        refused = await client.get("/api/v1/_probe_marketing/materials")
        assert refused.status_code == 403
        assert refused.json()["error"]["details"] == {"permission": "materials.manage"}
        # and the edit is audited
        edits = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.object_id == str(marketer))
        )
        assert edits
