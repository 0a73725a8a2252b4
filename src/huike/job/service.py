"""The job centre: what long jobs a tenant has, how far they got, and a retry for failed ones."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.errors import Conflict
from huike.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from huike.core.schemas import CursorPage
from huike.core.tasks import Job, JobStatus, enqueue
from huike.core.tenancy import TenantContext
from huike.job.repository import JobRepository
from huike.job.schemas import JobRead


class JobNotRetryable(Conflict):
    code = "job.not_retryable"


async def list_jobs(
    session: AsyncSession, ctx: TenantContext, *, limit: int, cursor: str | None, status: JobStatus | None
) -> CursorPage[JobRead]:
    after = None
    if cursor:
        created_at, job_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(created_at), uuid.UUID(job_id))
        except ValueError as exc:
            raise InvalidCursor() from exc
    rows = await JobRepository(session, ctx).list_page(limit=limit + 1, after=after, status=status)
    items = [JobRead.model_validate(row) for row in rows[:limit]]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at.isoformat(), rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return CursorPage[JobRead](items=items, next_cursor=next_cursor)


async def access_job(session: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> Job:
    return await JobRepository(session, ctx).get_or_404(job_id)


async def retry_job(session: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> Job:
    """Run a failed job again from a fresh delivery, keeping its history of attempts."""
    job = await access_job(session, ctx, job_id)
    if job.status != JobStatus.failed:
        raise JobNotRetryable(status=job.status)
    repository = JobRepository(session, ctx)
    await repository.close_pending_deliveries(job)
    payload = await repository.last_payload(job)
    job.status, job.error, job.finished_at = JobStatus.queued, None, None
    await enqueue(session, job.kind, job=job, **payload)
    return job
