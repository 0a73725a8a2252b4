"""Walks every registered route that takes an id: another tenant's id must answer exactly like an id
that does not exist (404, same body). A new route with an id parameter fails this test until its
resource has a factory in OWNED_BY_TENANT_A, so no route escapes the check."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job
from huike.core.tenancy import TenantContext
from huike.privacy.audit.service import record
from huike.security.sessions import start_session
from huike.tenant.models import Tenant

Factory = Callable[[AsyncSession, Tenant], Awaitable[uuid.UUID]]


async def job_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    job = Job(tenant_id=tenant.id, kind="test.isolation", status="failed", error="boom")
    session.add(job)
    await session.flush()
    return job.id


async def audit_event_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    event = await record(
        session, TenantContext(tenant.id), "role.changed", object_type="user", object_id=uuid.uuid4()
    )
    return event.id


async def auth_session_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    row, _ = await start_session(session, tenant.id, uuid.uuid4())
    return row.id


async def member_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.member.models import Member

    member = Member(tenant_id=tenant.id, wecom_userid=f"iso-{uuid.uuid4().hex[:8]}", name="隔离测试")
    session.add(member)
    await session.flush()
    return member.id


async def tag_group_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.tag.models import TagGroup

    group = TagGroup(tenant_id=tenant.id, wecom_id=f"et{uuid.uuid4().hex}", name="隔离组")
    session.add(group)
    await session.flush()
    return group.id


async def tag_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.tag.models import Tag

    group_id = await tag_group_of(session, tenant)
    tag = Tag(tenant_id=tenant.id, group_id=group_id, wecom_id=f"et{uuid.uuid4().hex}", name="隔离")
    session.add(tag)
    await session.flush()
    return tag.id


# path parameter name -> a factory that makes such a resource for a tenant
OWNED_BY_TENANT_A: dict[str, Factory] = {
    "job_id": job_of,
    "audit_event_id": audit_event_of,
    "session_id": auth_session_of,
    "member_id": member_of,
    "tag_group_id": tag_group_of,
    "tag_id": tag_of,
}


async def group_chat_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.group_chat.models import GroupChat

    group = GroupChat(
        tenant_id=tenant.id,
        chat_id=f"wr{uuid.uuid4().hex}",
        name="隔离群",
        owner_userid="iso-owner",
        wecom_created_at=datetime.now(UTC),
    )
    session.add(group)
    await session.flush()
    return group.id


async def group_chat_tag_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.group_chat.models import GroupChatTag

    tag = GroupChatTag(tenant_id=tenant.id, name=f"隔离群标签 {uuid.uuid4().hex[:6]}")
    session.add(tag)
    await session.flush()
    return tag.id


OWNED_BY_TENANT_A["group_chat_id"] = group_chat_of
OWNED_BY_TENANT_A["group_chat_tag_id"] = group_chat_tag_of


async def external_contact_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.external_contact.models import ExternalContact

    contact = ExternalContact(
        tenant_id=tenant.id,
        external_userid=f"wm{uuid.uuid4().hex}",
        name="隔离客户",
        added_at=datetime.now(UTC),
    )
    session.add(contact)
    await session.flush()
    return contact.id


async def follow_relation_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.external_contact.models import ExternalContact, FollowRelation

    contact = await session.get(ExternalContact, await external_contact_of(session, tenant))
    assert contact is not None
    relation = FollowRelation(
        tenant_id=tenant.id,
        contact_id=contact.id,
        member_userid="iso-member",
        added_at=contact.added_at,
        contact_added_at=contact.added_at,
    )
    session.add(relation)
    await session.flush()
    return relation.id


async def alert_of(session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    from huike.account.models import User
    from huike.external_contact.models import Alert

    user = User(phone=f"+86139{uuid.uuid4().int % 10**8:08d}", status="active")
    session.add(user)
    await session.flush()
    follow_id = await follow_relation_of(session, tenant)
    from huike.external_contact.models import FollowRelation

    relation = await session.get(FollowRelation, follow_id)
    assert relation is not None
    alert = Alert(
        tenant_id=tenant.id,
        user_id=user.id,
        kind="customer_lost",
        reason="customer_deleted_member",
        contact_id=relation.contact_id,
        follow_id=follow_id,
    )
    session.add(alert)
    await session.flush()
    return alert.id


OWNED_BY_TENANT_A["external_contact_id"] = external_contact_of
OWNED_BY_TENANT_A["follow_relation_id"] = follow_relation_of
OWNED_BY_TENANT_A["alert_id"] = alert_of

PARAM = re.compile(r"{([a-z_]+)}")


def id_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """Every documented operation whose path carries an id, from the OpenAPI document."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        params = [p for p in PARAM.findall(path) if p.endswith("_id")]
        if params:
            found.extend((method.upper(), path, params) for method in sorted(operations))
    return found


async def test_r_sec_3_foreign_ids_are_404_like_missing(
    app: FastAPI,
    logged_in: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    routes = id_routes(app)
    assert routes, "no routes with ids found: the walk would prove nothing"
    missing = sorted({p for _, _, params in routes for p in params} - OWNED_BY_TENANT_A.keys())
    assert not missing, f"add factories for {missing} to OWNED_BY_TENANT_A"
    # resources of the *other* tenant; the client is logged in to `tenant`
    foreign = {name: await factory(session, other_tenant) for name, factory in OWNED_BY_TENANT_A.items()}
    await session.commit()
    for method, path, params in routes:
        foreign_path = path
        missing_path = path
        for name in params:
            foreign_path = foreign_path.replace("{" + name + "}", str(foreign[name]))
            missing_path = missing_path.replace("{" + name + "}", str(uuid.uuid4()))
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        foreign_response = await logged_in.request(method, foreign_path, json=body)
        missing_response = await logged_in.request(method, missing_path, json=body)
        assert foreign_response.status_code == 404, (method, path, foreign_response.text)
        assert foreign_response.json() == missing_response.json(), (method, path)


@pytest.mark.parametrize("path", ["/api/v1/jobs"])
async def test_lists_show_nothing_of_other_tenants(
    logged_in: httpx.AsyncClient, session: AsyncSession, other_tenant: Tenant, path: str
) -> None:
    await job_of(session, other_tenant)
    await session.commit()
    response = await logged_in.get(path)
    assert response.status_code == 200
    assert response.json()["items"] == []
