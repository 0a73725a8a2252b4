"""Callbacks WeCom POSTs to a corp's configured URL (spec §13): the URL-verification handshake,
the encrypted event envelope, and a delivery queue with WeCom's habits — a 5-second deadline,
3 attempts in all, and (when switched on) duplicates and out-of-order delivery.

Nothing is sent while a request is being served: scenarios enqueue, and ``drain()`` (tests) or
the background worker (a served emulator) delivers. A failed attempt is retried when the emulator's
clock has moved ``retry_interval`` further — virtual time, so tests move the clock instead of
sleeping. ``transport`` is injectable so tests can deliver into an ASGI app without sockets."""

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
IDLE = 30.0  # the served emulator's worker looks at the clock at least this often


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


def emit(
    state: EmulatorState,
    corp: Corp,
    event: str,
    change_type: str,
    fields: Sequence[tuple[str, FieldValue]],
    *,
    create_time: int | None = None,
) -> list[Delivery]:
    """Queue the event WeCom would send for something a person (or WeCom itself) did. The list is
    empty when the corp has no callback URL. ``create_time`` defaults to now; events caused by
    time passing (a transfer's takeover) carry the time they were due."""
    when = state.clock.timestamp() if create_time is None else create_time
    xml = event_xml(corp.corp_id, when, event, [("ChangeType", change_type), *fields])
    delivery = state.deliveries.enqueue(corp, event, change_type, xml)
    return [] if delivery is None else [delivery]


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
    next_at: float = 0.0  # the next attempt waits until the clock reaches this

    @property
    def delivered(self) -> bool:
        return any(a.ok for a in self.attempts)


@dataclass
class DeliverySwitches:
    max_attempts: int = 3  # WeCom: 3 attempts in total
    # seconds of emulator time between attempts; WeCom does not document its interval
    retry_interval: float = 5.0
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
        # the signed request of a delivery still being retried: retries resend it unchanged
        self._requests: dict[int, tuple[dict[str, str], str]] = {}
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
            next_at=self._state.clock.now(),
        )
        self._next_id += 1
        self.pending.append(delivery)
        self.log.append(delivery)
        return delivery

    # -- delivering -------------------------------------------------------------------------------

    async def drain(self) -> list[Delivery]:
        """Make one attempt at every delivery that is due on the emulator's clock and return them.
        A failed attempt with attempts left waits ``retry_interval`` of emulator time: move the
        clock and drain again to see the retry. Nothing really waits. Whatever the clock reached
        is settled first, so events caused by time passing (transfers) are queued and sent too."""
        self._state.settle()
        done: list[Delivery] = []
        async with self._lock:
            while True:
                now = self._state.clock.now()
                batch = [d for d in self.pending if d.next_at <= now]
                if not batch:
                    break
                self.pending = [d for d in self.pending if d.next_at > now]
                if self.switches.order == "reverse":
                    batch.reverse()
                elif self.switches.order == "shuffle":
                    self._state.rng.shuffle(batch)
                async with self._client(self.switches.timeout) as client:
                    for delivery in batch:
                        await self._attempt(client, delivery)
                        done.append(delivery)
                        if not delivery.delivered and len(delivery.attempts) < self.switches.max_attempts:
                            delivery.next_at = self._state.clock.now() + self.switches.retry_interval
                            self.pending.append(delivery)
        return done

    def next_due(self) -> float | None:
        """When the earliest waiting delivery is due on the emulator's clock (None: nothing waits)."""
        return min((d.next_at for d in self.pending), default=None)

    def wake(self) -> None:
        """Tell the background worker to look again (the clock moved)."""
        self._wake.set()

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        corp = self._state.find_corp(delivery.corp_id)
        if corp is None or not corp.callback_token or not corp.callback_aes_key:
            delivery.attempts.append(Attempt(self._state.clock.now(), None, "callback not configured"))
            return
        if delivery.id not in self._requests:
            crypt = MsgCrypt(corp.callback_token, corp.callback_aes_key, corp.corp_id)
            # One ciphertext per delivery: WeCom's retries resend the same request; a duplicate is
            # a separate delivery and so is encrypted again with its own nonce.
            encrypt = crypt.encrypt(delivery.xml)
            timestamp, nonce = str(self._state.clock.timestamp()), str(secrets.randbelow(10**10))
            params = {
                "msg_signature": crypt.sign(timestamp, nonce, encrypt),
                "timestamp": timestamp,
                "nonce": nonce,
            }
            self._requests[delivery.id] = (params, crypt.envelope(corp.corp_id, str(corp.agent_id), encrypt))
        params, body = self._requests[delivery.id]
        try:
            response = await client.post(
                delivery.url,
                params=params,
                content=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            delivery.attempts.append(Attempt(self._state.clock.now(), None, type(exc).__name__))
        else:
            delivery.attempts.append(Attempt(self._state.clock.now(), response.status_code, None))
        if delivery.delivered or len(delivery.attempts) >= self.switches.max_attempts:
            self._requests.pop(delivery.id, None)

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
            # Wake when something is queued, the clock is moved, a retry falls due or, at the
            # latest, every ``IDLE`` seconds so time-driven events (transfers) go out on a running clock.
            due = self.next_due()
            wait = IDLE if due is None else min(IDLE, max(0.0, due - self._state.clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            await self.drain()
