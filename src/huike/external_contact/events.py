"""change_external_contact handlers (spec §13.5). WeCom may deliver late, twice or out of order: the
service re-reads WeCom and compares each event's CreateTime with the relation's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.wecom import events
from huike.wecom.events import EventFields


@events.on("change_external_contact", "add_external_contact")
@events.on("change_external_contact", "add_half_external_contact")
@events.on("change_external_contact", "edit_external_contact")
@events.on("change_external_contact", "del_external_contact")
@events.on("change_external_contact", "del_follow_user")
@events.on("change_external_contact", "transfer_fail")
async def contact_changed(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_contact_event(session, ctx, dict(event))
