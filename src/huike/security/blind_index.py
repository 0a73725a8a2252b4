"""HMAC-SHA256 blind indexes (F3): equality lookups on encrypted values without decrypting.

The value is normalised first (phones to E.164, mainland numbers default to +86), then
``v{version}:{hex(HMAC-SHA256(index_key, kind|normalised))}`` is stored beside the ciphertext. The
index keys are their own versioned family (``KeyFamily.blind_index``), platform-wide for platform tables
(account phones: login comes before the tenant is known) and per tenant for tenant tables (member
and contact phones). Low-cardinality fields (gender, status, …) must never get a blind index.

A lookup matches every live index version, so it keeps working while ``huike keys rotate --index``
rewrites the column.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, String, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, MappedColumn, mapped_column

from huike.privacy.inventory import Purpose, Subject, describe
from huike.security.errors import InvalidPhoneNumber
from huike.security.keys import KeyFamily, ScopeKeys, cached_scope_keys, scope_of, warm_keys

BLIND_INDEX_INFO = "huike.blind_index"


class KeyScope(StrEnum):
    """Which key family instance a column uses. ``None`` in a column means: tenant when the table has a
    ``tenant_id`` (and the row's is set), platform otherwise."""

    tenant = "tenant"
    platform = "platform"


def normalise_phone(value: str, default_region: str = "CN") -> str:
    """E.164 (``+8613800138000``) from ``+86 138…``, ``138 …``, ``0086…``, dashes and spaces.

    Raises :class:`InvalidPhoneNumber` for anything that is not a valid number.
    """
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber() from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def normalise_text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


NORMALISERS: dict[str, Callable[[str], str]] = {
    "phone": normalise_phone,
    "email": normalise_email,
    "text": normalise_text,
}

_CATEGORIES = {
    "phone": "user.contact.phone_number",
    "email": "user.contact.email",
}


@dataclass(frozen=True, slots=True)
class BlindIndexSpec:
    source: str  # attribute key of the encrypted column it indexes
    kind: str  # normaliser name
    scope: KeyScope | None

    def normalise(self, value: str) -> str:
        return NORMALISERS[self.kind](value)


def compute(key: bytes, version: int, kind: str, normalised: str) -> str:
    digest = hmac.new(key, f"{kind}|{normalised}".encode(), hashlib.sha256).hexdigest()
    return f"v{version}:{digest}"


def index_value(keys: ScopeKeys, spec: BlindIndexSpec, plaintext: str) -> str:
    """The stored index of ``plaintext`` under the scope's active index key."""
    if keys.active is None:
        raise ValueError("scope has no active index key")
    return compute(keys.keys[keys.active], keys.active, spec.kind, spec.normalise(plaintext))


def blind_index_column(
    source: str,
    *,
    kind: str = "phone",
    category: str | None = None,
    subject: Subject | None = None,
    scope: KeyScope | None = None,
    unique: bool = False,
    name: str | None = None,
    purposes: tuple[Purpose, ...] | None = None,
) -> MappedColumn[Any]:
    """A column holding the blind index of the encrypted attribute ``source``; the flush keeps it in
    step with it. Indexed; ``unique`` only within one index version (see the ADR). ``purposes``: as
    the source column's, when they are narrower than the table's.

    Example::

        phone: Mapped[str | None] = encrypted_column("user.contact.phone_number", subject=Subject.member)
        phone_index: Mapped[str | None] = blind_index_column("phone")
    """
    if kind not in NORMALISERS:
        raise ValueError(f"unknown blind index kind {kind!r}; one of {sorted(NORMALISERS)}")
    info = describe(
        f"{category or _CATEGORIES.get(kind, 'user.derived')}.blind_index",
        personal=True,
        subject=subject,
        purposes=purposes,
        notes=f"keyed HMAC-SHA256 of the normalised {source}; pseudonymous, for equality lookups only",
    )
    info[BLIND_INDEX_INFO] = BlindIndexSpec(source=source, kind=kind, scope=scope)
    return mapped_column(name, String(80), index=not unique, unique=unique, nullable=True, info=info)


def spec_of(attr: InstrumentedAttribute[Any]) -> BlindIndexSpec:
    column = attr.property.columns[0]
    spec = column.info.get(BLIND_INDEX_INFO)
    if not isinstance(spec, BlindIndexSpec):
        raise TypeError(f"{attr} is not a blind_index_column")
    return spec


def _lookup_scope(attr: InstrumentedAttribute[Any], spec: BlindIndexSpec, tenant_id: uuid.UUID | None) -> str:
    table = attr.property.columns[0].table
    platform = spec.scope == KeyScope.platform or (spec.scope is None and "tenant_id" not in table.c)
    if platform:
        return scope_of(None)
    if tenant_id is None:
        raise ValueError(f"{attr} is indexed per tenant: pass tenant_id")
    return scope_of(tenant_id)


async def blind_index_terms(
    session: AsyncSession, attr: InstrumentedAttribute[Any], value: str, *, tenant_id: uuid.UUID | None = None
) -> list[str]:
    """The index values ``value`` has under every live key version of the column's scope (warms keys)."""
    spec = spec_of(attr)
    normalised = spec.normalise(value)
    scope = _lookup_scope(attr, spec, tenant_id)
    keys = cached_scope_keys(session.sync_session, scope, KeyFamily.blind_index)
    if keys is None:
        await warm_keys(
            session, None if scope == "platform" else uuid.UUID(scope), families=(KeyFamily.blind_index,)
        )
        keys = cached_scope_keys(session.sync_session, scope, KeyFamily.blind_index)
    if keys is None:  # pragma: no cover - warm_keys always fills the view
        return []
    return [compute(key, version, spec.kind, normalised) for version, key in sorted(keys.keys.items())]


async def blind_index_match(
    session: AsyncSession, attr: InstrumentedAttribute[Any], value: str, *, tenant_id: uuid.UUID | None = None
) -> ColumnElement[bool]:
    """A WHERE clause matching rows whose ``attr`` indexes ``value``; the lookup helper.

    ``select(Member).where(Member.tenant_id == t, await blind_index_match(s, Member.phone_index, "138…",
    tenant_id=t))``. Raises :class:`InvalidPhoneNumber` for a phone that does not normalise.
    """
    terms = await blind_index_terms(session, attr, value, tenant_id=tenant_id)
    if not terms:
        return false()
    return attr.in_(terms)
