"""Row-level tenancy: the context every tenant-owned query starts from (docs/adr/0003-tenancy.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ForeignKey, MetaData, PrimaryKeyConstraint, UniqueConstraint
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


def drop_redundant_tenant_indexes(metadata: MetaData) -> list[str]:
    """Remove each tenant table's single-column ``tenant_id`` index where another index, unique key or
    primary key already leads with ``tenant_id``; returns the names removed.

    :class:`TenantScoped` indexes ``tenant_id`` so that every tenant table can be searched (and its rows
    cascaded) by tenant. Most tables also have business keys that start with ``tenant_id``; there the
    single-column index only costs one more B-tree insert per row and its disk pages (hundreds of
    megabytes on the keyword index at a million customers). Called once, after every model is imported
    (``huike.models``), so Alembic and ``create_all`` see the same schema.
    """
    removed: list[str] = []
    for table in metadata.tables.values():
        if "tenant_id" not in table.c:
            continue
        composite = [[c.name for c in ix.columns] for ix in table.indexes if len(ix.columns) > 1]
        keys = [
            [c.name for c in con.columns]
            for con in table.constraints
            if isinstance(con, UniqueConstraint | PrimaryKeyConstraint)
        ]
        if not any(key[:1] == ["tenant_id"] for key in composite + keys):
            continue
        for ix in list(table.indexes):
            if [c.name for c in ix.columns] == ["tenant_id"]:
                table.indexes.discard(ix)
                removed.append(str(ix.name))
    return sorted(removed)
