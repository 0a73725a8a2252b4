"""R-ADM-1 (§一（二）9.1 「查看成员的客户群列表、成员给客户添加的标签」「编辑成员创建的所有任务、规则和标签组
数据」「功能权限…应用权限」): RBAC with the modules 拓客引流, 消息触达, 营销, 客户社群 and 数据 and app
permissions; admins view members' group lists and tags and edit their work, only in their own tenant;
each view and each edit writes F4.

Acceptance: an admin of T reading a member of U → 404; a non-admin reading another member's groups →
403; one admin view → one F4 row; after 营销 is removed, that member's marketing endpoints return 403.

The two views of another member's data: their customer-group list (``GET /api/v1/group-chats?
owner_id=``, or ``owner_userid=`` as the console's owner filter asks) and the tags they put on their
customers (``GET /api/v1/members/{id}/customer-tags``), both through
``permission.service.require_members_visible`` and ``audit_member_view``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.routing import make_router
from huike.external_contact.models import ContactTag, ExternalContact, FollowRelation
from huike.group_chat.models import GroupChat
from huike.member.models import Member
from huike.permission.catalog import MODULES
from huike.permission.deps import MaterialsManage
from huike.privacy.audit.models import AuditEvent
from huike.tag.models import Tag, TagGroup
from huike.tenant.models import Tenant
from tests.conftest import client_with_role
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


async def own_groups(session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, n: int) -> str:
    """``n`` customer groups the member owns; their WeCom UserID."""
    userid = str(await session.scalar(select(Member.wecom_userid).where(Member.id == member_id)))
    for i in range(n):
        session.add(
            GroupChat(
                tenant_id=tenant_id,
                chat_id=f"wr{uuid.uuid4().hex}",
                name=f"客户群{i}",
                owner_userid=userid,
                wecom_created_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=i),
                member_count=i + 1,
            )
        )
    await session.flush()
    return userid


async def test_r_adm_1_the_consoles_owner_filter_writes_one_f4_row_per_view(
    app: FastAPI, session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The console's owner filter asks by UserID (``owner_userid``): one row for the first page of
    another member's groups, none for the next pages, none for one's own groups."""
    tenant_id, foreign_tenant = tenant.id, other_tenant.id
    admin_member, admin_user = await member(session, tenant_id, account_role="admin")
    assert admin_user is not None
    target, _ = await member(session, tenant_id)
    theirs = await own_groups(session, tenant_id, target, 3)
    mine = await own_groups(session, tenant_id, admin_member, 1)
    foreign, _ = await member(session, foreign_tenant)
    foreign_userid = await own_groups(session, foreign_tenant, foreign, 1)

    async with await login(app, session, tenant_id, admin_user) as client:

        async def groups(**params: Any) -> dict[str, Any]:
            response = await client.get("/api/v1/group-chats", params=params)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        first = await groups(owner_userid=theirs, limit=2)
        assert first["total"] == 3
        assert {g["owner"]["member_id"] for g in first["items"]} == {str(target)}
        rows = await audit_rows(session, tenant_id)
        assert [(r.action, r.object_type, r.object_id, r.details) for r in rows] == [
            ("member.groups_viewed", "member", str(target), {"members": [str(target)]})
        ]
        # the next page is the same view
        following = await groups(owner_userid=theirs, limit=2, cursor=first["next_cursor"])
        assert len(following["items"]) == 1
        assert len(await audit_rows(session, tenant_id)) == 1
        # one's own groups: no row; one's own and another's: one row naming the other only
        assert (await groups(owner_userid=mine))["total"] == 1
        assert len(await audit_rows(session, tenant_id)) == 1
        both = await groups(owner_userid=[mine, theirs])
        assert both["total"] == 4
        rows = await audit_rows(session, tenant_id)
        assert len(rows) == 2
        assert rows[-1].details == {"members": [str(target)]}
        # by member id and by UserID at once: one view, one row
        await groups(owner_userid=theirs, owner_id=str(target))
        assert len(await audit_rows(session, tenant_id)) == 3
        # another tenant's member, or an owner who is nobody in the directory: nothing to show or audit
        assert (await groups(owner_userid=foreign_userid))["items"] == []
        assert (await groups(owner_userid="no-such-member"))["items"] == []
    assert len(await audit_rows(session, tenant_id)) == 3
    assert await audit_rows(session, foreign_tenant) == []


