"""Queries of the member domain; every statement starts from the tenant's scoped select.

One read of other domains' tables, joined here (like the customer domain joins members): the corp
tags a member put on their customers (:func:`customer_tag_counts`, R-ADM-1). Nothing of those
domains is written from here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.core.tenancy import TenantContext
from huike.external_contact.models import LIVE_STATUSES, ContactTag, FollowRelation
from huike.member.models import (
    Department,
    Member,
    MemberDepartment,
    MemberInvitation,
    MemberSyncState,
)
from huike.tag.models import Tag, TagGroup

SYNC_TASK = "member.sync_from_wecom"


class DepartmentRepository(TenantRepository[Department]):
    model = Department

    async def by_wecom_id(self, wecom_id: int) -> Department | None:
        return (
            await self.session.execute(self.select().where(Department.wecom_id == wecom_id))
        ).scalar_one_or_none()

    async def all(self, *, include_deleted: bool = False) -> Sequence[Department]:
        statement = self.select().order_by(Department.wecom_id)
        if not include_deleted:
            statement = statement.where(Department.deleted_at.is_(None))
        return (await self.session.execute(statement)).scalars().all()

    async def not_seen(self, run_id: uuid.UUID) -> Sequence[Department]:
        statement = self.select().where(
            Department.deleted_at.is_(None),
            or_(Department.seen_run.is_(None), Department.seen_run != run_id),
        )
        return (await self.session.execute(statement)).scalars().all()


class MemberRepository(TenantRepository[Member]):
    model = Member

    async def by_userid(self, userid: str) -> Member | None:
        return (
            await self.session.execute(self.select().where(Member.wecom_userid == userid))
        ).scalar_one_or_none()

    async def by_userids(self, userids: Iterable[str]) -> dict[str, Member]:
        wanted = list(set(userids))
        found: dict[str, Member] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = (await self.session.execute(self.select().where(Member.wecom_userid.in_(chunk)))).scalars()
            found.update({row.wecom_userid: row for row in rows})
        return found

    async def by_user(self, user_id: uuid.UUID) -> Member | None:
        return (
            (await self.session.execute(self.select().where(Member.user_id == user_id).limit(1)))
            .scalars()
            .first()
        )

    async def needing_details(
        self, run_id: uuid.UUID, stale_before: datetime, *, limit: int
    ) -> Sequence[Member]:
        """Members the run listed whose details were never read, or were read before ``stale_before``."""
        statement = (
            self.select()
            .where(
                Member.seen_run == run_id,
                or_(Member.details_synced_at.is_(None), Member.details_synced_at < stale_before),
            )
            .order_by(Member.id)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def all(self) -> Sequence[Member]:
        return (await self.session.execute(self.select().order_by(Member.wecom_userid))).scalars().all()

    async def in_scope_not_seen(self, run_id: uuid.UUID, started_at: datetime) -> Sequence[Member]:
        """Members in scope the run did not list (and no callback confirmed since it started)."""
        statement = self.select().where(
            Member.in_scope.is_(True),
            or_(Member.seen_run.is_(None), Member.seen_run != run_id),
            or_(Member.last_synced_at.is_(None), Member.last_synced_at < started_at),
        )
        return (await self.session.execute(statement)).scalars().all()

    async def page(
        self,
        *,
        after: str | None,
        limit: int,
        status: str | None,
        in_scope: bool | None,
        department_wecom_id: int | None,
    ) -> Sequence[Member]:
        statement = self.select().order_by(Member.wecom_userid).limit(limit)
        if after is not None:
            statement = statement.where(Member.wecom_userid > after)
        if status is not None:
            statement = statement.where(Member.status == status)
        if in_scope is not None:
            statement = statement.where(Member.in_scope.is_(in_scope))
        if department_wecom_id is not None:
            statement = statement.where(
                Member.id.in_(
                    select(MemberDepartment.member_id).where(
                        MemberDepartment.tenant_id == self.ctx.tenant_id,
                        MemberDepartment.department_wecom_id == department_wecom_id,
                    )
                )
            )
        return (await self.session.execute(statement)).scalars().all()

    async def count(self) -> int:
        statement = select(func.count()).select_from(Member).where(Member.tenant_id == self.ctx.tenant_id)
        return int(await self.session.scalar(statement) or 0)

    async def exists(self, member_id: uuid.UUID) -> bool:
        """Is ``member_id`` a member of the tenant (a column query: no keys needed)?"""
        statement = select(Member.id).where(Member.tenant_id == self.ctx.tenant_id, Member.id == member_id)
        return (await self.session.execute(statement)).first() is not None


class MemberDepartmentRepository(TenantRepository[MemberDepartment]):
    model = MemberDepartment

    async def of_members(self, member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
        found: dict[uuid.UUID, list[int]] = {member_id: [] for member_id in member_ids}
        for start in range(0, len(member_ids), 500):
            chunk = list(member_ids[start : start + 500])
            rows = await self.session.execute(
                select(MemberDepartment.member_id, MemberDepartment.department_wecom_id)
                .where(
                    MemberDepartment.tenant_id == self.ctx.tenant_id, MemberDepartment.member_id.in_(chunk)
                )
                .order_by(MemberDepartment.department_wecom_id)
            )
            for member_id, department in rows:
                found.setdefault(member_id, []).append(int(department))
        return found

    async def replace(self, member: Member, departments: Sequence[int]) -> bool:
        """Make the member's links exactly ``departments``; True if anything changed."""
        current = (await self.of_members([member.id]))[member.id]
        wanted = list(dict.fromkeys(departments))
        if sorted(current) == sorted(wanted):
            return False
        gone = set(current) - set(wanted)
        if gone:
            await self.session.execute(
                delete(MemberDepartment).where(
                    MemberDepartment.tenant_id == self.ctx.tenant_id,
                    MemberDepartment.member_id == member.id,
                    MemberDepartment.department_wecom_id.in_(gone),
                )
            )
        for department in wanted:
            if department not in current:
                self.add(
                    MemberDepartment(
                        tenant_id=self.ctx.tenant_id, member_id=member.id, department_wecom_id=department
                    )
                )
        return True

    async def counts(self) -> dict[int, int]:
        rows = await self.session.execute(
            select(MemberDepartment.department_wecom_id, func.count())
            .join(Member, Member.id == MemberDepartment.member_id)
            .where(
                MemberDepartment.tenant_id == self.ctx.tenant_id,
                Member.in_scope.is_(True),
                Member.deleted_at.is_(None),
            )
            .group_by(MemberDepartment.department_wecom_id)
        )
        return {int(department): int(count) for department, count in rows}


