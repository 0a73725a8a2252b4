"""Row-level tenancy: the context every tenant-owned query starts from (docs/adr/0003-tenancy.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who is acting, for which tenant. The only source of a tenant id in application code."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None
    is_system: bool = False
    # Filled from the session by ``get_tenant_context`` (huike.permission). ``permissions`` None means
    # "not resolved" (a hand-made context): the permission service then reads them from the database.
    role: str | None = None
    permissions: frozenset[str] | None = None
    data_scope: str | None = None
    member_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        """Does this resolved context hold ``permission``? A system context holds everything."""
        return self.is_system or (self.permissions is not None and permission in self.permissions)

    @classmethod
    def system(cls, tenant_id: uuid.UUID) -> TenantContext:
        """The context of a job or callback acting for a tenant without a person behind it."""
        return cls(tenant_id=tenant_id, user_id=None, is_system=True)


class TenantScoped:
    """Mixin for every tenant-owned table: a non-null, indexed ``tenant_id``."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
