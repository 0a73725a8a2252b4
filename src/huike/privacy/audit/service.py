"""Writing, reading and verifying the audit log (F4).

Domains call :func:`record` inside their own transaction, after the action and before the route
commits: the audit row commits or rolls back with the action. Codes are dotted and stable
(``auth.login.succeeded``, ``auth.login.failed``, ``role.changed``, ``permission.changed``,
``data.revealed``, ``data.exported``, ``data.deleted``, ``admin.viewed_member_data``, ...).

**Concurrency.** :func:`record` appends to the chain of its tenant (or the ``platform`` chain) under a
lock on that chain's head row: ``SELECT ... FOR UPDATE`` on PostgreSQL, held until the caller's
transaction ends, so a second writer of the same chain waits and then reads the head the first one
committed (READ COMMITTED re-reads the locked row), or the old head if the first rolled back. On
SQLite a write transaction holds the database's write lock from ``BEGIN IMMEDIATE`` (core/db.py), so
writers are serialised already. A unique ``(chain, seq)`` backs both: a forked chain cannot be stored.
Keep the lock short by recording last in the transaction. A transaction that records for two tenants
takes two head locks; PostgreSQL resolves the rare deadlock by failing one transaction.

On SQLite a *read* transaction (GET requests use deferred BEGIN) that records an event upgrades to
a write lock on its first write and fails with ``database is locked`` if another writer committed
since its first read; routes that audit a read (``admin.viewed_member_data``) should record before
they read, or use the write session.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from huike.core.db import insert_ignore, rowcount, utcnow
from huike.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from huike.core.schemas import CursorPage
from huike.core.tenancy import TenantContext
from huike.privacy.audit.errors import InvalidAuditEvent, PersonalDataInAudit
from huike.privacy.audit.models import (
    GENESIS,
    PLATFORM_CHAIN,
    ActorType,
    AuditChainHead,
    AuditEvent,
    AuditResult,
)
from huike.privacy.audit.repository import AuditEventFilters, AuditEventRepository
from huike.privacy.audit.schemas import AuditEventRead

log = structlog.get_logger(__name__)

# --- the actor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acted: a type and an internal id, or an HMAC pseudonym when there is no id. For a failed
    login with an unknown phone, pass the phone's blind index (``huike.security.blind_index``,
    ``v1:<hex>``) or :func:`hmac_pseudonym` of the normalised (E.164) phone."""

    type: ActorType
    id: uuid.UUID | None = None
    pseudonym: str | None = None

    @classmethod
    def user(cls, user_id: uuid.UUID | None) -> Actor:
        return cls(ActorType.user, user_id)

    @classmethod
    def member(cls, member_id: uuid.UUID) -> Actor:
        return cls(ActorType.member, member_id)

    @classmethod
    def operator(cls, operator_id: uuid.UUID) -> Actor:
        return cls(ActorType.operator, operator_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.system)

    @classmethod
    def pseudonymous(cls, type: ActorType, pseudonym: str) -> Actor:
        return cls(type, None, pseudonym)