async def test_r_adm_1_the_owner_filter_by_userid_outside_ones_scope_is_403(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> None:
    """Like ``owner_id``: under a narrower scope, another member's UserID (or one that is no member) is
    refused, not answered with an empty page; one's own groups are listed, unaudited."""
    tenant_id = tenant.id
    other, _ = await member(session, tenant_id)
    theirs = await own_groups(session, tenant_id, other, 2)
    own, user_id = await member(session, tenant_id, account_role="member")  # scope: self
    assert user_id is not None
    mine = await own_groups(session, tenant_id, own, 1)
    async with await login(app, session, tenant_id, user_id) as client:
        refused = await client.get("/api/v1/group-chats", params={"owner_userid": theirs})
        mixed = await client.get("/api/v1/group-chats", params={"owner_userid": [mine, theirs]})
        nobody = await client.get("/api/v1/group-chats", params={"owner_userid": "no-such-member"})
        listed = await client.get("/api/v1/group-chats", params={"owner_userid": mine})
    for response in (refused, mixed, nobody):
        assert (response.status_code, response.json()["error"]["code"]) == (
            403,
            "permission.member_outside_scope",
        )
    assert listed.status_code == 200
    assert [g["owner"]["userid"] for g in listed.json()["items"]] == [mine]
    assert await audit_rows(session, tenant_id) == []


async def test_r_adm_1_after_marketing_is_removed_the_marketing_endpoints_are_403(
    app: FastAPI, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    add_probe_router(app, marketing_probe)
    tenant_id = tenant.id
    member_id, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    marketer = await custom_role(
        session, tenant_id, ["app.console", "materials.manage", "customers.view"], name="营销专员"
    )
    await assign(session, tenant_id, member_id, marketer)
    async with await login(app, session, tenant_id, user_id) as client:
        assert (await client.get("/api/v1/_probe_marketing/materials")).status_code == 200
        # the admin takes 营销 away from the role
        changed = await logged_in.patch(
            f"/api/v1/roles/{marketer}", json={"permissions": ["app.console", "customers.view"]}
        )
        assert changed.status_code == 200, changed.text
        refused = await client.get("/api/v1/_probe_marketing/materials")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission.denied")
        assert refused.json()["error"]["details"] == {"permission": "materials.manage"}
        assert "materials.manage" in refused.json()["error"]["message"]
        # given back, the same session gets in at its next request
        restored = await logged_in.patch(
            f"/api/v1/roles/{marketer}",
            json={"permissions": ["app.console", "materials.manage", "customers.view"]},
        )
        assert restored.status_code == 200, restored.text
        assert (await client.get("/api/v1/_probe_marketing/materials")).status_code == 200
        # and the edit is audited
        edits = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.object_id == str(marketer))
        )
        assert edits


# --- the tags a member put on their customers ------------------------------------------------------


def _added(model: type[Any], when: datetime) -> dict[str, datetime]:
    """The customer's add time, which newer versions of the customer tables repeat on these rows."""
    return {"contact_added_at": when} if hasattr(model, "contact_added_at") else {}


async def tag_customers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    tags: list[uuid.UUID],
    status: str = "active",
) -> None:
    """A new customer the member follows (relation ``status``) and tagged with ``tags``."""
    userid = await session.scalar(select(Member.wecom_userid).where(Member.id == member_id))
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=len(tags))
    contact = ExternalContact(tenant_id=tenant_id, external_userid=f"wm{uuid.uuid4().hex}", added_at=when)
    session.add(contact)
    await session.flush()
    relation = FollowRelation(
        tenant_id=tenant_id,
        contact_id=contact.id,
        member_userid=str(userid),
        member_id=member_id,
        added_at=when,
        status=status,
        **_added(FollowRelation, when),
    )
    session.add(relation)
    await session.flush()
    for tag_id in tags:
        session.add(
            ContactTag(
                tenant_id=tenant_id,
                follow_id=relation.id,
                contact_id=contact.id,
                tag_id=tag_id,
                **_added(ContactTag, when),
            )
        )
    await session.flush()


