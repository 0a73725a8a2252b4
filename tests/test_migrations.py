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