def hmac_pseudonym(key: bytes, value: str) -> str:
    """A stable pseudonym (HMAC-SHA256 hex) of an identifier; normalise the value first (E.164)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def actor_of(ctx: TenantContext | None) -> Actor:
    if ctx is None or ctx.is_system:
        return Actor.system()
    return Actor.user(ctx.user_id)


# --- what may be stored ---------------------------------------------------------------------------

ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
OBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
REFERENCE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PSEUDONYM = re.compile(r"^(?:v[0-9]{1,4}:)?[0-9a-f]{64}$")  # an HMAC-SHA256 hex digest, maybe versioned
MOBILE = re.compile(r"1[3-9]\d{9}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
# identifiers that may carry a digit run by chance: a whole UUID or a hex digest is not a phone
IDENTIFIER = re.compile(
    r"^(?:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|(?:v[0-9]{1,4}:)?[0-9a-f]{64}|[0-9a-f]{40})$"
)
# key tokens (split on _ . -) that name personal data or secrets
DENIED_KEY_TOKENS = frozenset(
    {
        "phone",
        "mobile",
        "tel",
        "telephone",
        "cellphone",
        "email",
        "mail",
        "name",
        "names",
        "nickname",
        "realname",
        "username",
        "fullname",
        "remark",
        "remarks",
        "address",
        "idcard",
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "otp",
        "sms",
        "captcha",
        "cookie",
        "authorization",
        "aeskey",
        "apikey",
        "credential",
        "credentials",
        "value",
        "values",
        "content",
        "body",
        "text",
        "avatar",
        "birthday",
        "gender",
        "wechat",
        "weixin",
        "openid",
        "unionid",
    }
)
DENIED_KEYS = frozenset(
    {"code", "auth_code", "verification_code", "sms_code", "aes_key", "encoding_aes_key", "api_key"}
)
MASKED_SUFFIX = "_masked"  # e.g. phone_masked="138****8000": a masked form may be kept (R-RT-3)
MAX_DETAILS_BYTES = 4096
MAX_DEPTH = 4


def _key_tokens(key: str) -> set[str]:
    return {part for part in re.split(r"[_.\-\s]+", key.lower()) if part}


def _check_text(text: str, where: str) -> None:
    if IDENTIFIER.match(text):
        return
    if MOBILE.search(text) or EMAIL.search(text):
        raise PersonalDataInAudit(field=where)


def validate_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Accept ids, codes, counts and field *names*; refuse anything that could be personal data."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise InvalidAuditEvent(field="details")
    _check_value(dict(details), "details", 0)
    try:
        encoded = json.dumps(details, ensure_ascii=False, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidAuditEvent(field="details") from exc
    if len(encoded.encode()) > MAX_DETAILS_BYTES:
        raise InvalidAuditEvent(field="details")
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


def _check_value(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidAuditEvent(field=where)
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, int | float):
        _check_text(str(value), where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise InvalidAuditEvent(field=where)
            _check_text(key, f"{where}.<key>")  # a key that is itself personal is not echoed
            path = f"{where}.{key}"
            if key.lower().endswith(MASKED_SUFFIX):
                if not (isinstance(item, str) and "*" in item):
                    raise PersonalDataInAudit(field=path)
                _check_text(item, path)
                continue
            if key.lower() in DENIED_KEYS or _key_tokens(key) & DENIED_KEY_TOKENS:
                raise PersonalDataInAudit(field=path)
            _check_value(item, path, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]", depth + 1)
    else:
        raise InvalidAuditEvent(field=where)


def _clean_reference(value: str | uuid.UUID | None, where: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not REFERENCE.match(text):
        raise InvalidAuditEvent(field=where)
    _check_text(text, where)
    return text


@dataclass(frozen=True)
class _RequestMeta:
    ip: str | None
    user_agent_hash: str | None


def _request_meta(request: Request | None) -> _RequestMeta:
    if request is None:
        return _RequestMeta(None, None)
    ip = request.client.host if request.client else None
    try:
        ip = str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        ip = None  # a test client's "testclient", a unix socket: not an address
    agent = request.headers.get("user-agent")
    return _RequestMeta(ip, hashlib.sha256(agent.encode()).hexdigest() if agent else None)


def _request_id() -> str | None:
    """The request id the middleware bound (a client may choose it: kept only if it is clean)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    if not isinstance(value, str) or not REFERENCE.match(value):
        return None
    if not IDENTIFIER.match(value) and (MOBILE.search(value) or EMAIL.search(value)):
        return None
    return value


# --- writing --------------------------------------------------------------------------------------


