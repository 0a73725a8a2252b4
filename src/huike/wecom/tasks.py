from __future__ import annotations

import uuid

import structlog

from huike.core.tasks import JobContext, enqueue, task
from huike.wecom import service

log = structlog.get_logger(__name__)


@task("wecom.process_event", max_attempts=8, retry_base_s=2.0)
async def process_event(ctx: JobContext, event_id: str) -> dict[str, str]:
    outcome = await service.process_event(ctx.session, ctx.tenant, uuid.UUID(event_id))
    return {"outcome": outcome}


@task("wecom.process_events", max_attempts=3, retry_base_s=2.0)
async def process_events(ctx: JobContext, event_ids: list[str]) -> dict[str, int]:
    """A batch of one tenant's events, as the inbox writer committed them. Each event runs in a savepoint;
    one that fails is handed to its own ``wecom.process_event`` job (with its own retries) so that it
    cannot hold the others back."""
    done = failed = 0
    for event_id in event_ids:
        try:
            async with ctx.session.begin_nested():
                await service.process_event(ctx.session, ctx.tenant, uuid.UUID(event_id))
            done += 1
        except Exception as exc:
            failed += 1
            log.warning("wecom.event_failed", event_id=event_id, error_type=type(exc).__name__)
            await enqueue(ctx.session, "wecom.process_event", tenant_id=ctx.tenant_id, event_id=event_id)
    return {"processed": done, "deferred": failed}
