"""Jobs of the cross-domain sync: the daily full sync of every connected tenant."""

from __future__ import annotations

from typing import Any

from huike.core.tasks import JobContext, periodic, task
from huike.sync import service


@task(service.DAILY_TASK, max_attempts=3)
async def schedule_daily(ctx: JobContext) -> dict[str, int]:
    """Queue each connected tenant's daily sync at its own place in the night window."""
    return await service.schedule_daily(ctx.session)


@task(service.TENANT_TASK, max_attempts=3, retry_base_s=30.0)
async def tenant_daily(
    ctx: JobContext, since: str, phase: int = 0, waiting: list[str] | None = None
) -> dict[str, Any]:
    """One tenant's daily sync: members and tags, then customers and groups once those finished."""
    return await service.daily_step(ctx.session, ctx.tenant, phase=phase, waiting=waiting or [], since=since)


periodic(
    service.DAILY_TASK,
    every_s=service.DAILY_EVERY.total_seconds(),
    offset_s=service.DAILY_AT.total_seconds(),
)
