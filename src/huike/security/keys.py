"""Envelope keys (F3): per-scope data keys (DEKs), wrapped by the master key (KEK), stored wrapped.

* A **scope** is a tenant (its id) or the platform (``"platform"``, for platform-owned data such as
  account phones). Each scope has two independent, versioned **families**: ``data`` (AES-256-GCM field
  encryption) and ``index`` (HMAC-SHA256 blind indexes).
* ``encryption_keys`` holds one row per (scope, family, version): the DEK wrapped by the provider, the
  id of the KEK that wrapped it, and its state: ``active`` (encrypts; one per scope and family),
  ``decrypt_only`` (during a rotation) or ``retired`` (wrapped key erased). No unwrapped key is ever
  stored; deleting a tenant cascades to its keys (crypto-shredding).
* :class:`KeyRing` is process-wide: it unwraps through the provider and caches unwrapped keys for at
  most one hour (``ttl_s``). The keys a unit of work may use are its **key view**, kept in
  ``session.info`` and filled by :func:`warm_keys`.

How services warm the cache
---------------------------
Loading an encrypted column decrypts it in an ORM ``load`` event, which cannot await. So a unit of work
that *reads* encrypted columns first calls ``await warm_keys(session, ctx.tenant_id)`` (and
``await warm_keys(session, None)`` for platform-owned data); routes may depend on
``huike.security.deps.WarmTenant`` instead of ``CurrentTenant`` to do it. Writing needs nothing: the
flush loads (and on first use creates) the keys of the scopes it writes. Reading a row whose keys
were not warmed raises :class:`KeysNotLoaded`, never an empty value.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import structlog
from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.util import await_

from huike.core.db import Base, utcnow
from huike.privacy.inventory import SYSTEM_TABLE, describe
from huike.security.crypto import KEY_BYTES
from huike.security.errors import KeyRingNotConfigured, KeysNotLoaded
from huike.security.kms import KeyProvider, WrappedKey

log = structlog.get_logger(__name__)

PLATFORM = "platform"
DEFAULT_TTL_S = 3600.0
_VIEW = "huike.key_view"


class KeyFamily(StrEnum):
    data = "data"  # AES-256-GCM field encryption
    blind_index = "index"  # HMAC-SHA256 blind indexes


class KeyState(StrEnum):
    active = "active"
    decrypt_only = "decrypt_only"
    retired = "retired"


def scope_of(tenant_id: uuid.UUID | None) -> str:
    return PLATFORM if tenant_id is None else str(tenant_id)


def tenant_of(scope: str) -> uuid.UUID | None:
    return None if scope == PLATFORM else uuid.UUID(scope)


class EncryptionKey(Base):
    """One wrapped data key of a scope and family. Never holds an unwrapped key."""

    __tablename__ = "encryption_keys"
    __table_args__ = (UniqueConstraint("scope", "family", "version"),)
    __inventory__ = SYSTEM_TABLE

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(36), info=describe("system.key.scope"))
    family: Mapped[str] = mapped_column(String(8), info=describe("system.key.family"))
    version: Mapped[int] = mapped_column(Integer, info=describe("system.key.version"))
    state: Mapped[str] = mapped_column(String(16), info=describe("system.status"))
    kek_id: Mapped[str] = mapped_column(String(200), info=describe("system.key.kek_reference"))
    wrapped: Mapped[bytes | None] = mapped_column(
        LargeBinary,
        info=describe("system.key.wrapped", notes="data key wrapped by the KEK; erased on retire"),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


class KeyRotation(Base):
    """A run of ``huike keys rotate``: which families, how far each table got, when it finished."""

    __tablename__ = "key_rotations"
    __inventory__ = SYSTEM_TABLE

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    families: Mapped[str] = mapped_column(String(32), info=describe("system.key.family"))
    status: Mapped[str] = mapped_column(String(16), info=describe("system.status"))
    cursor: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.progress", notes="last primary key done per table")
    )
    rows_rewritten: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.job.progress"))
    error: Mapped[str | None] = mapped_column(Text, info=describe("system.job.error"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


KEYS_TABLE = cast("Table", EncryptionKey.__table__)


def wrap_context(scope: str, family: str, version: int) -> dict[str, str]:
    """Bound to each wrapped key: a wrapped key moved to another row does not unwrap."""
    return {"purpose": "huike-dek", "scope": scope, "family": family, "version": str(version)}


@dataclass
class ScopeKeys:
    """The usable keys of one scope and family in a unit of work."""

    scope: str
    family: KeyFamily
    active: int | None
    keys: dict[int, bytes] = field(default_factory=dict)
    expires_at: float = 0.0

    def key(self, version: int) -> bytes | None:
        return self.keys.get(version)


class KeyRing:
    """Unwraps data keys through the provider and caches them for at most ``ttl_s`` (≤ 1 h)."""

    def __init__(
        self,
        provider: KeyProvider,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s > DEFAULT_TTL_S:
            raise ValueError("unwrapped data keys are cached for at most one hour")
        self.provider = provider
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[tuple[str, bytes], tuple[bytes, float]] = {}

    def clear(self) -> None:
        self._cache.clear()

    async def unwrap(self, scope: str, family: str, version: int, kek_id: str, blob: bytes) -> bytes:
        cache_key = (kek_id, hashlib.sha256(f"{scope}|{family}|{version}|".encode() + blob).digest())
        now = self.clock()
        hit = self._cache.get(cache_key)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = await self.provider.unwrap(WrappedKey(kek_id, blob), wrap_context(scope, family, version))
        self._cache[cache_key] = (key, now + self.ttl_s)
        return key

    async def new_key(self, scope: str, family: str, version: int) -> tuple[bytes, WrappedKey]:
        key = os.urandom(KEY_BYTES)
        wrapped = await self.provider.wrap(key, wrap_context(scope, family, version))
        cache_key = (
            wrapped.kek_id,
            hashlib.sha256(f"{scope}|{family}|{version}|".encode() + wrapped.blob).digest(),
        )
        self._cache[cache_key] = (key, self.clock() + self.ttl_s)
        return key, wrapped


_keyring: KeyRing | None = None


def set_keyring(keyring: KeyRing | None) -> None:
    """Install the process's key ring (app lifespan, worker, CLI, tests)."""
    global _keyring
    _keyring = keyring


