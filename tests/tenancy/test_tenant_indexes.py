"""Every tenant table can be read and cascaded by tenant through one index, and pays for only one.

``TenantScoped`` indexes ``tenant_id``; ``drop_redundant_tenant_indexes`` removes that index where a
business key already leads with ``tenant_id``. A new table that loses its only tenant index, or keeps a
redundant one, fails here.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    Uuid,
)

import huike.models  # noqa: F401  (every model, pruned)
from huike.core.db import Base
from huike.core.tenancy import drop_redundant_tenant_indexes


def test_every_tenant_table_has_exactly_the_tenant_indexes_it_needs() -> None:
    tenant_tables = [t for t in Base.metadata.tables.values() if "tenant_id" in t.c]
    assert len(tenant_tables) > 30
    for table in tenant_tables:
        plain = [ix for ix in table.indexes if [c.name for c in ix.columns] == ["tenant_id"]]
        covering = [[c.name for c in ix.columns] for ix in table.indexes if len(ix.columns) > 1]
        covering += [
            [c.name for c in con.columns]
            for con in table.constraints
            if isinstance(con, UniqueConstraint | PrimaryKeyConstraint)
        ]
        covering = [key for key in covering if key[:1] == ["tenant_id"]]
        assert plain or covering, f"{table.name}: nothing finds its rows by tenant"
        assert not (plain and covering), f"{table.name}: {plain[0].name} repeats {covering[0]}"


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("tenant_id", Uuid, nullable=False),
        Column("created_at", DateTime),
    )


def test_the_pruning_keeps_a_lone_tenant_index_and_drops_a_shadowed_one() -> None:
    metadata = MetaData()
    lone, shadowed = _table(metadata, "lone"), _table(metadata, "shadowed")
    Index("ix_lone_tenant_id", lone.c.tenant_id)
    Index("ix_shadowed_tenant_id", shadowed.c.tenant_id)
    Index("ix_shadowed_tenant_created", shadowed.c.tenant_id, shadowed.c.created_at)
    assert drop_redundant_tenant_indexes(metadata) == ["ix_shadowed_tenant_id"]
    assert {ix.name for ix in lone.indexes} == {"ix_lone_tenant_id"}
    assert {ix.name for ix in shadowed.indexes} == {"ix_shadowed_tenant_created"}
