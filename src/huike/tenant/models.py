from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, IdMixin, TimestampMixin
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe


class TenantStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class Tenant(IdMixin, TimestampMixin, Base):
    """A customer (客户) of the SaaS: a company that connects one WeCom corp."""

    __tablename__ = "tenants"
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.platform,
        purposes=(Purpose("service.provision"),),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="id",
    )

    name: Mapped[str] = mapped_column(String(100), info=describe("organization.name"))
    status: Mapped[str] = mapped_column(
        String(16), default=TenantStatus.active, info=describe("system.status")
    )
