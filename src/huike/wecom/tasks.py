from __future__ import annotations

import uuid

from huike.core.tasks import JobContext, task
from huike.wecom import service


@task("wecom.process_event", max_attempts=8, retry_base_s=2.0)
async def process_event(ctx: JobContext, event_id: str) -> dict[str, str]:
    outcome = await service.process_event(ctx.session, ctx.tenant, uuid.UUID(event_id))
    return {"outcome": outcome}
