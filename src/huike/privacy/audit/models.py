"""Tables of the audit log and the database guard that keeps it append-only.

**One hash chain per tenant, plus one ``platform`` chain** for events without a tenant (failed logins
before the tenant is known, operator actions). Each row stores its chain, its position ``seq`` in it
(1, 2, 3, ... without gaps), the previous row's hash and its own hash over :func:`canonical` (every
stored column except ``hash``). Why per tenant rather than one global chain:

* writers serialise per chain (see ``service.record``): one global chain would make every audited
  transaction of every tenant wait for every other; per tenant they only wait for their own tenant;
* a tenant's chain can be handed to that tenant (export, dispute) and verified without anyone
  else's rows;
* the tenant list API pages on ``(chain, seq)``, an exact total order, with the chain's unique index.

``audit_chain_heads`` holds, per chain, the last ``seq`` and hash (so deleting the newest rows is
detected too) and an *anchor*: the ``seq`` and hash the chain starts after. The anchor is
``(0, GENESIS)`` until retention purges a chain's oldest rows; the purge moves it forward in the
same transaction, so ``huike audit verify`` still checks the rest.

**Append-only.** :func:`install_audit_guard` creates triggers that refuse UPDATE (always) and DELETE
(on PostgreSQL unless the transaction ran ``SET LOCAL huike.audit_retention = 'on'``, the retention
path of R-RET-2; on SQLite always: a purge there drops and recreates the trigger inside its own
transaction, which SQLite's transactional DDL makes atomic). TRUNCATE is refused on PostgreSQL. The
Alembic migration calls it after creating the tables; tests call it after ``create_all``. The
triggers stop mistakes in application code; the database roles of F4 (the app may only INSERT and
SELECT) are the control against a person with SQL access.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.privacy.inventory import (
    SYSTEM_TABLE,
    Erasure,
    LegalBasis,
    Owner,
    Purpose,
    Retention,
    Subject,
    SubjectKey,
    TableInventory,
    describe,
)

GENESIS = "0" * 64
PLATFORM_CHAIN = "platform"
HASH_FORMAT = 1  # part of the canonical form; a new form gets a new number


class ActorType(StrEnum):
    user = "user"  # a platform account holder (授权用户)
    member = "member"  # a WeCom member of a customer's corp
    system = "system"  # a job, a callback, the platform itself
    operator = "operator"  # platform staff


class AuditResult(StrEnum):
    success = "success"
    failure = "failure"
    denied = "denied"


AUDIT_PURPOSE = Purpose("security.audit", LegalBasis.legal_duty)
NETWORK_LOG = (
    "§四（二）1a / Cybersecurity Law art. 21: network logs kept ≥ 6 months; stored as given, because "
    "a truncated address could not answer the question the log is kept for"
)


class AuditEvent(Base):
    """Who did what to which object, with what result. Never UPDATEd; see the module docstring."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_events_chain_action", "chain", "action", "seq"),
        Index("ix_audit_events_chain_actor", "chain", "actor_id", "seq"),
        Index("ix_audit_events_chain_object", "chain", "object_type", "object_id", "seq"),
        Index("ix_audit_events_chain_occurred", "chain", "occurred_at"),
    )
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(AUDIT_PURPOSE,),
        # R-RET-2: at least 6 calendar months, 12 by default; purged by the retention path only
        retention=Retention("created", 366, Erasure.delete_row),
        # pseudonymous rows survive the subject's erasure (R-RET-2) and are purged by retention
        erasure=Erasure.pseudonymise_under_hold,
        subject_key="actor_id",
        subject_keys=(
            SubjectKey(
                Subject.account_holder,
                "actor_pseudonym",
                how="blind index or HMAC (audit.service.hmac_pseudonym) of the E.164 phone",
            ),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # not a foreign key: the trail outlives the tenant's rows (and a cascade would hit the guard)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    chain: Mapped[str] = mapped_column(
        String(36), info=describe("system.audit.chain", notes="the tenant id, or 'platform'")
    )
    seq: Mapped[int] = mapped_column(BigInteger, info=describe("system.audit.sequence"))
    occurred_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    actor_type: Mapped[str] = mapped_column(String(16), info=describe("system.audit.actor_type"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("user.unique_id", personal=True, notes="an internal id, never a phone or name")
    )
    actor_pseudonym: Mapped[str | None] = mapped_column(
        String(100),
        info=describe(
            "user.pseudonym",
            personal=True,
            notes="HMAC of an identifier when no internal id exists (a failed login's phone)",
        ),
    )
    action: Mapped[str] = mapped_column(String(100), info=describe("system.audit.action"))
    object_type: Mapped[str] = mapped_column(String(50), info=describe("system.audit.object_type"))
    object_id: Mapped[str | None] = mapped_column(
        String(64),
        info=describe(
            "system.audit.object_reference",
            personal=True,
            notes="an internal id; may point at a person's row, so treated as a pseudonym",
        ),
    )
    result: Mapped[str] = mapped_column(String(16), info=describe("system.audit.result"))
    ip: Mapped[str | None] = mapped_column(
        String(45), info=describe("user.device.ip_address", personal=True, notes=NETWORK_LOG)
    )
    ip_region: Mapped[str | None] = mapped_column(
        String(100), info=describe("user.location.ip_region", personal=True)
    )
    user_agent_hash: Mapped[str | None] = mapped_column(
        String(64), info=describe("user.device.user_agent_hash", personal=True, notes="SHA-256 hex")
    )
    request_id: Mapped[str | None] = mapped_column(String(64), info=describe("system.request_id"))
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict,
        info=describe(
            "system.audit.details",
            notes="validated on write: no phone, e-mail, denylisted key or field value (service.py)",
        ),
    )
    prev_hash: Mapped[str] = mapped_column(String(64), info=describe("system.integrity.hash"))
    hash: Mapped[str] = mapped_column(String(64), info=describe("system.integrity.hash"))

    def canonical_fields(self) -> dict[str, Any]:
        return {
            "v": HASH_FORMAT,
            "id": str(self.id),
            "tenant_id": str(self.tenant_id) if self.tenant_id else None,
            "chain": self.chain,
            "seq": self.seq,
            "occurred_at": _iso(self.occurred_at),
            "actor_type": self.actor_type,
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "actor_pseudonym": self.actor_pseudonym,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "result": self.result,
            "ip": self.ip,
            "ip_region": self.ip_region,
            "user_agent_hash": self.user_agent_hash,
            "request_id": self.request_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical(self.canonical_fields())).hexdigest()