async def _lock_head(session: AsyncSession, chain: str) -> tuple[int, str]:
    """Lock the chain's head row (creating it on first use) and return its last seq and hash."""
    statement = (
        select(AuditChainHead.last_seq, AuditChainHead.last_hash)
        .where(AuditChainHead.chain == chain)
        .with_for_update()
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        await session.execute(
            insert_ignore(session, AuditChainHead, ["chain"]).values(
                chain=chain,
                last_seq=0,
                last_hash=GENESIS,
                anchor_seq=0,
                anchor_hash=GENESIS,
                updated_at=utcnow(),
            )
        )
        row = (await session.execute(statement)).one()
    return int(row.last_seq), str(row.last_hash)


async def record(
    session: AsyncSession,
    ctx: TenantContext | None,
    action: str,
    *,
    object_type: str,
    object_id: str | uuid.UUID | None,
    result: AuditResult | str = AuditResult.success,
    request: Request | None = None,
    details: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
    tenant_id: uuid.UUID | None = None,
    ip_region: str | None = None,
) -> AuditEvent:
    """Append one event to the audit log in the caller's transaction (flushed, not committed).

    * ``ctx``: the tenant context (its tenant's chain; actor = its user, or ``system`` for a job's
      context), or ``None`` for a platform event (then ``tenant_id`` may name the tenant concerned).
    * ``actor`` overrides the actor derived from ``ctx`` (a member, an operator, a pseudonym).
    * ``request`` gives the IP (as the server saw it: run uvicorn with ``--proxy-headers`` behind a
      proxy) and the SHA-256 of the user agent; ``ip_region`` is the caller's lookup of that IP.
    * ``details``: ids, codes, counts and field names only; see :func:`validate_details`.

    Raises :class:`InvalidAuditEvent` / :class:`PersonalDataInAudit` (HTTP 500: a bug in the caller),
    which fails the whole action with it.
    """
    if not ACTION.match(action) or len(action) > 100:
        raise InvalidAuditEvent(field="action")
    if not OBJECT_TYPE.match(object_type) or len(object_type) > 50:
        raise InvalidAuditEvent(field="object_type")
    try:
        outcome = AuditResult(result)
    except ValueError as exc:
        raise InvalidAuditEvent(field="result") from exc
    if ctx is not None:
        if tenant_id is not None and tenant_id != ctx.tenant_id:
            raise InvalidAuditEvent(field="tenant_id")
        tenant_id = ctx.tenant_id
    who = actor or actor_of(ctx)
    if who.pseudonym is not None and not PSEUDONYM.match(who.pseudonym):
        raise InvalidAuditEvent(field="actor.pseudonym")  # a digest by format: nothing else fits
    if ip_region is not None:
        if len(ip_region) > 100:
            raise InvalidAuditEvent(field="ip_region")
        _check_text(ip_region, "ip_region")
    clean_details = validate_details(details)
    meta = _request_meta(request)
    event = AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        chain=str(tenant_id) if tenant_id is not None else PLATFORM_CHAIN,
        occurred_at=utcnow(),
        actor_type=ActorType(who.type).value,
        actor_id=who.id,
        actor_pseudonym=who.pseudonym,
        action=action,
        object_type=object_type,
        object_id=_clean_reference(object_id, "object_id"),
        result=outcome.value,
        ip=meta.ip,
        ip_region=ip_region,
        user_agent_hash=meta.user_agent_hash,
        request_id=_request_id(),
        details=clean_details,
    )
    last_seq, last_hash = await _lock_head(session, event.chain)
    event.seq = last_seq + 1
    event.prev_hash = last_hash
    event.occurred_at = utcnow()  # taken under the lock: time follows seq within a chain
    event.hash = event.compute_hash()
    moved = await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.chain == event.chain, AuditChainHead.last_seq == last_seq)
        .values(last_seq=event.seq, last_hash=event.hash, updated_at=event.occurred_at)
    )
    if rowcount(moved) != 1:  # cannot happen under the lock; refuse rather than fork
        raise InvalidAuditEvent(field="chain")
    session.add(event)
    await session.flush()
    return event


# --- reading (the tenant's admins) ----------------------------------------------------------------


