"""change_contact handlers (spec §13.5). WeCom may deliver late, twice or out of order: each handler
compares the event's CreateTime with the member's (or department's) and re-reads WeCom."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.member import service
from huike.wecom import events
from huike.wecom.events import EventFields


@events.on("change_contact", "create_user")
@events.on("change_contact", "update_user")
async def user_changed(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_user_changed(session, ctx, dict(event))


@events.on("change_contact", "delete_user")
async def user_deleted(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_user_deleted(session, ctx, dict(event))


@events.on("change_contact", "create_party")
@events.on("change_contact", "update_party")
async def party_changed(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_party_changed(session, ctx, dict(event))


@events.on("change_contact", "delete_party")
async def party_deleted(session: AsyncSession, ctx: TenantContext, event: EventFields) -> None:
    await service.on_party_deleted(session, ctx, dict(event))