class SyncStateRepository(TenantRepository[MemberSyncState]):
    model = MemberSyncState

    async def current(self) -> MemberSyncState | None:
        return (await self.session.execute(self.select())).scalar_one_or_none()

    async def running_job(self) -> Job | None:
        """The tenant's queued or running full sync, if any."""
        statement = (
            select(Job)
            .where(
                Job.tenant_id == self.ctx.tenant_id,
                Job.kind == SYNC_TASK,
                Job.status.in_([JobStatus.queued, JobStatus.running]),
            )
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()


class InvitationRepository(TenantRepository[MemberInvitation]):
    model = MemberInvitation

    async def of_member(self, member_id: uuid.UUID) -> MemberInvitation | None:
        return (
            await self.session.execute(self.select().where(MemberInvitation.member_id == member_id))
        ).scalar_one_or_none()


# --- reads of other domains' tables (see the module's docstring) -----------------------------------


@dataclass(frozen=True, slots=True)
class TagCount:
    tag_id: uuid.UUID
    name: str
    group_id: uuid.UUID
    group_name: str
    customers: int


async def customer_tag_counts(
    session: AsyncSession, ctx: TenantContext, member_id: uuid.UUID
) -> list[TagCount]:
    """The live corp tags on the member's live relations with customers (a member × customer
    relation carries the tags that member put on that customer), each with how many of the member's
    customers carry it; in WeCom's order of groups, then of tags (larger ``order`` first)."""
    statement = (
        select(Tag.id, Tag.name, TagGroup.id, TagGroup.name, func.count())
        .select_from(ContactTag)
        .join(
            FollowRelation,
            (FollowRelation.id == ContactTag.follow_id) & (FollowRelation.tenant_id == ContactTag.tenant_id),
        )
        .join(Tag, (Tag.id == ContactTag.tag_id) & (Tag.tenant_id == ContactTag.tenant_id))
        .join(TagGroup, (TagGroup.id == Tag.group_id) & (TagGroup.tenant_id == Tag.tenant_id))
        .where(
            ContactTag.tenant_id == ctx.tenant_id,
            FollowRelation.member_id == member_id,
            FollowRelation.status.in_([str(status) for status in LIVE_STATUSES]),
            Tag.deleted.is_(False),
            TagGroup.deleted.is_(False),
        )
        .group_by(
            Tag.id,
            Tag.name,
            Tag.order,
            Tag.wecom_created_at,
            Tag.created_at,
            TagGroup.id,
            TagGroup.name,
            TagGroup.order,
            TagGroup.wecom_created_at,
            TagGroup.created_at,
        )
        .order_by(
            TagGroup.order.desc(),
            TagGroup.wecom_created_at,
            TagGroup.created_at,
            TagGroup.id,
            Tag.order.desc(),
            Tag.wecom_created_at,
            Tag.created_at,
            Tag.id,
        )
    )
    return [
        TagCount(tag_id, str(name), group_id, str(group_name), int(customers))
        for tag_id, name, group_id, group_name, customers in (await session.execute(statement)).all()
    ]
