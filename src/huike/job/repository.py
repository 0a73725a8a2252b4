from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update

from huike.core.db import utcnow
from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus, Outbox, OutboxStatus


class JobRepository(TenantRepository[Job]):
    model = Job

    async def list_page(
        self,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        status: str | None,
        created_by: uuid.UUID | None = None,
    ) -> Sequence[Job]:
        statement = self.select().order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        if created_by is not None:
            statement = statement.where(Job.created_by == created_by)
        if status is not None:
            statement = statement.where(Job.status == status)
        if after is not None:
            created_at, job_id = after
            statement = statement.where(
                or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < job_id))
            )
        return (await self.session.execute(statement)).scalars().all()

    async def unfinished_of(self, user_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """The ids of the queued and running jobs these users started."""
        if not user_ids:
            return []
        statement = (
            select(Job.id)
            .where(
                Job.tenant_id == self.ctx.tenant_id,
                Job.created_by.in_(list(user_ids)),
                Job.status.in_([JobStatus.queued, JobStatus.running]),
            )
            .order_by(Job.created_at, Job.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def close_pending_deliveries(self, job: Job) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.job_id == job.id, Outbox.status == OutboxStatus.pending)
            .values(status=OutboxStatus.failed, finished_at=utcnow(), last_error="superseded by a retry")
        )

    async def last_payload(self, job: Job) -> dict[str, Any]:
        payload = (
            await self.session.execute(
                select(Outbox.payload)
                .where(Outbox.job_id == job.id)
                .order_by(Outbox.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return dict(payload or {})
