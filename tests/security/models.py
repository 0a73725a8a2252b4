"""Test-only models with encrypted columns, in their own MetaData (never part of the real schema)."""

from __future__ import annotations

import uuid

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from huike.core.db import NAMING_CONVENTION
from huike.privacy.inventory import Subject, describe
from huike.security.blind_index import blind_index_column
from huike.security.fields import encrypted_column, secret_column


class SecretBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SecretContact(SecretBase):
    """A tenant-owned row: encrypted under the tenant's keys, blind index per tenant."""

    __tablename__ = "test_secret_contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(50), default="", info=describe("system.label"))
    phone: Mapped[str | None] = encrypted_column(
        "user.contact.phone_number", subject=Subject.external_contact
    )
    phone_index: Mapped[str | None] = blind_index_column("phone")
    note: Mapped[str | None] = encrypted_column("user.content.note", subject=Subject.external_contact)


class SecretAccount(SecretBase):
    """A platform-owned row (no tenant): platform keys, platform-wide blind index."""

    __tablename__ = "test_secret_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    phone: Mapped[str | None] = encrypted_column("user.contact.phone_number", subject=Subject.account_holder)
    phone_index: Mapped[str | None] = blind_index_column("phone", unique=True)
    api_secret: Mapped[str | None] = secret_column("system.credentials.api_secret")
