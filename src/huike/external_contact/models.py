"""Customers (external contacts, 外部联系人) as Huike keeps them.

What is kept (policy §一（二）5.2: 外部联系人客户和外部联系人客户列表、昵称、备注、标签信息):

* the customer: ExternalUserID (an identifier, stored plain: every lookup and callback uses it), the
  nickname (``name``, encrypted), the customer type (WeChat / WeCom user: which list the customer is on)
  and, for WeCom users, the short corp name that WeCom shows as part of their name (``张三@腾讯``;
  encrypted);
* each follow relation (a member who added the customer): the member's remark, description, remark
  corp name and remark mobiles (备注, all encrypted; mobiles also blind-indexed for lookups), how and
  when the customer was added (add_way, createtime, the channel ``state``, the operator's id), its
  corp tags (标签) and its status;
* a timeline of ids and codes only (no values), and lost-customer alerts.

Dropped, because 5.2 does not allow them: avatar, gender, unionid, position, corp_full_name and
external_profile (the gender filter of the issue is therefore not offered), and personal tags
(batch/get_by_user only returns corp and strategy tags anyway).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
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
from huike.security.blind_index import NORMALISERS, blind_index_column, normalise_phone
from huike.security.errors import InvalidPhoneNumber
from huike.security.fields import encrypted_column

SCRM = Purpose("scrm.sync")
EC = Subject.external_contact


def _lenient_phone(value: str) -> str:
    """Remark mobiles are whatever the member typed: E.164 when it is a valid number, else its digits."""
    try:
        return normalise_phone(value)
    except InvalidPhoneNumber:
        return "".join(ch for ch in value if ch.isdigit() or ch == "+") or value.strip()


NORMALISERS.setdefault("remark_phone", _lenient_phone)


def _inventory(subject_key: str, notes: str = "", *keys: SubjectKey) -> TableInventory:
    return TableInventory(
        subject=EC,
        owner=Owner.customer,
        purposes=(SCRM,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key=subject_key,
        subject_keys=keys,
        notes=notes,
    )


class ContactType(StrEnum):
    wechat = "wechat"  # WeCom type 1
    wecom = "wecom"  # WeCom type 2

    @classmethod
    def from_wecom(cls, value: int) -> ContactType:
        return cls.wecom if value == 2 else cls.wechat


class ContactStatus(StrEnum):
    """Of the customer as a whole: ``active`` while some relation is, ``lost`` when none is and one
    ended by a deletion (customer or member), ``gone`` when the relations ended otherwise."""

    active = "active"
    lost = "lost"
    gone = "gone"


class RelationStatus(StrEnum):
    active = "active"
    customer_deleted_member = "customer_deleted_member"  # del_follow_user (one-way relation remains)
    member_deleted_customer = "member_deleted_customer"  # del_external_contact
    transferred = "transferred"  # del_external_contact with Source=DELETE_BY_TRANSFER: not lost
    removed = "removed"  # no longer listed by a complete sync, cause unknown


LOST_STATUSES = frozenset({RelationStatus.customer_deleted_member, RelationStatus.member_deleted_customer})
# relations WeCom still lets the member act on (remark, mark_tag)
LIVE_STATUSES = frozenset({RelationStatus.active, RelationStatus.customer_deleted_member})


class EventKind(StrEnum):
    added = "added"
    tagged = "tagged"
    untagged = "untagged"
    remark_changed = "remark_changed"
    deleted_by_member = "deleted_by_member"
    deleted_by_customer = "deleted_by_customer"
    transferred = "transferred"
    transfer_failed = "transfer_failed"
    removed = "removed"
    lost = "lost"


class ExternalContact(TenantScoped, Base):
    __tablename__ = "external_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_userid"),
        Index("ix_external_contacts_tenant_added", "tenant_id", "added_at", "id"),
        Index("ix_external_contacts_tenant_status_added", "tenant_id", "status", "added_at", "id"),
        Index("ix_external_contacts_tenant_type_added", "tenant_id", "contact_type", "added_at", "id"),
    )
    __inventory__ = _inventory("external_userid")

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    external_userid: Mapped[str] = mapped_column(
        String(64),
        info=describe(
            "customer_data.external_contact.external_userid", personal=True, notes="an identifier: plain"
        ),
    )
    name: Mapped[str | None] = encrypted_column(
        "customer_data.external_contact.nickname", subject=EC, notes="昵称 (§一（二）5.2)"
    )
    corp_name: Mapped[str | None] = encrypted_column(
        "customer_data.external_contact.nickname",
        subject=EC,
        notes="WeCom users only: the short corp name WeCom shows with the name (张三@企业)",
    )
    contact_type: Mapped[str] = mapped_column(
        String(8), default=ContactType.wechat, info=describe("system.status", notes="WeChat or WeCom user")
    )
    status: Mapped[str] = mapped_column(
        String(8), default=ContactStatus.active, info=describe("system.status")
    )
    added_at: Mapped[datetime] = mapped_column(
        info=describe("system.timestamp", notes="earliest createtime of its follow relations")
    )
    lost_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    content_hash: Mapped[str] = mapped_column(
        String(64), default="", info=describe("system.integrity.hash", notes="of what WeCom said last")
    )
    keywords_hash: Mapped[str] = mapped_column(
        String(64), default="", info=describe("system.integrity.hash", notes="of the indexed texts")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FollowRelation(TenantScoped, Base):
    """A member × customer relationship (WeCom's follow_user / follow_info)."""

    __tablename__ = "external_contact_follows"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", "member_userid"),
        # the list's order after the member: a member's customers stream out newest first
        Index(
            "ix_external_contact_follows_member_added",
            "tenant_id",
            "member_id",
            "contact_added_at",
            "contact_id",
        ),
        Index("ix_external_contact_follows_state", "tenant_id", "state", "contact_id"),
        Index("ix_external_contact_follows_add_way", "tenant_id", "add_way", "contact_id"),
        Index("ix_external_contact_follows_userid", "tenant_id", "member_userid"),
        Index("ix_external_contact_follows_seen", "tenant_id", "seen_run"),
    )
    __inventory__ = _inventory(
        "contact_id",
        "",
        SubjectKey(Subject.member, "member_userid"),
        SubjectKey(Subject.member, "member_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contacts.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    member_userid: Mapped[str] = mapped_column(
        String(64),
        info=describe("user.wecom.account", personal=True, subject=Subject.member, notes="the member"),
    )
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"),
        info=describe("system.reference", notes="the member's row once synced"),
    )
    remark: Mapped[str | None] = encrypted_column("customer_data.external_contact.remark", subject=EC)
    description: Mapped[str | None] = encrypted_column("customer_data.external_contact.remark", subject=EC)
    remark_corp_name: Mapped[str | None] = encrypted_column(
        "customer_data.external_contact.remark", subject=EC
    )
    add_way: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.status"))
    state: Mapped[str | None] = mapped_column(
        String(64), info=describe("system.reference", notes="the 「联系我」 state (channel) of the add")
    )
    oper_userid: Mapped[str | None] = mapped_column(
        String(64),
        info=describe(
            "customer_data.external_contact.external_userid",
            personal=True,
            notes="who initiated the add: the member's UserID or the customer's ExternalUserID",
        ),
    )
    added_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp", notes="createtime"))
    contact_added_at: Mapped[datetime] = mapped_column(
        info=describe(
            "system.timestamp",
            notes="the customer's added_at repeated (the list's order on the member filter's index)",
        )
    )
    status: Mapped[str] = mapped_column(
        String(24), default=RelationStatus.active, info=describe("system.status")
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    wecom_event_time: Mapped[int] = mapped_column(
        BigInteger, default=0, info=describe("system.timestamp", notes="CreateTime of the last event applied")
    )
    content_hash: Mapped[str] = mapped_column(
        String(64), default="", info=describe("system.integrity.hash", notes="of what WeCom said last")
    )
    seen_run: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("system.reference", notes="the last full sync that listed it")
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(
        info=describe("system.timestamp", notes="last read from WeCom (sync or callback)")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RemarkMobile(TenantScoped, Base):
    """One of a relation's remark mobiles (备注手机号), encrypted, with a blind index for lookups."""

    __tablename__ = "external_contact_mobiles"
    __table_args__ = (Index("ix_external_contact_mobiles_follow", "tenant_id", "follow_id"),)
    __inventory__ = _inventory("follow_id")

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    follow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contact_follows.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    position: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    mobile: Mapped[str | None] = encrypted_column(
        "user.contact.phone_number", subject=EC, notes="a remark mobile the member keeps (备注)"
    )
    mobile_index: Mapped[str | None] = blind_index_column(
        "mobile", kind="remark_phone", category="user.contact.phone_number", subject=EC
    )


class ContactTag(TenantScoped, Base):
    """A corp tag on a follow relation (the contact id and its ``added_at`` repeated for the list's
    tag filters: a tag's customers stream out of ``ix_external_contact_tags_tag_added`` in the list's
    order)."""

    __tablename__ = "external_contact_tags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "follow_id", "tag_id"),
        Index("ix_external_contact_tags_tag_added", "tenant_id", "tag_id", "contact_added_at", "contact_id"),
        # tag_id too: the list probes a customer's tags in its own order from this index alone
        Index("ix_external_contact_tags_contact", "tenant_id", "contact_id", "tag_id"),
    )
    __inventory__ = _inventory("contact_id")

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    follow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contact_follows.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contacts.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), info=describe("customer_data.external_contact.tag")
    )
    contact_added_at: Mapped[datetime] = mapped_column(
        info=describe("system.timestamp", notes="the customer's added_at repeated (the list's order)")
    )