async def tag_library(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """A group 客户等级 with 重要 (first in WeCom's order), 普通 and a deleted 过期."""
    group = TagGroup(tenant_id=tenant_id, wecom_id=f"et{uuid.uuid4().hex}", name="客户等级", order=5)
    session.add(group)
    await session.flush()
    found: dict[str, uuid.UUID] = {}
    for name, order, deleted in (("普通", 1, False), ("重要", 9, False), ("过期", 3, True)):
        tag = Tag(
            tenant_id=tenant_id,
            group_id=group.id,
            wecom_id=f"et{uuid.uuid4().hex}",
            name=name,
            order=order,
            deleted=deleted,
        )
        session.add(tag)
        await session.flush()
        found[name] = tag.id
    return found


async def tagging_member(
    session: AsyncSession, tenant_id: uuid.UUID
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A member who tagged three customers (and lost a fourth), beside a colleague who tagged one."""
    tags = await tag_library(session, tenant_id)
    target, _ = await member(session, tenant_id)
    colleague, _ = await member(session, tenant_id)
    await tag_customers(session, tenant_id, target, [tags["重要"], tags["普通"]])
    await tag_customers(session, tenant_id, target, [tags["重要"], tags["过期"]])
    await tag_customers(session, tenant_id, target, [])
    await tag_customers(session, tenant_id, target, [tags["普通"]], status="member_deleted_customer")
    await tag_customers(session, tenant_id, colleague, [tags["普通"]])
    await session.commit()
    return target, tags


async def audit_rows(session: AsyncSession, tenant_id: uuid.UUID) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq)
    return list((await session.execute(statement)).scalars())


async def test_r_adm_1_one_admin_view_of_a_members_tags_writes_one_f4_row(
    logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    target, tags = await tagging_member(session, tenant_id)
    before = len(await audit_rows(session, tenant_id))

    response = await logged_in.get(f"/api/v1/members/{target}/customer-tags")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["member_id"] == str(target)
    # the tags the member put on their live customers, in WeCom's order, with how many carry each;
    # not the colleague's, not those of a customer the member deleted, not a deleted tag
    assert [(i["name"], i["group_name"], i["customers"]) for i in body["items"]] == [
        ("重要", "客户等级", 2),
        ("普通", "客户等级", 1),
    ]
    assert [i["id"] for i in body["items"]] == [str(tags["重要"]), str(tags["普通"])]

    rows = (await audit_rows(session, tenant_id))[before:]
    assert len(rows) == 1
    row = rows[0]
    assert (row.action, row.object_type, row.object_id) == ("member.tags_viewed", "member", str(target))
    assert row.details == {"members": [str(target)]}  # the member's id only: no tag, no customer
    assert row.actor_id is not None


async def test_r_adm_1_a_non_admin_reading_another_members_tags_is_403(
    app: FastAPI, session: AsyncSession, tenant: Tenant, nobody: tuple[httpx.AsyncClient, uuid.UUID]
) -> None:
    tenant_id = tenant.id
    target, _ = await tagging_member(session, tenant_id)
    _, user_id = await member(session, tenant_id, account_role="member")  # customers.view, scope self
    assert user_id is not None
    own = await session.scalar(select(Member.id).where(Member.user_id == user_id))
    async with await login(app, session, tenant_id, user_id) as client:
        other = await client.get(f"/api/v1/members/{target}/customer-tags")
        mine = await client.get(f"/api/v1/members/{own}/customer-tags")
    assert (other.status_code, other.json()["error"]["code"]) == (403, "permission.member_outside_scope")
    assert (mine.status_code, mine.json()["items"]) == (200, [])  # their own tags, unaudited
    # without customers.view at all
    without, _ = nobody
    refused = await without.get(f"/api/v1/members/{target}/customer-tags")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission.denied")
    assert await audit_rows(session, tenant_id) == []


async def test_r_adm_1_an_admin_reading_the_tags_of_another_tenants_member_is_404(
    app: FastAPI, session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours, theirs = tenant.id, other_tenant.id  # a refused request expires loaded objects
    foreign, _ = await tagging_member(session, theirs)
    async with await client_with_role(app, session, ours, "admin") as admin:
        read = await admin.get(f"/api/v1/members/{foreign}/customer-tags")
        missing = await admin.get(f"/api/v1/members/{uuid.uuid4()}/customer-tags")
    assert read.status_code == missing.status_code == 404
    assert read.json() == missing.json()
    assert await audit_rows(session, ours) == []
    assert await audit_rows(session, theirs) == []
