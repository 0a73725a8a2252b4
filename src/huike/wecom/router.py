"""Settings → WeCom: the tenant's connection (the console's 企业微信 page)."""

from __future__ import annotations

from fastapi import Request

from huike.config import Settings
from huike.core.errors import error_responses
from huike.core.i18n import translate
from huike.core.routing import SessionDep, make_router
from huike.security.sessions import CurrentTenant
from huike.wecom import service
from huike.wecom.models import ConnectionStatus, WeComConnection
from huike.wecom.schemas import ConnectionIn, ConnectionRead

router = make_router(prefix="/api/v1/wecom", tag="wecom", responses=error_responses(401, 409, 422))


def _read(settings: Settings, connection: WeComConnection) -> ConnectionRead:
    return ConnectionRead(
        corp_id=connection.corp_id,
        agent_id=connection.agent_id,
        status=ConnectionStatus(connection.status),
        last_error_code=connection.last_error_code,
        last_error_message=translate(connection.last_error_code) if connection.last_error_code else None,
        app_secret_set=bool(connection.app_secret),
        contact_secret_set=bool(connection.contact_secret),
        callback_url=service.callback_url(settings, connection),
        callback_token=connection.callback_token,
        encoding_aes_key=connection.encoding_aes_key,
        verified_at=connection.verified_at,
        callback_verified_at=connection.callback_verified_at,
    )


@router.get("/connection", response_model=ConnectionRead | None)
async def get_connection(request: Request, session: SessionDep, ctx: CurrentTenant) -> ConnectionRead | None:
    connection = await service.get_connection(session, ctx)
    return _read(request.app.state.settings, connection) if connection else None


@router.put("/connection", response_model=ConnectionRead)
async def save_connection(
    request: Request, session: SessionDep, ctx: CurrentTenant, body: ConnectionIn
) -> ConnectionRead:
    connection = await service.save_connection(session, ctx, body)
    return _read(request.app.state.settings, connection)


@router.post("/connection/verify", response_model=ConnectionRead)
async def verify_connection(request: Request, session: SessionDep, ctx: CurrentTenant) -> ConnectionRead:
    connection = await service.access_connection(session, ctx)
    await service.verify_connection(session, ctx, connection)
    return _read(request.app.state.settings, connection)
