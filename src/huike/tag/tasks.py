from __future__ import annotations

from huike.core.tasks import JobContext, task
from huike.tag import service


@task(service.SYNC_TASK, max_attempts=5, retry_base_s=5.0)
async def sync_from_wecom(ctx: JobContext) -> dict[str, int]:
    """Read the corp's tag groups and tags from WeCom and store them (idempotent)."""
    return await service.sync_from_wecom(ctx.session, ctx.tenant, report=ctx.report)
