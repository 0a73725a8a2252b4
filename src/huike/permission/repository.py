"""SQL of the permission domain. Besides its own tables it reads, column by column and tenant-scoped,
the member domain's members, department links and departments (the org chart that data scopes follow):
read-only lookups the member service does not offer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.repository import TenantRepository
from huike.member.models import Department, Member, MemberDepartment, access_allowed
from huike.permission.models import Role, RoleAssignment


@dataclass(frozen=True, slots=True)
class MemberGrant:
    """A member's row as the permission check needs it: the member, and their assignment if any."""

    member_id: uuid.UUID
    user_id: uuid.UUID | None
    builtin: str | None
    role_id: uuid.UUID | None
    role_permissions: list[str] | None
    role_scope: str | None
    role_name: str | None = None
    can_access: bool = True
    """The member may use Huike (:func:`huike.member.models.access_allowed`): in the app's visibility
    scope, not gone, not disabled or resigned."""


def _grant(row: Any) -> MemberGrant | None:
    if row is None:
        return None
    member_id, user_id, builtin, role_id, permissions, scope, name, in_scope, deleted_at, status = row
    return MemberGrant(
        member_id,
        user_id,
        builtin,
        role_id,
        permissions,
        scope,
        name,
        access_allowed(bool(in_scope), deleted_at, str(status)),
    )


class RoleRepository(TenantRepository[Role]):
    model = Role

    async def all(self) -> Sequence[Role]:
        statement = self.select().order_by(Role.created_at, Role.id)
        return (await self.session.execute(statement)).scalars().all()

    async def by_name(self, name: str) -> Role | None:
        statement = self.select().where(Role.name == name)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def holders(self) -> dict[uuid.UUID, int]:
        """How many members hold each custom role."""
        statement = (
            select(RoleAssignment.role_id, func.count())
            .where(RoleAssignment.tenant_id == self.ctx.tenant_id, RoleAssignment.role_id.is_not(None))
            .group_by(RoleAssignment.role_id)
        )
        return {
            role_id: int(count)
            for role_id, count in (await self.session.execute(statement)).all()
            if role_id is not None
        }


class AssignmentRepository(TenantRepository[RoleAssignment]):
    model = RoleAssignment

    async def of_member(self, member_id: uuid.UUID) -> RoleAssignment | None:
        statement = self.select().where(RoleAssignment.member_id == member_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def count_holding(self, role_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            RoleAssignment.tenant_id == self.ctx.tenant_id, RoleAssignment.role_id == role_id
        )
        return int((await self.session.execute(statement)).scalar_one())


def _grant_select(tenant_id: uuid.UUID) -> Any:  # a Select of the MemberGrant columns
    return (
        select(
            Member.id,
            Member.user_id,
            RoleAssignment.builtin,
            RoleAssignment.role_id,
            Role.permissions,
            Role.data_scope,
            Role.name,
            Member.in_scope,
            Member.deleted_at,
            Member.status,
        )
        .outerjoin(
            RoleAssignment,
            (RoleAssignment.member_id == Member.id) & (RoleAssignment.tenant_id == Member.tenant_id),
        )
        .outerjoin(Role, (Role.id == RoleAssignment.role_id) & (Role.tenant_id == Member.tenant_id))
        .where(Member.tenant_id == tenant_id)
    )


class OrgRepository:
    """Read-only, tenant-scoped lookups in the org chart (members, department links, departments)."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def grant_of_user(self, user_id: uuid.UUID) -> MemberGrant | None:
        """The user's member row with their assignment (and whether the member may use Huike): what
        every request resolves, in one query."""
        statement = _grant_select(self.tenant_id).where(Member.user_id == user_id).limit(1)
        row = (await self.session.execute(statement)).first()
        return _grant(row)

    async def grant_of_member(self, member_id: uuid.UUID) -> MemberGrant | None:
        statement = _grant_select(self.tenant_id).where(Member.id == member_id)
        row = (await self.session.execute(statement)).first()
        return _grant(row)

    async def grants_of_members(self, member_ids: Iterable[uuid.UUID]) -> list[MemberGrant]:
        wanted = list(set(member_ids))
        if not wanted:
            return []
        statement = _grant_select(self.tenant_id).where(Member.id.in_(wanted))
        return [grant for row in (await self.session.execute(statement)).all() if (grant := _grant(row))]

    async def departments_of(self, member_id: uuid.UUID) -> set[int]:
        statement = select(MemberDepartment.department_wecom_id).where(
            MemberDepartment.tenant_id == self.tenant_id, MemberDepartment.member_id == member_id
        )
        return set((await self.session.execute(statement)).scalars())

    async def department_edges(self) -> list[tuple[int, int]]:
        """(department, parent) of every live department, in WeCom ids."""
        statement = select(Department.wecom_id, Department.parent_wecom_id).where(
            Department.tenant_id == self.tenant_id, Department.deleted_at.is_(None)
        )
        return [(int(d), int(p)) for d, p in (await self.session.execute(statement)).all()]

    async def members_in(self, departments: Iterable[int]) -> set[uuid.UUID]:
        wanted = sorted(set(departments))
        if not wanted:
            return set()
        statement = select(MemberDepartment.member_id).where(
            MemberDepartment.tenant_id == self.tenant_id, MemberDepartment.department_wecom_id.in_(wanted)
        )
        return set((await self.session.execute(statement)).scalars())

    async def user_ids_of(self, member_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(set(member_ids))
        if not wanted:
            return set()
        statement = select(Member.user_id).where(
            Member.tenant_id == self.tenant_id, Member.id.in_(wanted), Member.user_id.is_not(None)
        )
        return {user_id for user_id in (await self.session.execute(statement)).scalars() if user_id}
