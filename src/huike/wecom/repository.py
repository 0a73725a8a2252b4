from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import insert_ignore
from huike.core.repository import TenantRepository
from huike.security.fields import KEYS_LATER
from huike.wecom.models import InboxEvent, WeComConnection


class ConnectionRepository(TenantRepository[WeComConnection]):
    model = WeComConnection

    async def current(self) -> WeComConnection | None:
        return (await self.session.execute(self.select())).scalar_one_or_none()


async def find_connection_by_callback_key(session: AsyncSession, callback_key: str) -> WeComConnection | None:
    """Unscoped on purpose: a callback names its connection by the key in its URL, before any tenant is known."""
    statement = (
        select(WeComConnection)
        .where(WeComConnection.callback_key == callback_key)
        .execution_options(**{KEYS_LATER: True})  # the tenant (and so its keys) is known only after the row
    )
    return (await session.execute(statement)).scalar_one_or_none()


class InboxRepository(TenantRepository[InboxEvent]):
    model = InboxEvent

    async def insert_new(self, **values: Any) -> uuid.UUID | None:
        """Insert unless the (tenant, dedupe key) is already there; the new row's id, or None."""
        row_id = uuid.uuid4()
        statement = insert_ignore(self.session, InboxEvent, ["tenant_id", "dedupe_key"]).values(
            id=row_id, tenant_id=self.ctx.tenant_id, status="received", **values
        )
        result = await self.session.execute(statement)
        from huike.core.db import rowcount

        return row_id if rowcount(result) == 1 else None