def get_keyring() -> KeyRing:
    if _keyring is None:
        raise KeyRingNotConfigured()
    return _keyring


def configure_keys(settings: Any, *, provider: KeyProvider | None = None) -> KeyRing:
    """Build the key ring from settings (or ``provider``) and install it; returns it."""
    from huike.security.kms import provider_from_settings

    keyring = KeyRing(provider or provider_from_settings(settings))
    set_keyring(keyring)
    return keyring


# --- the key view of a unit of work --------------------------------------------------------------


def key_view(session: Session | AsyncSession) -> dict[tuple[str, str], ScopeKeys]:
    view: dict[tuple[str, str], ScopeKeys] = session.info.setdefault(_VIEW, {})
    return view


def forget_keys(session: Session | AsyncSession) -> None:
    """Drop the session's key view (after a rotation step, or to force a reload)."""
    session.info.pop(_VIEW, None)


def cached_scope_keys(session: Session, scope: str, family: KeyFamily) -> ScopeKeys | None:
    entry = key_view(session).get((scope, family))
    if entry is None or entry.expires_at <= get_keyring().clock():
        return None
    return entry


def require_scope_keys(session: Session, scope: str, family: KeyFamily) -> ScopeKeys:
    entry = cached_scope_keys(session, scope, family)
    if entry is None:
        raise KeysNotLoaded(scope=scope, family=str(family))
    return entry


def _dialect_insert_ignore(session: Session, values: dict[str, Any]) -> Any:
    table = KEYS_TABLE
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return (
            pg_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["scope", "family", "version"])
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (
        sqlite_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["scope", "family", "version"])
    )


def insert_key_version_sync(
    session: Session, scope: str, family: KeyFamily, version: int, state: KeyState
) -> None:
    """Create one key version (no-op if a concurrent transaction made it first). Inside a greenlet."""
    _, wrapped = await_(get_keyring().new_key(scope, family, version))
    session.execute(
        _dialect_insert_ignore(
            session,
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_of(scope),
                "scope": scope,
                "family": str(family),
                "version": version,
                "state": str(state),
                "kek_id": wrapped.kek_id,
                "wrapped": wrapped.blob,
                "created_at": utcnow(),
            },
        )
    )
    log.info("keys.version_created", scope=scope, family=str(family), version=version)


def load_scope_sync(
    session: Session, scope: str, families: Iterable[KeyFamily] = tuple(KeyFamily), *, create: bool = False
) -> dict[KeyFamily, ScopeKeys]:
    """Read a scope's live key rows, unwrap them (cached) and put them in the session's key view.

    Runs with the *sync* session inside the async session's greenlet (``run_sync`` or a flush event),
    so that the flush can load keys too. ``create`` makes version 1 of a family that has none.
    """
    keyring = get_keyring()
    table = KEYS_TABLE
    result: dict[KeyFamily, ScopeKeys] = {}
    with session.no_autoflush:
        for family in families:
            query = select(table.c.version, table.c.state, table.c.kek_id, table.c.wrapped).where(
                table.c.scope == scope, table.c.family == str(family), table.c.state != str(KeyState.retired)
            )
            rows = session.execute(query).all()
            if not rows and create:
                insert_key_version_sync(session, scope, family, 1, KeyState.active)
                rows = session.execute(query).all()
            entry = ScopeKeys(scope, family, None, expires_at=keyring.clock() + keyring.ttl_s)
            for version, state, kek_id, wrapped in rows:
                if wrapped is None:
                    continue
                entry.keys[version] = await_(keyring.unwrap(scope, str(family), version, kek_id, wrapped))
                if state == KeyState.active:
                    entry.active = version
            key_view(session)[(scope, family)] = entry
            result[family] = entry
    return result


async def warm_keys(
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    *,
    families: Iterable[KeyFamily] = tuple(KeyFamily),
    create: bool = False,
) -> None:
    """Load the keys of ``tenant_id`` (``None``: the platform) into the session's key view, so that rows
    of that scope decrypt as they load. Call it before querying encrypted columns."""
    scope = scope_of(tenant_id)
    wanted = tuple(families)
    await session.run_sync(lambda sync: load_scope_sync(sync, scope, wanted, create=create))


async def ensure_keys(session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
    """Create version 1 of both families for a scope if missing (e.g. when a tenant is created)."""
    await warm_keys(session, tenant_id, create=True)


def retire_sync(session: Session, family: KeyFamily) -> int:
    """Retire every decrypt-only key of a family: state retired, wrapped key erased."""
    table = KEYS_TABLE
    result = session.execute(
        update(table)
        .where(table.c.family == str(family), table.c.state == str(KeyState.decrypt_only))
        .values(state=str(KeyState.retired), wrapped=None, retired_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
