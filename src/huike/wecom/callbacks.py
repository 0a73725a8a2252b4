"""The callback URL WeCom posts to: verify, decrypt, store in the inbox, answer — processing is a job.

``GET`` answers the URL-verification handshake with the decrypted echostr; ``POST`` stores the event
(once, whatever WeCom's retries and duplicates) and answers ``success`` quickly. Anything that fails
the signature or decryption gets a 400 and leaves no trace but a log line without data."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from huike.core.db import UnitOfWorkRoute, utcnow
from huike.core.routing import SessionDep
from huike.wecom import service
from huike.wecom.crypto import CallbackCryptoError
from huike.wecom.errors import CallbackRejected
from huike.wecom.xmlparse import MAX_BYTES, UnsafeXml, parse_flat

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/wecom/callback", tags=["wecom-callback"], route_class=UnitOfWorkRoute)


@router.get("/{callback_key}", response_class=PlainTextResponse)
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


@router.post("/{callback_key}", response_class=PlainTextResponse)
async def receive(
    request: Request,
    session: SessionDep,
    callback_key: str,
    msg_signature: str = Query(max_length=64),
    timestamp: str = Query(max_length=32),
    nonce: str = Query(max_length=64),
) -> PlainTextResponse:
    body = await request.body()
    found = await service.crypto_for_callback(session, callback_key)
    if found is None or len(body) > MAX_BYTES:
        raise CallbackRejected()
    connection, crypto = found
    try:
        envelope = parse_flat(body)
        encrypted = str(envelope.get("Encrypt", ""))
        fields = parse_flat(crypto.verify_and_decrypt(msg_signature, timestamp, nonce, encrypted))
    except (CallbackCryptoError, UnsafeXml) as error:
        reason = error.code.name if isinstance(error, CallbackCryptoError) else "xml"
        log.warning("wecom.callback.rejected", stage="receive", reason=reason)
        raise CallbackRejected() from error
    new = await service.receive_event(session, connection.tenant_id, fields)
    log.info(
        "wecom.callback.received",
        wecom_event=fields.get("Event"),
        change_type=fields.get("ChangeType"),
        duplicate=not new,
    )
    return PlainTextResponse("success")
