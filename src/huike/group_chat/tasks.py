"""Jobs of the customer-group domain."""

from __future__ import annotations

from typing import Any

from huike.core.tasks import JobContext, task
from huike.group_chat import service
from huike.group_chat.repository import SYNC_TASK


@task(SYNC_TASK, max_attempts=6, retry_base_s=5.0)
async def sync_from_wecom(ctx: JobContext, full: bool = False) -> dict[str, Any]:
    """Full sync of the tenant's customer groups; resumes from its last checkpoint when retried."""
    run_id = ctx.job.id if ctx.job is not None else ctx.outbox_id
    return await service.sync_from_wecom(
        ctx.session, ctx.tenant, run_id, full=full, checkpoint=ctx.checkpoint, report=ctx.report
    )
