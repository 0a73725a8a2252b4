"""A tenant's connection to its WeCom corp, and the inbox of events WeCom sent us."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.core.tenancy import TenantScoped
from huike.privacy.inventory import (
    Erasure,
    JsonPath,
    Owner,
    Purpose,
    Retention,
    Subject,
    SubjectKey,
    TableInventory,
    describe,
)
from huike.security.fields import secret_column


class InboxStatus(StrEnum):
    received = "received"
    processed = "processed"
    ignored = "ignored"  # no handler wants it (yet)
    failed = "failed"


class InboxEvent(TenantScoped, Base):
    """One callback as WeCom sent it (decrypted and parsed), stored before we answer WeCom.

    The dedupe key makes retries and duplicates land on the same row; processing is a job."""

    __tablename__ = "wecom_inbox_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_wecom_inbox_events_status", "status", "received_at"),
    )
    __inventory__ = TableInventory(
        subject=Subject.external_contact,
        owner=Owner.customer,
        purposes=(Purpose("scrm.sync"),),
        retention=Retention("created", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="payload.ExternalUserID",
        subject_keys=(
            SubjectKey(Subject.member, "payload.UserID"),
            SubjectKey(Subject.member, "payload.NewUserID"),
            SubjectKey(Subject.member, "payload.FromUserName"),
            SubjectKey(Subject.member, "payload.MemChangeList"),
            SubjectKey(Subject.external_contact, "payload.MemChangeList"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dedupe_key: Mapped[str] = mapped_column(String(64), info=describe("system.event.dedupe_key"))
    event: Mapped[str] = mapped_column(String(64), info=describe("system.event.type"))
    change_type: Mapped[str] = mapped_column(String(64), info=describe("system.event.type"))
    event_time: Mapped[int] = mapped_column(Integer, info=describe("system.timestamp"))
    payload: Mapped[dict[str, Any]] = mapped_column(
        info=describe(
            "customer_data.wecom_event",
            personal=True,
            notes="ids of members, customers and groups, State, WelcomeCode; no names or phones",
            json_paths={
                "ExternalUserID": JsonPath(
                    "customer_data.external_contact.external_userid", (Subject.external_contact,)
                ),
                "UserID": JsonPath("user.wecom.account", (Subject.member,)),
                "NewUserID": JsonPath("user.wecom.account", (Subject.member,), notes="after a UserID change"),
                "FromUserName": JsonPath(
                    "user.wecom.account", (Subject.member,), notes="a member's UserID, or 'sys'"
                ),
                "MemChangeList": JsonPath(
                    "customer_data.group.member_ids",
                    (Subject.member, Subject.external_contact),
                    notes="UserIDs and ExternalUserIDs that joined or left a customer group",
                ),
            },
        )
    )
    status: Mapped[str] = mapped_column(
        String(16), default=InboxStatus.received, info=describe("system.status")
    )
    error: Mapped[str | None] = mapped_column(Text, info=describe("system.job.error"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    processed_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


class ConnectionStatus(StrEnum):
    pending = "pending"  # saved, not yet verified
    connected = "connected"  # both secrets fetched a token
    failed = "failed"  # the last verification failed (see last_error_code)


class WeComConnection(TenantScoped, Base):
    """A tenant's self-built app in its WeCom corp. Secrets are encrypted and never leave the API."""

    __tablename__ = "wecom_connections"
    __table_args__ = (UniqueConstraint("tenant_id"), UniqueConstraint("callback_key"))
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(Purpose("scrm.wecom_connection"),),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    corp_id: Mapped[str] = mapped_column(String(64), info=describe("organization.wecom.corp_id"))
    agent_id: Mapped[int] = mapped_column(Integer, info=describe("organization.wecom.agent_id"))
    app_secret: Mapped[str] = secret_column("system.wecom_credentials.app_secret")
    contact_secret: Mapped[str] = secret_column("system.wecom_credentials.contact_secret")
    callback_token: Mapped[str] = secret_column("system.wecom_credentials.callback_token")
    encoding_aes_key: Mapped[str] = secret_column("system.wecom_credentials.encoding_aes_key")
    callback_key: Mapped[str] = mapped_column(
        String(32),
        info=describe("system.wecom.callback_key", notes="public: the last part of the callback URL"),
    )
    status: Mapped[str] = mapped_column(
        String(16), default=ConnectionStatus.pending, info=describe("system.status")
    )
    last_error_code: Mapped[str | None] = mapped_column(String(64), info=describe("system.error_code"))
    verified_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    callback_verified_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
