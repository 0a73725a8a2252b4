"""Jobs of the calendar: the daily check for missing years and the recompute after an edit."""

from __future__ import annotations

from typing import Any

from huike.calendar import service
from huike.core.tasks import JobContext, periodic, task


@task(service.STATUS_TASK, max_attempts=3)
async def check_status(ctx: JobContext) -> dict[str, Any]:
    """Log ``calendar.year_unconfirmed`` for each upcoming year without a schedule (from 1 October)."""
    status = await service.check_status(ctx.session)
    return {"missing_years": [warning.year for warning in status.warnings]}


@task(service.RECOMPUTE_TASK, max_attempts=5)
async def recompute_provisional(ctx: JobContext, year: int) -> dict[str, Any]:
    """After ``year`` was confirmed: recompute every registered domain's provisional deadlines."""
    return await service.recompute_provisional(ctx.session, year)


periodic(service.STATUS_TASK, every_s=24 * 3600)
