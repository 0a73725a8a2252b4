"""Helpers shared by fixtures and tests (not fixtures themselves)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


def database_url_for(name: str, tmp: Path) -> str:
    """The run's database: HUIKE_TEST_DATABASE_URL's server with a database per ``name``, or SQLite."""
    base = os.environ.get("HUIKE_TEST_DATABASE_URL")
    if not base:
        return f"sqlite+aiosqlite:///{tmp / f'{name}.db'}"
    url = make_url(base)
    return url.set(database=f"{url.database}_{name}" if name != "main" else url.database).render_as_string(
        hide_password=False
    )


async def reset_database(url: str) -> None:
    """Drop and create a PostgreSQL database (SQLite files start empty anyway)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    import asyncpg

    admin = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


class RecordingDispatcher:
    """Keeps dispatched outbox ids instead of running them; ``lose`` drops deliveries on purpose."""

    def __init__(self) -> None:
        self.dispatched: list[uuid.UUID] = []
        self.lose = 0

    async def dispatch(self, outbox_ids: list[uuid.UUID]) -> None:
        for outbox_id in outbox_ids:
            if self.lose > 0:
                self.lose -= 1
                continue
            self.dispatched.append(outbox_id)


_real_connect = socket.socket.connect


def block_outside_network() -> None:
    """Tests may talk to loopback (and unix sockets) only; anything else fails loudly."""

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise OSError(f"tests must not reach the network: {host}")
        return _real_connect(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]


async def wait_until(predicate: Any, within: float = 10.0, interval: float = 0.05) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


def add_probe_router(app: Any, router: Any) -> None:
    """Add a test-only router ahead of the console's catch-all route."""
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
