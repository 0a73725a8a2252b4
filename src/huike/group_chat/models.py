"""Customer groups (客户群) as Huike keeps them: the groups, their members, the tenant's own group tags,
the daily statistics, a per-person record of joins and quits, and the state of the running full sync.

What is kept (policy §一（二）5.2–5.4; see ``docs`` of :mod:`huike.group_chat.service`): the group's
chat_id, name, owner (UserID), creation time, WeCom status and member_version; for each member the
UserID or ExternalUserID, whether it is a member or an external contact, the join scene, join time,
the inviting member's UserID and when the person left; for an external contact also the name the
group shows for them (群昵称, else their WeChat name: the 昵称 of 5.2, encrypted), so that the group's
page can name a person who is nobody's customer in Huike. Dropped on purpose (never stored): the group
notice (群公告), members' names (the member directory has them), unionid, the join way ``state`` and the
admin list. The policy names none of them, and no feature needs them.

Order tolerance: ``event_time`` is the CreateTime of the newest change event applied; ``synced_at``
is when the state a row holds was read from WeCom. Older events and slower reads leave newer state
alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.core.tenancy import TenantScoped
from huike.privacy.inventory import (
    Erasure,
    Owner,
    Purpose,
    Retention,
    Subject,
    SubjectKey,
    TableInventory,
    describe,
)
from huike.security.fields import encrypted_column

SYNC = Purpose("scrm.sync")
PROVISION = Purpose("service.provision")
_RETENTION = Retention("tenant_terminated", 30, Erasure.delete_row)
MAX_TAG_NAME = 30


class GroupStatus(StrEnum):
    """WeCom's groupchat/list ``status`` (0 normal, 1 owner resigned, 2 inheriting, 3 inherited), plus
    ``dismissed``: the owner dissolved the group (dismiss event, 86003, or missing after a full pass)."""

    normal = "normal"
    owner_resigned = "owner_resigned"
    inheriting = "inheriting"
    inherited = "inherited"
    dismissed = "dismissed"

    @classmethod
    def from_wecom(cls, value: int) -> GroupStatus:
        return _BY_WECOM.get(value, cls.normal)


_BY_WECOM = {
    0: GroupStatus.normal,
    1: GroupStatus.owner_resigned,
    2: GroupStatus.inheriting,
    3: GroupStatus.inherited,
}


class MemberType(StrEnum):
    member = "member"  # type 1: a member of the corp
    external = "external"  # type 2: an external contact


class GroupChat(TenantScoped, Base):
    __tablename__ = "group_chats"
    __table_args__ = (
        UniqueConstraint("tenant_id", "chat_id"),
        Index("ix_group_chats_tenant_created", "tenant_id", "wecom_created_at", "id"),
        Index("ix_group_chats_tenant_owner", "tenant_id", "owner_userid"),
    )
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="owner_userid",
        notes="a customer group of the corp; the only personal column is the owner's UserID",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[str] = mapped_column(String(64), info=describe("customer_data.group.chat_id"))
    name: Mapped[str] = mapped_column(
        String(255),
        default="",
        info=describe(
            "customer_data.group",
            notes="the group's name as the owner set it; the corp's label of a group, not a person's data",
        ),
    )
    owner_userid: Mapped[str] = mapped_column(
        String(64), default="", info=describe("user.wecom.account", personal=True, notes="the group owner")
    )
    wecom_created_at: Mapped[datetime] = mapped_column(
        info=describe("system.timestamp", notes="create_time from WeCom")
    )
    status: Mapped[str] = mapped_column(
        String(16), default=GroupStatus.normal, info=describe("system.status")
    )
    member_version: Mapped[str] = mapped_column(
        String(64), default="", info=describe("system.version", notes="WeCom's member_version")
    )
    member_count: Mapped[int] = mapped_column(
        Integer, default=0, info=describe("system.counter", notes="present members")
    )
    event_time: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        info=describe("system.timestamp", notes="CreateTime of the newest event applied"),
    )
    synced_at: Mapped[datetime | None] = mapped_column(
        info=describe("system.timestamp", notes="when groupchat/get was last read for it")
    )
    seen_run: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("system.reference", notes="the last full sync that listed it")
    )
    dismissed_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GroupChatMember(TenantScoped, Base):
    """One person in one group: present while ``left_at`` is null. A person who joins again reuses
    the row (join time and scene of the latest join)."""

    __tablename__ = "group_chat_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_chat_id", "userid"),
        Index("ix_group_chat_members_tenant_userid", "tenant_id", "userid"),
    )
    __inventory__ = TableInventory(
        subject=Subject.external_contact,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="userid",
        subject_keys=(
            SubjectKey(Subject.member, "userid"),
            SubjectKey(Subject.member, "invitor_userid"),
        ),
        notes="membership of customer groups (§一（二）5.2 customer lists): ids, and for external contacts "
        "the name the group shows (encrypted)",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("group_chats.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    userid: Mapped[str] = mapped_column(
        String(64),
        info=describe(
            "customer_data.group.member_ids",
            personal=True,
            notes="a member's UserID (type member) or a customer's ExternalUserID (type external)",
        ),
    )
    member_type: Mapped[str] = mapped_column(String(16), info=describe("system.subject_type"))
    display_name: Mapped[str | None] = encrypted_column(
        "customer_data.external_contact.nickname",
        subject=Subject.external_contact,
        notes=(
            "external contacts only: the name the group shows (群昵称, else the WeChat name; §一（二）5.2 "
            "昵称); shown for people who are no customer of the tenant. NULL: not read from WeCom yet"
        ),
    )
    join_scene: Mapped[int] = mapped_column(
        SmallInteger,
        default=0,
        info=describe(
            "system.status",
            notes="1 invited directly, 2 by link, 3 group QR; 0 invited (a change event cannot tell 1 from 2)",
        ),
    )
    join_time: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    invitor_userid: Mapped[str | None] = mapped_column(
        String(64),
        info=describe(
            "user.wecom.account", personal=True, subject=Subject.member, notes="the inviting member"
        ),
    )
    left_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GroupChatMemberChange(TenantScoped, Base):
    """One join or quit reported by a change_external_chat event: the statistics' idempotency key
    (a duplicate or repeated event inserts nothing and counts nothing) and the person's history."""

    __tablename__ = "group_chat_member_changes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_chat_id", "userid", "kind", "member_version"),
        Index("ix_group_chat_member_changes_tenant_userid", "tenant_id", "userid"),
    )
    __inventory__ = TableInventory(
        subject=Subject.external_contact,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="userid",
        subject_keys=(SubjectKey(Subject.member, "userid"),),
        notes="joins and quits of customer groups, for the statistics and the customer timeline",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("group_chats.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    userid: Mapped[str] = mapped_column(
        String(64), info=describe("customer_data.group.member_ids", personal=True)
    )
    kind: Mapped[str] = mapped_column(String(8), info=describe("system.event.type", notes="join or quit"))
    scene: Mapped[int] = mapped_column(
        SmallInteger, default=0, info=describe("system.status", notes="JoinScene or QuitScene")
    )
    member_version: Mapped[str] = mapped_column(
        String(64), info=describe("system.version", notes="CurMemVer of the event")
    )
    at: Mapped[datetime] = mapped_column(info=describe("system.timestamp", notes="the event's CreateTime"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupChatDailyStat(TenantScoped, Base):
    """Per group and day (Asia/Shanghai): the size after the day's last change, joins and quits.
    A day without a row had no change: its size is the previous day's."""

    __tablename__ = "group_chat_daily_stats"
    __table_args__ = (UniqueConstraint("tenant_id", "group_chat_id", "day"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
        notes="counts only",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("group_chats.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    day: Mapped[date] = mapped_column(Date, info=describe("system.date"))
    size: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    joins: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    quits: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


_TAG_INVENTORY = TableInventory(
    subject=Subject.account_holder,
    owner=Owner.customer,
    purposes=(PROVISION,),
    retention=_RETENTION,
    erasure=Erasure.delete_row,
    subject_key="created_by",
    notes="the tenant's own labels for customer groups (not WeCom's tags)",
)


class GroupChatTag(TenantScoped, Base):
    __tablename__ = "group_chat_tags"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __inventory__ = _TAG_INVENTORY

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), info=describe("customer_data.group", notes="a label"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("user.unique_id", personal=True, erasure=Erasure.null)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GroupChatTagLink(TenantScoped, Base):
    __tablename__ = "group_chat_tag_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_chat_id", "tag_id"),
        Index("ix_group_chat_tag_links_tag", "tenant_id", "tag_id"),
    )
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(PROVISION,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("group_chats.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("group_chat_tags.id", ondelete="CASCADE"), info=describe("system.reference")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncPhase(StrEnum):
    listing = "listing"
    reconcile = "reconcile"
    done = "done"


class GroupChatSyncState(TenantScoped, Base):
    """Where the tenant's full group sync is: its run, the owner batch and WeCom cursor of the next
    page, so that a retried job resumes from its last checkpoint."""

    __tablename__ = "group_chat_sync_states"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
        subject_keys=(SubjectKey(Subject.member, "owner_after"),),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(info=describe("system.reference", notes="the job's id"))
    phase: Mapped[str] = mapped_column(String(16), info=describe("system.status"))
    owner_after: Mapped[str] = mapped_column(
        String(64),
        default="",
        info=describe(
            "user.wecom.account",
            personal=True,
            subject=Subject.member,
            erasure=Erasure.null,
            notes="the batch being listed starts after this owner (UserIDs in order); '' for the first",
        ),
    )
    cursor: Mapped[str] = mapped_column(
        String(512), default="", info=describe("system.reference", notes="WeCom's next_cursor")
    )
    stats: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.result", notes="counts only")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
