from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.core.schemas import CursorPage
from huike.core.tasks import JobStatus
from huike.job import service
from huike.job.schemas import JobRead
from huike.security.sessions import CurrentTenant

router = make_router(prefix="/api/v1/jobs", tag="jobs", responses=error_responses(401, 404, 422))


@router.get("", response_model=CursorPage[JobRead])
async def list(
    session: SessionDep,
    ctx: CurrentTenant,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    status: JobStatus | None = None,
    mine: Annotated[
        bool, Query(description="Only the jobs I started (always so without jobs.manage).")
    ] = False,
) -> CursorPage[JobRead]:
    """Jobs, newest first: everyone's with ``jobs.manage``, otherwise the ones I started."""
    return await service.list_jobs(session, ctx, limit=limit, cursor=cursor, status=status, mine=mine)


@router.get("/{job_id}", response_model=JobRead)
async def get(session: SessionDep, ctx: CurrentTenant, job_id: uuid.UUID) -> object:
    """A job I started, or anyone's with ``jobs.manage`` (404 otherwise)."""
    return await service.access_job(session, ctx, job_id)


@router.post("/{job_id}/retry", response_model=JobRead, responses=error_responses(409))
async def retry(session: SessionDep, ctx: CurrentTenant, job_id: uuid.UUID) -> object:
    """Run a failed job of mine again (anyone's with ``jobs.manage``)."""
    return await service.retry_job(session, ctx, job_id)