async def list_events(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    limit: int,
    cursor: str | None,
    filters: AuditEventFilters,
) -> CursorPage[AuditEventRead]:
    after = None
    if cursor:
        (seq,) = decode_cursor(cursor, 1)
        try:
            after = int(seq)
        except ValueError as exc:
            raise InvalidCursor() from exc
    rows = await AuditEventRepository(session, ctx).list_page(limit=limit + 1, after=after, filters=filters)
    items = [AuditEventRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return CursorPage[AuditEventRead](items=items, next_cursor=next_cursor)


async def get_event(session: AsyncSession, ctx: TenantContext, event_id: uuid.UUID) -> AuditEvent:
    return await AuditEventRepository(session, ctx).get_or_404(event_id)


# --- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    chain: str
    seq: int
    event_id: uuid.UUID | None
    problem: str  # "hash" (row modified), "link" (row before it deleted or changed), "gap", "head"
    expected: str
    stored: str


@dataclass
class VerifyReport:
    checked: int = 0
    chains: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


async def count_events(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


async def verify_chains(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk every chain from its anchor to its head in batches; report each chain's first break.

    Each chain is checked up to the head read at its start (rows appended meanwhile wait for the
    next run). Short read transactions only: safe to run against a live database.
    """
    report = VerifyReport()
    async with sessionmaker() as session:
        heads: dict[str, tuple[int, str, int, str]] = {
            row.chain: (row.last_seq, row.last_hash, row.anchor_seq, row.anchor_hash)
            for row in (await session.execute(select(AuditChainHead))).scalars()
        }
        chains = set(heads) | set((await session.execute(select(AuditEvent.chain).distinct())).scalars())
    for chain in sorted(chains):
        report.chains += 1
        head = heads.get(chain)
        if head is None:
            report.broken.append(BrokenLink(chain, 0, None, "head", "a chain head", "none"))
            continue
        last_seq, last_hash, anchor_seq, anchor_hash = head
        broken, seen = await _verify_chain(
            sessionmaker, chain, (last_seq, anchor_seq, anchor_hash), batch_size, report, on_batch
        )
        if broken is None and seen != (last_seq, last_hash):  # the newest rows were deleted
            broken = BrokenLink(
                chain, last_seq, None, "head", f"{last_seq}:{last_hash}", f"{seen[0]}:{seen[1]}"
            )
        if broken is not None:
            report.broken.append(broken)
    return report


async def _verify_chain(
    sessionmaker: async_sessionmaker[AsyncSession],
    chain: str,
    bounds: tuple[int, int, str],
    batch_size: int,
    report: VerifyReport,
    on_batch: Callable[[int], None] | None,
) -> tuple[BrokenLink | None, tuple[int, str]]:
    """Check one chain from its anchor to ``last_seq``; return its first break and the last link seen."""
    last_seq, prev_seq, prev_hash = bounds
    while True:
        async with sessionmaker() as session:
            rows: Sequence[AuditEvent] = (
                (
                    await session.execute(
                        select(AuditEvent)
                        .where(
                            AuditEvent.chain == chain, AuditEvent.seq > prev_seq, AuditEvent.seq <= last_seq
                        )
                        .order_by(AuditEvent.seq)
                        .limit(batch_size)
                    )
                )
                .scalars()
                .all()
            )
        if not rows:
            break
        for row in rows:
            report.checked += 1
            if row.seq != prev_seq + 1:
                gap = BrokenLink(chain, row.seq, row.id, "gap", f"seq {prev_seq + 1}", f"seq {row.seq}")
                return gap, (prev_seq, prev_hash)
            if row.prev_hash != prev_hash:
                link = BrokenLink(chain, row.seq, row.id, "link", prev_hash, row.prev_hash)
                return link, (prev_seq, prev_hash)
            expected = row.compute_hash()
            if expected != row.hash:
                return BrokenLink(chain, row.seq, row.id, "hash", expected, row.hash), (prev_seq, prev_hash)
            prev_seq, prev_hash = row.seq, row.hash
        if on_batch is not None:
            on_batch(len(rows))
    return None, (prev_seq, prev_hash)
