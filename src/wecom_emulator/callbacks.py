"""Callbacks WeCom POSTs to a corp's configured URL (spec §13): the URL-verification handshake,
the encrypted event envelope, and a delivery queue with WeCom's habits — a 5-second deadline,
3 attempts in all, and (when switched on) duplicates and out-of-order delivery.

Nothing is sent while a request is being served: scenarios enqueue, and ``drain()`` (tests) or
the background worker (a served emulator) delivers. ``transport`` is injectable so tests can
deliver into an ASGI app without sockets."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape

import httpx

from wecom_emulator.crypto import CryptoError, MsgCrypt

if TYPE_CHECKING:
    from wecom_emulator.state import Corp, EmulatorState

FieldValue = str | int | Sequence[str]


def event_xml(corp_id: str, create_time: int, event: str, fields: Sequence[tuple[str, FieldValue]]) -> str:
    """The decrypted event XML: strings in CDATA, numbers bare, lists as ``<Item>`` (spec §13.5)."""
    parts = [
        f"<ToUserName>{_cdata(corp_id)}</ToUserName>",
        f"<FromUserName>{_cdata('sys')}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{_cdata('event')}</MsgType>",
        f"<Event>{_cdata(event)}</Event>",
    ]
    for name, value in fields:
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        elif isinstance(value, str):
            parts.append(f"<{name}>{_cdata(value)}</{name}>")
        else:
            items = "".join(f"<Item>{_cdata(v)}</Item>" for v in value)
            parts.append(f"<{name}>{items}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def _cdata(value: str) -> str:
    if "]]>" in value:  # cannot sit inside CDATA; escape instead (never happens with WeCom ids)
        return escape(value)
    return f"<![CDATA[{value}]]>"


@dataclass
class Attempt:
    at: float
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code == 200


@dataclass
class Delivery:
    """One event for one URL and what happened to it."""

    id: int
    corp_id: str
    url: str
    event: str
    change_type: str
    xml: str
    created_at: float
    attempts: list[Attempt] = field(default_factory=list)
    duplicate_of: int | None = None

    @property
    def delivered(self) -> bool:
        return any(a.ok for a in self.attempts)


@dataclass
class DeliverySwitches:
    max_attempts: int = 3  # WeCom: 3 attempts in total
    timeout: float = 5.0  # WeCom drops the connection after 5 s
    handshake_timeout: float = 1.0
    duplicate: bool = False  # deliver every event twice (as WeCom sometimes does)
    order: Literal["fifo", "reverse", "shuffle"] = "fifo"


class DeliveryQueue:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.switches = DeliverySwitches()
        self.transport: httpx.AsyncBaseTransport | None = None
        # Deliver on its own as soon as something is queued (a served emulator); tests leave it off
        # and call drain() so deliveries happen exactly when they ask.
        self.auto_deliver = False
        self.pending: list[Delivery] = []
        self.log: list[Delivery] = []
        self._next_id = 1
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- configuration ----------------------------------------------------------------------------

    async def configure(self, corp_id: str, url: str, token: str, encoding_aes_key: str) -> tuple[bool, str]:
        """Save a callback configuration the way the admin console does: only after the URL answered
        the verification handshake correctly. Returns (saved, reason)."""
        try:
            crypt = MsgCrypt(token, encoding_aes_key, corp_id)
        except CryptoError as exc:
            return False, str(exc)
        ok, reason = await self.handshake(url, crypt)
        if ok:
            self._state.store.conn.execute(
                "UPDATE corp SET callback_url = ?, callback_token = ?, callback_aes_key = ? WHERE corp_id = ?",
                (url, token, encoding_aes_key, corp_id),
            )
        return ok, reason

    async def handshake(self, url: str, crypt: MsgCrypt) -> tuple[bool, str]:
        """GET url?msg_signature&timestamp&nonce&echostr; the body must be exactly the plaintext."""
        plain = str(secrets.randbelow(10**19))
        echostr = crypt.encrypt(plain)
        timestamp, nonce = str(self._state.clock.timestamp()), str(secrets.randbelow(10**10))
        params = {
            "msg_signature": crypt.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        try:
            async with self._client(self.switches.handshake_timeout) as client:
                response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            return False, f"request failed: {type(exc).__name__}"
        if response.status_code != 200:
            return False, f"HTTP {response.status_code}"
        if response.content != plain.encode("ascii"):
            return False, "the answer is not the decrypted echostr"
        return True, "ok"

    def _client(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=timeout, follow_redirects=False)

    # -- queueing ---------------------------------------------------------------------------------

    def enqueue(self, corp: Corp, event: str, change_type: str, xml: str) -> Delivery | None:
        """Queue an event for the corp's verified URL; None when the corp has no callback URL
        (WeCom sends nothing then)."""
        if not corp.callback_url:
            return None
        first = self._add(corp, event, change_type, xml, duplicate_of=None)
        if self.switches.duplicate:
            self._add(corp, event, change_type, xml, duplicate_of=first.id)
        self._wake.set()
        if self.auto_deliver:
            self.start()
        return first

    def _add(self, corp: Corp, event: str, change_type: str, xml: str, duplicate_of: int | None) -> Delivery:
        delivery = Delivery(
            id=self._next_id,
            corp_id=corp.corp_id,
            url=corp.callback_url or "",
            event=event,
            change_type=change_type,
            xml=xml,
            created_at=self._state.clock.now(),
            duplicate_of=duplicate_of,
        )
        self._next_id += 1
        self.pending.append(delivery)
        self.log.append(delivery)
        return delivery

    # -- delivering -------------------------------------------------------------------------------

    async def drain(self) -> list[Delivery]:
        """Deliver everything queued (each with its retries) and return what was delivered or given
        up in this call. Deterministic: no real waiting between attempts."""
        done: list[Delivery] = []
        async with self._lock:
            while self.pending:
                batch, self.pending = self.pending, []
                if self.switches.order == "reverse":
                    batch.reverse()
                elif self.switches.order == "shuffle":
                    self._state.rng.shuffle(batch)
                async with self._client(self.switches.timeout) as client:
                    for delivery in batch:
                        await self._deliver(client, delivery)
                        done.append(delivery)
        return done

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        corp = self._state.find_corp(delivery.corp_id)
        if corp is None or not corp.callback_token or not corp.callback_aes_key:
            delivery.attempts.append(Attempt(self._state.clock.now(), None, "callback not configured"))
            return
        crypt = MsgCrypt(corp.callback_token, corp.callback_aes_key, corp.corp_id)
        # One ciphertext per delivery: WeCom's retries resend the same request; a duplicate is a
        # separate delivery and so is encrypted again with its own nonce.
        encrypt = crypt.encrypt(delivery.xml)
        timestamp, nonce = str(self._state.clock.timestamp()), str(secrets.randbelow(10**10))
        params = {
            "msg_signature": crypt.sign(timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = crypt.envelope(corp.corp_id, str(corp.agent_id), encrypt)
        for _ in range(self.switches.max_attempts):
            try:
                response = await client.post(
                    delivery.url,
                    params=params,
                    content=body.encode("utf-8"),
                    headers={"Content-Type": "text/xml; charset=utf-8"},
                )
            except httpx.HTTPError as exc:
                delivery.attempts.append(Attempt(self._state.clock.now(), None, type(exc).__name__))
                continue
            delivery.attempts.append(Attempt(self._state.clock.now(), response.status_code, None))
            if response.status_code == 200:
                return

    # -- background worker (served emulator) --------------------------------------------------------

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.drain()
