"""Custom roles and who holds which role.

* :class:`Role` is a tenant's custom role: a name, permission codes of the catalogue (their closure) and
  a data scope. Built-in roles (creator, admin, member) are code (:mod:`huike.permission.catalog`).
* :class:`RoleAssignment` gives a WeCom member a role: a built-in key or a custom role. It is keyed by
  the member (a member can be given a role before they activate their account). A user without an
  assignment has the role of their account membership (``account_memberships.role``); the creator is
  always the creator.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, JSONType, utcnow
from huike.core.tenancy import TenantScoped
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe

PROVISION = Purpose("service.provision")


class Role(TenantScoped, Base):
    """A custom role of a tenant, defined by its admins."""

    __tablename__ = "permission_roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.customer,
        purposes=(PROVISION,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
        notes="the customer's access-control configuration; about no person",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(
        String(30), info=describe("organization.name", notes="the role's name, chosen by an admin")
    )
    permissions: Mapped[list[str]] = mapped_column(
        JSONType, info=describe("system.status", notes="permission codes of the catalogue (their closure)")
    )
    data_scope: Mapped[str] = mapped_column(
        String(16), info=describe("system.status", notes="self, department or company")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoleAssignment(TenantScoped, Base):
    """The role of one member: ``builtin`` (admin, member) or ``role_id`` (a custom role), never both.
    A custom role that is assigned cannot be deleted (RESTRICT; the API answers 409 first)."""

    __tablename__ = "permission_role_assignments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id"),
        CheckConstraint(
            "(builtin IS NULL) <> (role_id IS NULL)", name="ck_permission_role_assignments_one_role"
        ),
    )
    __inventory__ = TableInventory(
        subject=Subject.member,
        owner=Owner.platform,
        purposes=(PROVISION,),
        retention=Retention("account_closed", 15, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="member_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    builtin: Mapped[str | None] = mapped_column(
        String(16), info=describe("user.account.role", personal=True, notes="admin or member")
    )
    role_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("permission_roles.id", ondelete="RESTRICT"),
        index=True,
        info=describe("user.account.role", personal=True, notes="a custom role"),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
