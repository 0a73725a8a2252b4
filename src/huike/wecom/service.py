"""Connecting a tenant's WeCom corp, and receiving its callbacks into the inbox."""

from __future__ import annotations

import secrets
import string
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from huike.config import Settings
from huike.core.db import utcnow
from huike.core.tenancy import TenantContext
from huike.security.keys import warm_keys
from huike.wecom import events
from huike.wecom.client import WeComApp, WeComClient
from huike.wecom.crypto import CallbackCrypto
from huike.wecom.errors import ConnectionMissing, SecretsRequired, WeComError
from huike.wecom.models import ConnectionStatus, InboxEvent, InboxStatus, WeComConnection
from huike.wecom.repository import ConnectionRepository, InboxRepository, find_connection_by_callback_key
from huike.wecom.runtime import get_wecom_runtime
from huike.wecom.schemas import ConnectionIn

log = structlog.get_logger(__name__)

_ALNUM = string.ascii_letters + string.digits


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


async def get_connection(session: AsyncSession, ctx: TenantContext) -> WeComConnection | None:
    await warm_keys(session, ctx.tenant_id)
    return await ConnectionRepository(session, ctx).current()


async def connected_tenants(session: AsyncSession) -> list[uuid.UUID]:
    """The tenants whose WeCom connection is verified (for platform jobs that visit every corp)."""
    from sqlalchemy import select

    rows = await session.execute(
        select(WeComConnection.tenant_id)
        .where(WeComConnection.status == ConnectionStatus.connected)
        .order_by(WeComConnection.tenant_id)
    )
    return list(rows.scalars())


async def access_connection(session: AsyncSession, ctx: TenantContext) -> WeComConnection:
    connection = await get_connection(session, ctx)
    if connection is None:
        raise ConnectionMissing()
    return connection


async def save_connection(session: AsyncSession, ctx: TenantContext, data: ConnectionIn) -> WeComConnection:
    """Create or update the tenant's connection. A secret left empty keeps the stored one; Huike makes
    the callback token and EncodingAESKey itself. The connection is verified right away."""
    connection = await get_connection(session, ctx)
    if connection is None:
        if not data.app_secret or not data.contact_secret:
            raise SecretsRequired(
                missing=[n for n in ("app_secret", "contact_secret") if not getattr(data, n)]
            )
        connection = WeComConnection(
            tenant_id=ctx.tenant_id,
            corp_id=data.corp_id,
            agent_id=data.agent_id,
            app_secret=data.app_secret,
            contact_secret=data.contact_secret,
            callback_token=_random(32),
            encoding_aes_key=_random(43),
            callback_key=secrets.token_hex(16),
        )
        ConnectionRepository(session, ctx).add(connection)
    else:
        changed_identity = connection.corp_id != data.corp_id
        connection.corp_id = data.corp_id
        connection.agent_id = data.agent_id
        if data.app_secret:
            connection.app_secret = data.app_secret
        if data.contact_secret:
            connection.contact_secret = data.contact_secret
        if changed_identity:
            connection.callback_verified_at = None
    await session.flush()
    await verify_connection(session, ctx, connection)
    return connection


async def verify_connection(session: AsyncSession, ctx: TenantContext, connection: WeComConnection) -> None:
    """Fetch a token with each secret; keep the first error's code for the console to explain."""
    runtime = get_wecom_runtime()
    try:
        for secret in (connection.app_secret, connection.contact_secret):
            await runtime.client(WeComApp(connection.corp_id, secret, connection.agent_id)).access_token(
                refresh=True
            )
    except WeComError as error:
        connection.status = ConnectionStatus.failed
        connection.last_error_code = error.code
        log.info("wecom.connection_failed", code=error.code)
        return
    connection.status = ConnectionStatus.connected
    connection.last_error_code = None
    connection.verified_at = utcnow()


async def client_for(
    session: AsyncSession, ctx: TenantContext, *, app_secret: bool = False
) -> tuple[WeComClient, WeComConnection]:
    """A client for the tenant's corp, with the customer-contact secret (default) or the app's."""
    connection = await access_connection(session, ctx)
    value = connection.app_secret if app_secret else connection.contact_secret
    return get_wecom_runtime().client(WeComApp(connection.corp_id, value, connection.agent_id)), connection


def callback_url(settings: Settings, connection: WeComConnection) -> str:
    return f"{settings.public_base_url.rstrip('/')}/wecom/callback/{connection.callback_key}"


# --- callbacks -------------------------------------------------------------------------------------


async def crypto_for_callback(
    session: AsyncSession, callback_key: str
) -> tuple[WeComConnection, CallbackCrypto] | None:
    connection = await find_connection_by_callback_key(session, callback_key)
    if connection is None:
        return None
    await warm_keys(session, connection.tenant_id)
    await session.refresh(connection)
    return connection, CallbackCrypto(
        connection.callback_token, connection.encoding_aes_key, connection.corp_id
    )


async def process_event(session: AsyncSession, ctx: TenantContext, event_id: uuid.UUID) -> str:
    """Hand an inbox event to the domains that registered for it; idempotent per event row."""
    row: InboxEvent | None = await InboxRepository(session, ctx).get(event_id)
    if row is None or row.status in (InboxStatus.processed, InboxStatus.ignored):
        return "skipped"
    handlers = events.handlers_for(row.event, row.change_type)
    for handler in handlers:
        await handler(session, ctx, row.payload)
    row.status = InboxStatus.processed if handlers else InboxStatus.ignored
    row.processed_at = utcnow()
    return row.status
