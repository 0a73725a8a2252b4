"""Queries of the audit log. ``audit_events`` is not ``TenantScoped`` (platform events have no
tenant, and the trail outlives a tenant's rows), so this repository scopes every statement itself:
a tenant reads its own chain only, and a foreign id is ``NotFound`` like a missing one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.errors import NotFound
from huike.core.tenancy import TenantContext
from huike.privacy.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditEventFilters:
    action: str | None = None  # a dotted prefix: "auth" matches "auth.login.failed", not "authz.x"
    actor_id: uuid.UUID | None = None
    object_type: str | None = None
    object_id: str | None = None
    result: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


class AuditEventRepository:
    def __init__(self, session: AsyncSession, ctx: TenantContext) -> None:
        self.session = session
        self.ctx = ctx

    def select(self) -> Select[AuditEvent]:
        return select(AuditEvent).where(
            AuditEvent.chain == str(self.ctx.tenant_id), AuditEvent.tenant_id == self.ctx.tenant_id
        )

    async def get_or_404(self, event_id: uuid.UUID) -> AuditEvent:
        row = (
            await self.session.execute(self.select().where(AuditEvent.id == event_id))
        ).scalar_one_or_none()
        if row is None:
            raise NotFound()
        return row

    async def list_page(
        self, *, limit: int, after: int | None, filters: AuditEventFilters
    ) -> Sequence[AuditEvent]:
        statement = self.select().order_by(AuditEvent.seq.desc()).limit(limit)
        if after is not None:
            statement = statement.where(AuditEvent.seq < after)
        if filters.action:
            prefix = filters.action.rstrip(".")
            statement = statement.where(
                or_(AuditEvent.action == prefix, AuditEvent.action.startswith(prefix + ".", autoescape=True))
            )
        if filters.actor_id is not None:
            statement = statement.where(AuditEvent.actor_id == filters.actor_id)
        if filters.object_type is not None:
            statement = statement.where(AuditEvent.object_type == filters.object_type)
        if filters.object_id is not None:
            statement = statement.where(AuditEvent.object_id == filters.object_id)
        if filters.result is not None:
            statement = statement.where(AuditEvent.result == filters.result)
        if filters.since is not None:
            statement = statement.where(AuditEvent.occurred_at >= filters.since)
        if filters.until is not None:
            statement = statement.where(AuditEvent.occurred_at < filters.until)
        return (await self.session.execute(statement)).scalars().all()
