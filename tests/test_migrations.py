"""The migrations build the same schema as the models, go down and up again, and form one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from huike.core.db import make_engine
from huike.core.migrate import alembic_config
from huike.models import Base
from tests.support import database_url_for, reset_database


def test_revisions_form_a_single_line() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert not revision.is_merge_point


async def test_upgrade_downgrade_upgrade_matches_the_models(tmp_path: Path) -> None:
    url = database_url_for("migrations", tmp_path)
    await reset_database(url)
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))

            def diff(sync: object) -> list[object]:
                from alembic.autogenerate import compare_metadata
                from alembic.migration import MigrationContext

                return list(compare_metadata(MigrationContext.configure(sync), Base.metadata))  # type: ignore[arg-type]

            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert differences == []


BEFORE_CONTACT_ADDED_AT = "acd69882db53"  # the revision before contact_added_at was added


def test_sqlite_batch_migrations_keep_the_rows_that_reference_a_recreated_table(tmp_path: Path) -> None:
    """SQLite's batch mode re-creates ``external_contact_follows``; with foreign keys on, dropping the
    old table would cascade to every tag link of every customer. The links survive, filled in."""
    import sqlite3
    import uuid

    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}")
    command.upgrade(config, BEFORE_CONTACT_ADDED_AT)
    db = sqlite3.connect(tmp_path / "migrate.db")

    def insert(table: str, **values: object) -> None:
        for _, name, kind, not_null, default, primary in db.execute(f"PRAGMA table_info({table})"):
            if not_null and default is None and not primary and name not in values:
                values[name] = 0 if kind.upper() in ("INTEGER", "BOOLEAN", "SMALLINT", "BIGINT") else "x"
        names = ", ".join(values)
        db.execute(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values())
        )

    tenant, group, tag, contact, follow = (uuid.uuid4().hex for _ in range(5))
    insert("tenants", id=tenant)
    insert("tag_groups", id=group, tenant_id=tenant)
    insert("tags", id=tag, tenant_id=tenant, group_id=group)
    insert(
        "external_contacts",
        id=contact,
        tenant_id=tenant,
        external_userid="wm1",
        added_at="2024-05-06 07:08:09.000000",
    )
    insert("external_contact_follows", id=follow, tenant_id=tenant, contact_id=contact, member_userid="u1")
    insert(
        "external_contact_tags",
        id=uuid.uuid4().hex,
        tenant_id=tenant,
        contact_id=contact,
        follow_id=follow,
        tag_id=tag,
    )
    db.commit()
    db.close()

    command.upgrade(config, "head")
    db = sqlite3.connect(tmp_path / "migrate.db")
    try:
        assert db.execute("SELECT tag_id, contact_added_at FROM external_contact_tags").fetchall() == [
            (tag, "2024-05-06 07:08:09.000000")
        ]
        assert db.execute("SELECT contact_added_at FROM external_contact_follows").fetchall() == [
            ("2024-05-06 07:08:09.000000",)
        ]
    finally:
        db.close()
