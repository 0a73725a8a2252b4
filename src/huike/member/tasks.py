"""Jobs of the member domain."""

from __future__ import annotations

from typing import Any

from huike.core.tasks import JobContext, task
from huike.member import service


@task("member.sync_from_wecom", max_attempts=6, retry_base_s=5.0)
async def sync_from_wecom(ctx: JobContext, full: bool = False) -> dict[str, Any]:
    """Full sync of departments and members; resumes from its last checkpoint when retried."""
    run_id = ctx.job.id if ctx.job is not None else ctx.outbox_id
    return await service.sync_from_wecom(
        ctx.session, ctx.tenant, run_id, full=full, checkpoint=ctx.checkpoint, report=ctx.report
    )
