"""The job centre: what long jobs a tenant has, how far they got, and a retry for failed ones.

Everyone sees and retries the jobs they started (a sync, an export, a bulk change); ``jobs.manage``
shows everyone's. Without it another person's job answers 404, like a job of another tenant.

A member who loses access (R-WX-3) has their queued and running jobs stopped (:func:`stop_jobs_of`):
they end failed with :data:`STOPPED_ERROR`, and someone with ``jobs.manage`` may run them again."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.errors import Conflict, NotFound
from huike.core.pagination import decode_keyset, encode_cursor
from huike.core.schemas import CursorPage
from huike.core.tasks import Job, JobStatus, enqueue, stop_jobs
from huike.core.tenancy import TenantContext
from huike.job.repository import JobRepository
from huike.job.schemas import JobRead
from huike.permission.catalog import Permission


class JobNotRetryable(Conflict):
    code = "job.not_retryable"


STOPPED_ERROR = "JobStopped: the member who started this job lost access to Huike"
"""The ``error`` of a job stopped because its starter lost access (no personal data)."""


def _own_only(ctx: TenantContext) -> bool:
    """Whether ``ctx`` (a resolved request context) sees only the jobs it started."""
    return not ctx.can(Permission.jobs_manage)


async def list_jobs(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    limit: int,
    cursor: str | None,
    status: JobStatus | None,
    mine: bool = False,
) -> CursorPage[JobRead]:
    """The tenant's jobs, newest first: only the caller's own with ``mine`` or without ``jobs.manage``."""
    if (mine or _own_only(ctx)) and ctx.user_id is None:
        return CursorPage[JobRead](items=[], next_cursor=None)
    created_by = ctx.user_id if mine or _own_only(ctx) else None
    after = decode_keyset(cursor, datetime.fromisoformat)
    rows = await JobRepository(session, ctx).list_page(
        limit=limit + 1, after=after, status=status, created_by=created_by
    )
    items = [JobRead.model_validate(row) for row in rows[:limit]]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at.isoformat(), rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return CursorPage[JobRead](items=items, next_cursor=next_cursor)


async def access_job(session: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> Job:
    job = await JobRepository(session, ctx).get_or_404(job_id)
    if _own_only(ctx) and (ctx.user_id is None or job.created_by != ctx.user_id):
        raise NotFound()
    return job


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


async def stop_jobs_of(session: AsyncSession, ctx: TenantContext, user_ids: Iterable[uuid.UUID]) -> int:
    """Stop the queued and running jobs the users started in ``ctx``'s tenant (R-WX-3: a member who
    lost access), in the caller's transaction; returns how many. A queued job never starts; a running
    one stops at its next checkpoint, its work since then rolled back (``core.tasks.stop_jobs``)."""
    job_ids = await JobRepository(session, ctx).unfinished_of(sorted(set(user_ids)))
    return await stop_jobs(session, job_ids, STOPPED_ERROR)
