"""The table the callback kill test's worker handler writes to (importing this registers nothing)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
effects = Table(
    "scale_event_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_userid", String(64)),
    Column("pid", Integer),
)
