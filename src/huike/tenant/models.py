from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, IdMixin, TimestampMixin


class TenantStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class Tenant(IdMixin, TimestampMixin, Base):
    """A customer (客户) of the SaaS: a company that connects one WeCom corp."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.active)
