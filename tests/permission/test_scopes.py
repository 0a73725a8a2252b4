"""Data scopes against the department tree: visible_member_ids for self, department and below, company;
and the scope rules (admins see every member's groups and tags; the tag-group rule)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.permission import service
from huike.tag.models import TagGroup
from huike.tenant.models import Tenant
from tests.permission.conftest import assign, custom_role, department, member


async def org(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """root 1 → sales 2 → east 3; root 1 → support 4 (and a deleted 5 under 4)."""
    for wecom_id, parent in ((1, 0), (2, 1), (3, 2), (4, 1)):
        await department(session, tenant_id, wecom_id, parent)
    ids = {}
    for name, departments in (
        ("boss", [1]),
        ("sales", [2]),
        ("east", [3]),
        ("support", [4]),
        ("both", [3, 4]),
    ):
        ids[name], _ = await member(session, tenant_id, departments=departments)
    return ids


def ctx(tenant_id: uuid.UUID, scope: str, member_id: uuid.UUID | None) -> TenantContext:
    return TenantContext(
        tenant_id, uuid.uuid4(), permissions=frozenset(), data_scope=scope, member_id=member_id
    )


async def test_each_scope_follows_the_department_tree(session: AsyncSession, tenant: Tenant) -> None:
    tenant_id = tenant.id
    m = await org(session, tenant_id)
    everyone = set(m.values())
    assert await service.visible_member_ids(session, ctx(tenant_id, "company", m["sales"])) is None
    assert await service.visible_member_ids(session, ctx(tenant_id, "self", m["sales"])) == {m["sales"]}
    department = "department"
    assert await service.visible_member_ids(session, ctx(tenant_id, department, m["sales"])) == {
        m["sales"],
        m["east"],
        m["both"],
    }
    assert await service.visible_member_ids(session, ctx(tenant_id, department, m["east"])) == {
        m["east"],
        m["both"],
    }
    assert await service.visible_member_ids(session, ctx(tenant_id, department, m["support"])) == {
        m["support"],
        m["both"],
    }
    assert await service.visible_member_ids(session, ctx(tenant_id, department, m["both"])) == {
        m["east"],
        m["support"],
        m["both"],
    }
    assert await service.visible_member_ids(session, ctx(tenant_id, department, m["boss"])) == everyone
    # not a member of the corp: nothing under a narrow scope; jobs see everything
    assert await service.visible_member_ids(session, ctx(tenant_id, department, None)) == set()
    assert await service.visible_member_ids(session, TenantContext.system(tenant_id)) is None


async def test_scope_comes_from_the_role_through_resolution(
    session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant_id = tenant.id
    m = await org(session, tenant_id)
    lead, lead_user = await member(session, tenant_id, departments=[2], account_role="member")
    assert lead_user is not None
    await assign(
        session, tenant_id, lead, await custom_role(session, tenant_id, ["groups.view"], "department")
    )
    resolved = await service.resolve(session, TenantContext(tenant_id, lead_user))
    assert (resolved.data_scope, resolved.member_id, resolved.permissions) == (
        "department",
        lead,
        {"groups.view"},
    )
    assert await service.visible_member_ids(session, TenantContext(tenant_id, lead_user)) == {
        lead,
        m["sales"],
        m["east"],
        m["both"],
    }
    # another tenant's departments never count
    await department(session, other_tenant.id, 2, 0)
    foreign, _ = await member(session, other_tenant.id, departments=[2])
    assert foreign not in (await service.visible_member_ids(session, resolved) or set())
    # the built-in member role: self; an admin: the whole company (every member's groups and tags)
    plain, plain_user = await member(session, tenant_id, departments=[2], account_role="member")
    _admin, admin_user = await member(session, tenant_id, departments=[3], account_role="admin")
    assert plain_user is not None
    assert admin_user is not None
    assert await service.visible_member_ids(session, TenantContext(tenant_id, plain_user)) == {plain}
    assert await service.visible_member_ids(session, TenantContext(tenant_id, admin_user)) is None


async def test_the_tag_group_rule(session: AsyncSession, tenant: Tenant) -> None:
    tenant_id = tenant.id
    await org(session, tenant_id)
    tagger, tagger_user = await member(session, tenant_id, departments=[2], account_role="member")
    peer, peer_user = await member(session, tenant_id, departments=[3], account_role="member")
    _, admin_user = await member(session, tenant_id, account_role="admin")
    assert tagger_user
    assert peer_user
    assert admin_user
    await assign(session, tenant_id, tagger, await custom_role(session, tenant_id, ["tags.manage"], "self"))
    own = TagGroup(tenant_id=tenant_id, name="自建", created_by=tagger_user)
    peers = TagGroup(tenant_id=tenant_id, name="同事", created_by=peer_user)
    synced = TagGroup(tenant_id=tenant_id, name="企微", created_by=None)
    as_tagger, as_admin = TenantContext(tenant_id, tagger_user), TenantContext(tenant_id, admin_user)
    assert await service.may_manage_tag_group(session, as_tagger, None)
    assert await service.may_manage_tag_group(session, as_tagger, own)
    assert not await service.may_manage_tag_group(session, as_tagger, peers)
    assert not await service.may_manage_tag_group(session, as_tagger, synced)
    for group in (own, peers, synced):
        assert await service.may_manage_tag_group(session, as_admin, group)
    # a department scope reaches the groups of members below
    await assign(
        session, tenant_id, peer, await custom_role(session, tenant_id, ["tags.manage"], "department")
    )
    wider = await custom_role(session, tenant_id, ["tags.manage"], "department")
    from huike.permission.models import RoleAssignment

    row = await session.get(RoleAssignment, (await _assignment_id(session, tagger)))
    assert row is not None
    row.role_id = wider
    await session.flush()
    assert await service.may_manage_tag_group(session, TenantContext(tenant_id, tagger_user), peers)
    # no tags.manage: nothing
    _, plain_user = await member(session, tenant_id, account_role="member")
    assert plain_user is not None
    assert not await service.may_manage_tag_group(session, TenantContext(tenant_id, plain_user), None)


async def _assignment_id(session: AsyncSession, member_id: uuid.UUID) -> uuid.UUID:
    from sqlalchemy import select

    from huike.permission.models import RoleAssignment

    found = await session.scalar(select(RoleAssignment.id).where(RoleAssignment.member_id == member_id))
    assert found is not None
    return found
