"""change_external_tag callbacks (spec §13.5): create / update / delete / shuffle of a tag or a tag
group. Each re-reads from WeCom what the event names (events carry ids only) and stores it; see
:func:`huike.tag.service.refresh_from_event` for why late, repeated and out-of-order events are safe."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.tag import service
from huike.wecom import events
from huike.wecom.events import EventFields


@events.on("change_external_tag", "create")
@events.on("change_external_tag", "update")
@events.on("change_external_tag", "delete")
@events.on("change_external_tag", "shuffle")
async def on_tag_changed(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.refresh_from_event(session, ctx, event)
