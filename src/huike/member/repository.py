"""Queries of the member domain; every statement starts from the tenant's scoped select."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.member.models import (
    Department,
    Member,
    MemberDepartment,
    MemberInvitation,
    MemberSyncState,
)

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
