"""Scale mode with real processes: jobs go through Redis Streams to `huike worker` subprocesses.
A worker killed mid-job neither commits nor acknowledges; the relay hands the job to another worker,
and the effect happens exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy import func, select

from huike.config import Settings
from huike.core.broker import TaskiqDispatcher, make_broker
from huike.core.db import Database, commit
from huike.core.tasks import JobRuntime, Outbox, OutboxStatus, enqueue, relay_once, set_runtime
from huike.security.kms import ensure_master_key
from tests.scale.worker_tasks import effects, metadata
from tests.support import wait_until

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[str]:
    client = Redis.from_url(redis_url)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"Redis is not reachable at {redis_url} ({exc}); `make services` starts it")
    await client.flushdb()
    yield redis_url
    await client.flushdb()
    await client.aclose()


@pytest_asyncio.fixture
async def db(clean_db: Database) -> Database:
    async with clean_db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(effects.delete())
    return clean_db


class Workers:
    def __init__(self, db_url: str, redis_url: str, tmp: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUIKE_")}
        self.env.update(
            {
                "HUIKE_DATABASE_URL": db_url,
                "HUIKE_REDIS_URL": redis_url,
                "HUIKE_DATA_DIR": str(tmp),
                "HUIKE_JOB_VISIBILITY_TIMEOUT_S": "2",
                "HUIKE_EXTRA_TASK_MODULES": "tests.scale.worker_tasks",
                "PYTHONPATH": str(ROOT),
            }
        )
        self.tmp = tmp
        ensure_master_key(Settings(data_dir=tmp))
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "huike", "worker", "--concurrency", "4"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def workers(db: Database, redis: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(db.url, redis, tmp_path)
    yield pool
    pool.stop()


@pytest_asyncio.fixture
async def producer(db: Database, redis: str) -> AsyncIterator[JobRuntime]:
    broker = make_broker(redis)
    await broker.startup()
    runtime = JobRuntime(db.sessionmaker, TaskiqDispatcher(broker), visibility_timeout=timedelta(seconds=2))
    set_runtime(runtime)
    yield runtime
    set_runtime(None)
    await broker.shutdown()


async def effect_count(db: Database, key: str) -> int:
    async with db.sessionmaker() as session:
        return (
            await session.execute(select(func.count()).select_from(effects).where(effects.c.key == key))
        ).scalar_one()


async def status_of(db: Database, outbox_id: object) -> tuple[str, int]:
    async with db.sessionmaker() as session:
        row = await session.get(Outbox, outbox_id)
        assert row is not None
        return row.status, row.attempts


async def submit(db: Database, key: str, crash_on_attempt: int = 0) -> object:
    async with db.sessionmaker() as session:
        outbox_id = await enqueue(session, "test.scale_effect", key=key, crash_on_attempt=crash_on_attempt)
        await commit(session)
    return outbox_id


async def test_worker_process_runs_committed_jobs_once(
    db: Database, workers: Workers, producer: JobRuntime
) -> None:
    workers.start()
    ids = [await submit(db, f"many-{i}") for i in range(20)]
    for outbox_id in ids:
        await wait_until(lambda i=outbox_id: _done(db, i), within=30)
    for i in range(20):
        assert await effect_count(db, f"many-{i}") == 1


async def test_killed_worker_job_is_finished_once_by_another(
    db: Database, workers: Workers, producer: JobRuntime
) -> None:
    doomed = workers.start()
    outbox_id = await submit(db, "killed", crash_on_attempt=1)
    await asyncio.to_thread(doomed.wait, 30)
    assert doomed.returncode == 17  # it died inside the job
    assert await effect_count(db, "killed") == 0
    assert await status_of(db, outbox_id) == (OutboxStatus.pending, 1)
    workers.start()

    async def relayed_and_done() -> bool:
        await relay_once(producer)  # what `huike scheduler` does every few seconds
        return await _done(db, outbox_id)

    await wait_until(relayed_and_done, within=30, interval=0.5)
    assert await effect_count(db, "killed") == 1
    assert await status_of(db, outbox_id) == (OutboxStatus.done, 2)


async def _done(db: Database, outbox_id: object) -> bool:
    return (await status_of(db, outbox_id))[0] == OutboxStatus.done