class AuditChainHead(Base):
    """The newest link of each chain (locked by writers) and the anchor it starts after."""

    __tablename__ = "audit_chain_heads"
    __inventory__ = SYSTEM_TABLE

    chain: Mapped[str] = mapped_column(String(36), primary_key=True, info=describe("system.audit.chain"))
    last_seq: Mapped[int] = mapped_column(BigInteger, info=describe("system.audit.sequence"))
    last_hash: Mapped[str] = mapped_column(String(64), info=describe("system.integrity.hash"))
    anchor_seq: Mapped[int] = mapped_column(BigInteger, info=describe("system.audit.sequence"))
    anchor_hash: Mapped[str] = mapped_column(String(64), info=describe("system.integrity.hash"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes on both databases after a round trip."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# --- the append-only guard ------------------------------------------------------------------------

RETENTION_SETTING = "huike.audit_retention"

_PG_GUARD = [
    f"""
    CREATE OR REPLACE FUNCTION huike_audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND coalesce(current_setting('{RETENTION_SETTING}', true), '') = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION huike_audit_events_guard()
    """,
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION huike_audit_events_guard()
    """,
]

_SQLITE_GUARD = [
    """
    CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END
    """,
]

_PG_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP FUNCTION IF EXISTS huike_audit_events_guard()",
]

_SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
]


def install_audit_guard(connection: Connection) -> None:
    """Create the triggers that keep ``audit_events`` append-only (idempotent).

    Call it from the migration (``install_audit_guard(op.get_bind())``) and, in tests, after
    ``create_all`` (``await conn.run_sync(install_audit_guard)``).
    """
    statements = _PG_GUARD if connection.dialect.name == "postgresql" else _SQLITE_GUARD
    for statement in statements:
        connection.execute(text(statement))


def drop_audit_guard(connection: Connection) -> None:
    """The migration's downgrade (and tests that tamper with rows on purpose)."""
    statements = _PG_UNGUARD if connection.dialect.name == "postgresql" else _SQLITE_UNGUARD
    for statement in statements:
        connection.execute(text(statement))
