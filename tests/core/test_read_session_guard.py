"""ADR 10: a read session (GET) that writes is reported, so a route that needs @writes_on_get is found
before SQLite answers "database is locked" in production; a best-effort write is not reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from structlog.testing import capture_logs

from huike.core.db import Database, best_effort_write
from huike.core.tasks import Job


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    from huike.core.db import Base

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'guard.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


async def test_a_write_in_a_read_session_is_reported(database: Database) -> None:
    with capture_logs() as logs:
        async with database.read_sessionmaker() as session:
            await session.execute(update(Job).values(progress=1))
    assert [e["event"] for e in logs] == ["db.write_in_read_session"]
    assert logs[0]["what"] == "jobs"
    await database.dispose()


async def test_best_effort_and_write_sessions_are_not_reported(database: Database) -> None:
    with capture_logs() as logs:
        async with database.read_sessionmaker() as session:
            with best_effort_write(session):
                await session.execute(update(Job).values(progress=1))
        async with database.sessionmaker() as session:
            await session.execute(update(Job).values(progress=2))
    assert [e for e in logs if e["event"] == "db.write_in_read_session"] == []
    await database.dispose()
