"""Tag groups and tags as WeCom has them, plus what Huike knows about who made them.

Order tolerance: ``synced_at`` is when the state a row holds was *read from* (or accepted by) WeCom.
A writer that read WeCom earlier than a row's ``synced_at`` leaves the row alone, so a late event, a
slow sync or a retried job never puts older state over newer state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.core.tenancy import TenantScoped
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe

MAX_NAME = 30  # WeCom: names of groups and tags have at most 30 characters
MAX_TAGS = 3000  # WeCom: at most 3000 tags per corp


class TagOwner(StrEnum):
    """Who created a group or tag, as far as anyone told us. WeCom's API does not say who created a tag.

    * ``huike``: created through Huike with Huike's app (``created_by`` is the Huike user, a member or an
      admin). WeCom lets Huike's app edit and delete it.
    * ``wecom_console``: first heard of through a change_external_tag event, which WeCom sends only for
      actions of people in the admin console or the WeCom client. Huike's app may not edit it (48002).
    * ``unknown``: first seen in a sync: the admin console, a member's client or another app.
    """

    huike = "huike"
    wecom_console = "wecom_console"
    unknown = "unknown"


_INVENTORY = TableInventory(
    subject=Subject.account_holder,
    owner=Owner.customer,
    purposes=(Purpose("scrm.sync"),),
    retention=Retention("tenant_terminated", 30, Erasure.delete_row),
    erasure=Erasure.delete_row,
    subject_key="created_by",
    notes="the corp's tag catalogue; the only personal column is the Huike user who created the row",
)


class TagGroup(TenantScoped, Base):
    __tablename__ = "tag_groups"
    __table_args__ = (
        UniqueConstraint("tenant_id", "wecom_id"),
        Index("ix_tag_groups_tenant_live", "tenant_id", "deleted"),
    )
    __inventory__ = _INVENTORY

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    wecom_id: Mapped[str | None] = mapped_column(
        String(64),
        info=describe("system.reference", notes="WeCom's group_id; null while a create is pending"),
    )
    name: Mapped[str] = mapped_column(String(64), info=describe("customer_data.external_contact.tag"))
    order: Mapped[int] = mapped_column(
        "sort_order", BigInteger, default=0, info=describe("system.counter", notes="larger first")
    )
    wecom_created_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, info=describe("system.flag"))
    deleted_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    owner: Mapped[str] = mapped_column(String(16), default=TagOwner.unknown, info=describe("system.status"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        info=describe(
            "user.unique_id", personal=True, erasure=Erasure.null, notes="set when created in Huike"
        )
    )
    version: Mapped[int] = mapped_column(Integer, default=1, info=describe("system.version"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Tag(TenantScoped, Base):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "wecom_id"),
        Index("ix_tags_tenant_live", "tenant_id", "deleted"),
    )
    __inventory__ = _INVENTORY

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tag_groups.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    wecom_id: Mapped[str | None] = mapped_column(
        String(64), info=describe("system.reference", notes="WeCom's tag id; null while a create is pending")
    )
    name: Mapped[str] = mapped_column(String(64), info=describe("customer_data.external_contact.tag"))
    order: Mapped[int] = mapped_column(
        "sort_order", BigInteger, default=0, info=describe("system.counter", notes="larger first")
    )
    wecom_created_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, info=describe("system.flag"))
    deleted_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    owner: Mapped[str] = mapped_column(String(16), default=TagOwner.unknown, info=describe("system.status"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        info=describe(
            "user.unique_id", personal=True, erasure=Erasure.null, notes="set when created in Huike"
        )
    )
    version: Mapped[int] = mapped_column(Integer, default=1, info=describe("system.version"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
