"""A tenant's WeCom organisation as Huike keeps it: departments, members and their departments, the
state of the running full sync, and invitations of members to Huike.

What is kept (policy §一（二）5.1 and 9): a member's WeCom account (UserID, an identifier, stored plain),
name (encrypted: list views decrypt it), departments, position (组织角色) and WeCom status, plus flags
Huike derives (in the app's visibility scope, has the customer-contact feature). Never mobile, e-mail,
avatar or gender: 5.1 allows avatar and gender only for the *authorised* member, which is the
profile's business (the account), not the org sync's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
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


class MemberStatus(StrEnum):
    """WeCom's member status (user/get ``status``): 1 active, 2 disabled, 4 not activated, 5 resigned."""

    active = "active"
    disabled = "disabled"
    not_activated = "not_activated"
    resigned = "resigned"

    @classmethod
    def from_wecom(cls, value: int) -> MemberStatus:
        return _BY_WECOM.get(value, cls.active)


_BY_WECOM = {
    1: MemberStatus.active,
    2: MemberStatus.disabled,
    4: MemberStatus.not_activated,
    5: MemberStatus.resigned,
}


class Department(TenantScoped, Base):
    """A WeCom department (组织架构). Deleted ones keep their row with ``deleted_at``."""

    __tablename__ = "member_departments"
    __table_args__ = (UniqueConstraint("tenant_id", "wecom_id"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    wecom_id: Mapped[int] = mapped_column(BigInteger, info=describe("system.reference", notes="WeCom's id"))
    name: Mapped[str] = mapped_column(
        String(100), default="", info=describe("organization.name", notes="the department's name")
    )
    parent_wecom_id: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        info=describe("system.reference", notes="WeCom id of the parent; 0 for the root"),
    )
    order: Mapped[int] = mapped_column(
        "sort_order",
        BigInteger,
        default=0,
        info=describe("system.counter", notes="WeCom's order, larger first"),
    )
    event_time: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        info=describe("system.timestamp", notes="CreateTime of the last change applied"),
    )
    seen_run: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("system.reference", notes="the last full sync that saw it")
    )
    details_synced_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    deleted_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(TenantScoped, Base):
    """A WeCom member of the tenant's corp (成员). ``user_id`` is set once they activated a Huike
    account (WeCom QR login after an invitation)."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "wecom_userid"),
        Index("ix_members_tenant_user", "tenant_id", "user_id"),
    )
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.customer,
        purposes=(SYNC, PROVISION),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="wecom_userid",
        subject_keys=(SubjectKey(Subject.member, "user_id"),),
        notes="customer usage data (§一（二）9); follows the customer's WeCom org",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    wecom_userid: Mapped[str] = mapped_column(
        String(64), info=describe("user.wecom.account", personal=True, notes="an identifier: stored plain")
    )
    name: Mapped[str | None] = encrypted_column(
        "user.name", subject=Subject.member, notes="as the customer set it in WeCom (§一（二）9)"
    )
    position: Mapped[str] = mapped_column(
        String(128),
        default="",
        info=describe("user.account.role", personal=True, notes="position (职务, 组织角色 of §一（二）9)"),
    )
    main_department_wecom_id: Mapped[int | None] = mapped_column(
        BigInteger, info=describe("user.account", personal=True, notes="WeCom id of the main department")
    )
    status: Mapped[str] = mapped_column(
        String(16), default=MemberStatus.active, info=describe("system.status", notes="WeCom's status")
    )
    in_scope: Mapped[bool] = mapped_column(
        Boolean, default=True, info=describe("system.flag", notes="in the app's visibility scope")
    )
    has_customer_contact: Mapped[bool] = mapped_column(
        Boolean, default=False, info=describe("system.flag", notes="in get_follow_user_list")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"),
        info=describe("user.unique_id", personal=True, notes="the Huike account the member activated"),
    )
    event_time: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        info=describe("system.timestamp", notes="CreateTime of the last change applied"),
    )
    seen_run: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("system.reference", notes="the last full sync that listed the member")
    )
    details_synced_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    last_synced_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    deleted_at: Mapped[datetime | None] = mapped_column(
        info=describe("system.timestamp", notes="when the member left (deleted or resigned)")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def can_access(self) -> bool:
        """May this member use Huike: in scope, not gone, not disabled or resigned in WeCom."""
        return access_allowed(self.in_scope, self.deleted_at, self.status)


def access_allowed(in_scope: bool, deleted_at: datetime | None, status: str) -> bool:
    """The rule of :attr:`Member.can_access` on bare column values (the session check reads the three
    columns alongside the member's role, in one query)."""
    return in_scope and deleted_at is None and status not in (MemberStatus.disabled, MemberStatus.resigned)


class MemberDepartment(TenantScoped, Base):
    """Which departments a member belongs to (WeCom ids: a member may name one not synced yet)."""

    __tablename__ = "member_department_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", "department_wecom_id"),
        Index("ix_member_department_links_department", "tenant_id", "department_wecom_id"),
    )
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="member_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"),
        index=True,
        info=describe("system.reference", notes="the member"),
    )
    department_wecom_id: Mapped[int] = mapped_column(
        BigInteger, info=describe("user.account", personal=True, notes="所属部门 (§一（二）9)")
    )


class SyncPhase(StrEnum):
    departments = "departments"
    members = "members"
    details = "details"
    contacts = "contacts"
    reconcile = "reconcile"
    done = "done"


class MemberSyncState(TenantScoped, Base):
    """Where the tenant's full sync is: its run (the job), phase and cursor, so that a retried or
    resumed job goes on from its last checkpoint."""

    __tablename__ = "member_sync_states"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(SYNC,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(info=describe("system.reference", notes="the job's id"))
    phase: Mapped[str] = mapped_column(String(16), info=describe("system.status"))
    mode: Mapped[str] = mapped_column(
        String(16), default="", info=describe("system.status", notes="list_id or simplelist")
    )
    cursor: Mapped[str] = mapped_column(
        String(512), default="", info=describe("system.reference", notes="WeCom cursor or department id")
    )
    stats: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info=describe("system.job.result", notes="counts only")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InvitationStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"


class MemberInvitation(TenantScoped, Base):
    """An admin's invitation of a member to Huike (R-WX-2): the pending membership of the member's
    WeCom UserID, with its role, until a WeCom QR login by that UserID activates it."""

    __tablename__ = "member_invitations"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id"),)
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.platform,
        purposes=(PROVISION,),
        retention=Retention("account_closed", 15, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="member_id",
        subject_keys=(SubjectKey(Subject.account_holder, "invited_by"),),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    role: Mapped[str] = mapped_column(String(16), info=describe("user.account.role", personal=True))
    status: Mapped[str] = mapped_column(
        String(16), default=InvitationStatus.pending, info=describe("system.status")
    )
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        info=describe("user.unique_id", personal=True, subject=Subject.account_holder, notes="the admin")
    )
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    accepted_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
