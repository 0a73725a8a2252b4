"""The callback URL WeCom posts to: verify, decrypt, store in the inbox, answer — processing is a job.

``GET`` answers the URL-verification handshake with the decrypted echostr; ``POST`` stores the event
(once, whatever WeCom's retries and duplicates) and answers ``success`` quickly. Anything that fails
the signature or decryption gets a 400 and leaves no trace but a log line without data."""

from __future__ import annotations

import time
import uuid

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.routing import Route

from huike.core.db import UnitOfWorkRoute, utcnow, writes_on_get
from huike.core.errors import error_response
from huike.core.routing import SessionDep
from huike.wecom import service
from huike.wecom.crypto import CallbackCrypto, CallbackCryptoError
from huike.wecom.errors import CallbackRejected
from huike.wecom.inbox import InboxWriter
from huike.wecom.xmlparse import MAX_BYTES, UnsafeXml, parse_flat

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/wecom/callback", tags=["wecom-callback"], route_class=UnitOfWorkRoute)


CRYPTO_TTL_S = 60.0


async def _cached_crypto(request: Request, callback_key: str) -> tuple[uuid.UUID, CallbackCrypto] | None:
    """The connection's callback crypto, cached for a minute: a burst of callbacks must not each read
    and decrypt the connection row. The lookup runs in a short read transaction of its own, closed
    before the event is handed to the inbox writer (holding it open while waiting for the writer's
    commit would deadlock SQLite's single writer)."""
    cache: dict[str, tuple[float, uuid.UUID, CallbackCrypto]] = request.app.state.callback_crypto
    now = time.monotonic()
    hit = cache.get(callback_key)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    writer: InboxWriter = request.app.state.inbox
    async with writer.read_scope() as session:
        found = await service.crypto_for_callback(session, callback_key)
    if found is None:
        return None
    connection, crypto = found
    cache[callback_key] = (now + CRYPTO_TTL_S, connection.tenant_id, crypto)
    return connection.tenant_id, crypto


@router.get("/{callback_key}", response_class=PlainTextResponse)
@writes_on_get  # records that WeCom verified the URL
async def verify_url(
    session: SessionDep,
    callback_key: str,
    msg_signature: str = Query(max_length=64),
    timestamp: str = Query(max_length=32),
    nonce: str = Query(max_length=64),
    echostr: str = Query(max_length=1024),
) -> PlainTextResponse:
    found = await service.crypto_for_callback(session, callback_key)
    if found is None:
        raise CallbackRejected()
    connection, crypto = found
    try:
        plain = crypto.verify_and_decrypt(msg_signature, timestamp, nonce, echostr)
    except CallbackCryptoError as error:
        log.warning("wecom.callback.rejected", stage="verify_url", reason=error.code.name)
        raise CallbackRejected() from error
    connection.callback_verified_at = utcnow()
    return PlainTextResponse(plain.decode())


async def receive(request: Request) -> Response:
    """POST of an event. A plain Starlette route placed ahead of the API's routes (see
    :data:`receive_route`): at campaign bursts the framework's routing and validation would cost more
    than the crypto; the checks below are the same a FastAPI signature would make."""
    callback_key = request.path_params["callback_key"]
    query = request.query_params
    msg_signature, timestamp, nonce = (
        query.get(name, "") for name in ("msg_signature", "timestamp", "nonce")
    )
    if not (msg_signature and timestamp and nonce) or max(map(len, (msg_signature, timestamp, nonce))) > 64:
        return error_response(400, "wecom.callback_rejected")
    body = await request.body()
    if len(body) > MAX_BYTES:
        return error_response(400, "wecom.callback_rejected")
    found = await _cached_crypto(request, callback_key)
    if found is None:
        return error_response(400, "wecom.callback_rejected")
    tenant_id, crypto = found
    try:
        envelope = parse_flat(body)
        encrypted = str(envelope.get("Encrypt", ""))
        fields = parse_flat(crypto.verify_and_decrypt(msg_signature, timestamp, nonce, encrypted))
    except (CallbackCryptoError, UnsafeXml) as error:
        reason = error.code.name if isinstance(error, CallbackCryptoError) else "xml"
        log.warning("wecom.callback.rejected", stage="receive", reason=reason)
        return error_response(400, "wecom.callback_rejected")
    writer: InboxWriter = request.app.state.inbox
    new = await writer.submit(tenant_id, fields)  # returns once the event is committed
    log.debug(
        "wecom.callback.received",
        wecom_event=fields.get("Event"),
        change_type=fields.get("ChangeType"),
        duplicate=not new,
    )
    return PlainTextResponse("success")


receive_route = Route(
    "/wecom/callback/{callback_key}", receive, methods=["POST"], name="wecom_callback_receive"
)
