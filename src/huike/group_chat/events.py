"""change_external_chat handlers (spec §13.5): create, update (add_member, del_member, change_owner,
change_name, change_notice) and dismiss. WeCom may deliver late, twice or out of order; see
:func:`huike.group_chat.service.on_chat_event` for why that is safe."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.group_chat import service
from huike.wecom import events
from huike.wecom.events import EventFields


@events.on("change_external_chat", "create")
@events.on("change_external_chat", "update")
@events.on("change_external_chat", "dismiss")
async def on_chat_changed(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_chat_event(session, ctx, event)