class ContactEvent(TenantScoped, Base):
    """The customer's timeline: what happened, to which relation, by whose hand: ids and codes only."""

    __tablename__ = "external_contact_events"
    __table_args__ = (Index("ix_external_contact_events_contact", "tenant_id", "contact_id", "occurred_at"),)
    __inventory__ = _inventory("contact_id", "", SubjectKey(Subject.account_holder, "actor_user_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contacts.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    follow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("external_contact_follows.id", ondelete="SET NULL"), info=describe("system.reference")
    )
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), info=describe("system.reference")
    )
    kind: Mapped[str] = mapped_column(String(24), info=describe("system.audit.action"))
    tag_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tags.id", ondelete="SET NULL"), info=describe("system.reference")
    )
    source: Mapped[str] = mapped_column(
        String(16), default="sync", info=describe("system.status", notes="sync, callback, api or job")
    )
    reason: Mapped[str | None] = mapped_column(
        String(32), info=describe("system.error_code", notes="a code such as customer_refused")
    )
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("user.unique_id", personal=True, subject=Subject.account_holder, erasure=Erasure.null)
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeywordToken(TenantScoped, Base):
    """The keyword index: keyed HMACs (the tenant's blind-index key) of the normalised characters and
    character pairs of a customer's name, corp name and remarks. See ``service`` for the design."""

    __tablename__ = "external_contact_keywords"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "token", "contact_id"),
        Index("ix_external_contact_keywords_contact", "tenant_id", "contact_id"),
    )
    __inventory__ = _inventory("contact_id", "pseudonymous tokens; not reversible without the key")

    token: Mapped[str] = mapped_column(
        String(32),
        info=describe(
            "user.pseudonym",
            personal=True,
            subject=EC,
            notes="truncated HMAC-SHA256 of a 1- or 2-character gram",
        ),
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contacts.id", ondelete="CASCADE"), info=describe("system.reference")
    )


