"""``huike calendar`` on a database of its own (the CLI opens its own connections)."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner, Result

from huike.calendar.seed import seed_calendar
from huike.cli import app as cli_app
from huike.config import get_settings
from huike.core.db import Database, commit


def run_cli(db: Database, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("HUIKE_DATABASE_URL", db.url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, ["calendar", *args])
    finally:
        get_settings.cache_clear()


async def seed(db: Database) -> None:
    async with db.sessionmaker() as session:
        await seed_calendar(session)
        await commit(session)


async def test_F5_cli_deadline(clean_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(clean_db)
    result = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "deadline", "2026-01-26", "15")
    assert result.exit_code == 0, result.output
    assert "2026-02-14 (Sat)" in result.output
    assert "2026-02-14T23:59:59+08:00" in result.output
    provisional = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "deadline", "2027-03-01")
    assert provisional.exit_code == 0, provisional.output
    assert "2027-03-22" in provisional.output
    assert "2027-03-17" in provisional.output  # the internal target
    bad = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "deadline", "2026-02-30", "15")
    assert bad.exit_code == 2


async def test_F5_cli_status_and_seed(clean_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "seed")
    assert seeded.exit_code == 0, seeded.output
    assert "23 year(s): 2004–2026" in seeded.output
    again = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "seed")
    assert "nothing to seed" in again.output
    status = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "status", "--today", "2026-10-01")
    assert status.exit_code == 0, status.output
    assert "2004–2026" in status.output
    assert "2027" in status.output
    assert "missing" in status.output
    quiet = await asyncio.to_thread(run_cli, clean_db, monkeypatch, "status", "--today", "2026-09-30")
    assert "every year up to the next is confirmed" in quiet.output
