"""Jobs of the customer domain, and its tag usage provider."""

from __future__ import annotations

import uuid
from typing import Any

from huike.core.tasks import JobContext, task
from huike.external_contact import service
from huike.tag.service import register_usage_provider


@task("external_contact.sync_from_wecom", max_attempts=6, retry_base_s=5.0)
async def sync_from_wecom(ctx: JobContext) -> dict[str, Any]:
    """Full sync of customers; resumes from its last checkpoint when retried."""
    run_id = ctx.job.id if ctx.job is not None else ctx.outbox_id
    return await service.sync_from_wecom(
        ctx.session, ctx.tenant, run_id, checkpoint=ctx.checkpoint, report=ctx.report
    )


@task("external_contact.bulk_tag", max_attempts=6, retry_base_s=5.0)
async def bulk_tag(ctx: JobContext, operation_id: str) -> dict[str, Any]:
    """Tag/untag a filtered selection through mark_tag; resumes after its last committed page."""
    return await service.run_bulk_tag(
        ctx.session,
        ctx.tenant.tenant_id,
        uuid.UUID(operation_id),
        checkpoint=ctx.checkpoint,
        report=ctx.report,
    )


register_usage_provider(service.tag_usage)
