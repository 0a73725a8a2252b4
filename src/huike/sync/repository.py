from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.tenant.models import Tenant

UNFINISHED = (JobStatus.queued, JobStatus.running)


class SyncJobRepository(TenantRepository[Job]):
    """The tenant's sync jobs, as the domains' "one sync at a time" rule sees them."""

    model = Job

    async def unfinished(self, kind: str) -> Job | None:
        """The latest queued or running job of ``kind`` (what makes a domain refuse a second run)."""
        statement = (
            self.select()
            .where(Job.kind == kind, Job.status.in_(UNFINISHED))
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def succeeded_since(self, kind: str, since: datetime) -> Job | None:
        statement = (
            self.select()
            .where(Job.kind == kind, Job.status == JobStatus.succeeded, Job.finished_at >= since)
            .order_by(Job.finished_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def still_unfinished(self, ids: Collection[uuid.UUID]) -> list[uuid.UUID]:
        if not ids:
            return []
        statement = self.select().where(Job.id.in_(list(ids)), Job.status.in_(UNFINISHED))
        return [job.id for job in (await self.session.execute(statement)).scalars()]


async def tenants_named(session: AsyncSession, reference: str) -> list[Tenant]:
    """Unscoped on purpose (an operator's command names the tenant): by id, else by exact company name."""
    try:
        tenant_id = uuid.UUID(reference)
    except ValueError:
        statement = select(Tenant).where(Tenant.name == reference.strip()).order_by(Tenant.created_at)
        return list((await session.execute(statement)).scalars())
    found = await session.get(Tenant, tenant_id)
    return [found] if found is not None else []