class SyncPhase(StrEnum):
    listing = "listing"
    pages = "pages"
    reconcile = "reconcile"
    done = "done"


class ContactSyncState(TenantScoped, Base):
    """Where the tenant's full customer sync is, so a retried job resumes at its last checkpoint."""

    __tablename__ = "external_contact_sync_states"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.customer,
        purposes=(SCRM,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="followers.userids",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(info=describe("system.reference", notes="the job's id"))
    phase: Mapped[str] = mapped_column(String(16), info=describe("system.status"))
    followers: Mapped[dict[str, Any]] = mapped_column(
        default=dict,
        info=describe(
            "user.wecom.account",
            personal=True,
            subject=Subject.member,
            notes="{'userids': [...]}: members with customer contact, for this run",
            json_paths={"userids": JsonPath("user.wecom.account", (Subject.member,))},
        ),
    )
    chunk: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    cursor: Mapped[str] = mapped_column(
        String(512), default="", info=describe("system.reference", notes="WeCom's cursor")
    )
    stats: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.result", notes="counts only")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BulkTagOperation(TenantScoped, Base):
    """A bulk tag/untag of a filtered selection: its filters (the keyword encrypted), the tags, and
    where the job is, so a retry resumes after the last committed page."""

    __tablename__ = "external_contact_bulk_tags"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.customer,
        purposes=(SCRM,),
        retention=Retention("created", 180, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="created_by",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), info=describe("system.reference")
    )
    filters: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.arguments", notes="ids, codes and dates; no keyword")
    )
    keyword: Mapped[str | None] = encrypted_column(
        "customer_data.external_contact.nickname",
        subject=Subject.account_holder,
        notes="the keyword the user filtered by, if any",
    )
    tags: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.arguments", notes="{'add': [tag ids], 'remove': [...]}")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("user.unique_id", personal=True, erasure=Erasure.null)
    )
    cursor: Mapped[str] = mapped_column(String(512), default="", info=describe("system.reference"))
    stats: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.result", notes="counts and failed ids with error codes")
    )
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertKind(StrEnum):
    customer_lost = "customer_lost"


class Alert(TenantScoped, Base):
    """A notice for one user (the member's linked account, or an admin): a customer was lost."""

    __tablename__ = "external_contact_alerts"
    __table_args__ = (
        Index("ix_external_contact_alerts_user", "tenant_id", "user_id", "created_at", "id"),
        UniqueConstraint("tenant_id", "user_id", "follow_id", "event_time"),
    )
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.customer,
        purposes=(SCRM,),
        retention=Retention("created", 180, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
        subject_keys=(SubjectKey(EC, "contact_id"),),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"),
        info=describe("user.unique_id", personal=True, notes="the recipient"),
    )
    kind: Mapped[str] = mapped_column(String(24), info=describe("system.status"))
    reason: Mapped[str] = mapped_column(String(32), info=describe("system.status"))
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contacts.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    follow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_contact_follows.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), info=describe("system.reference")
    )
    event_time: Mapped[int] = mapped_column(BigInteger, default=0, info=describe("system.timestamp"))
    read_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
