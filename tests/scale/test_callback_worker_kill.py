"""Nothing acknowledged is ever lost: WeCom (the emulator) sends a stream of callbacks, Huike stores and
acknowledges them, a worker processing them is killed mid-stream, another starts, and every event is
processed exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import func, select

from huike.app import create_app
from huike.config import Settings
from huike.core.db import Database, commit
from huike.core.tasks import relay_once
from huike.security.keys import ensure_keys
from huike.security.kms import ensure_master_key
from huike.tenant.models import Tenant
from huike.wecom.models import ConnectionStatus, InboxEvent, InboxStatus, WeComConnection
from tests.scale.event_effects import effects, metadata
from tests.support import wait_until
from wecom_emulator import Clock, EmulatorState, scenarios
from wecom_emulator.seed import seed_company

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 120


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[str]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield redis_url
    await client.flushdb()
    await client.aclose()


@pytest_asyncio.fixture
async def huike(clean_db: Database, redis: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, Settings]]:
    async with clean_db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(effects.delete())
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=clean_db.url, redis_url=redis, job_visibility_timeout_s=2
    )
    ensure_master_key(settings)
    app = create_app(settings, database=clean_db)
    async with app.router.lifespan_context(app):
        yield app, settings


_started: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test() -> Iterator[None]:
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)


def worker(settings: Settings, tmp: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUIKE_")}
    environment.update(
        {
            "HUIKE_DATABASE_URL": str(settings.database_url),
            "HUIKE_REDIS_URL": str(settings.redis_url),
            "HUIKE_DATA_DIR": str(settings.data_dir),
            "HUIKE_JOB_VISIBILITY_TIMEOUT_S": "2",
            "HUIKE_EXTRA_TASK_MODULES": "tests.scale.worker_events",
            "PYTHONPATH": str(ROOT),
            **env,
        }
    )
    log = (tmp / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "huike", "worker", "--concurrency", "2"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=log,
    )
    _started.append(process)
    return process


async def test_killed_worker_loses_no_acknowledged_event(
    huike: tuple[FastAPI, Settings], clean_db: Database, tmp_path: Path
) -> None:
    app, settings = huike
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(
        state, "ww00112233aabbccdd", members=3, external_contacts=5, groups=1, tags=3, seed=3
    )
    async with clean_db.sessionmaker() as session:
        tenant = Tenant(name="回调租户")
        session.add(tenant)
        await session.flush()
        await ensure_keys(session, tenant.id)
        connection = WeComConnection(
            tenant_id=tenant.id,
            corp_id=report.corp_id,
            agent_id=report.agent_id,
            app_secret=report.app_secret,
            contact_secret=report.contact_secret,
            callback_token="T" * 32,
            encoding_aes_key="K" * 43,
            callback_key="c" * 32,
            status=ConnectionStatus.connected,
        )
        session.add(connection)
        await commit(session)

    state.deliveries.transport = httpx.ASGITransport(app=app)
    saved, reason = await state.deliveries.configure(
        report.corp_id, "http://huike.test/wecom/callback/" + "c" * 32, "T" * 32, "K" * 43
    )
    assert saved, reason

    doomed = worker(settings, tmp_path, "doomed", HUIKE_TEST_CRASH_AFTER="40")
    userid = state.store.one("SELECT userid FROM member ORDER BY pk LIMIT 1")["userid"]
    added = [
        scenarios.customer_adds_member(state, report.corp_id, userid).data["external_userid"]
        for _ in range(EVENTS)
    ]
    deliveries = await state.deliveries.drain()
    assert sum(d.delivered for d in deliveries) == EVENTS  # every event acknowledged by Huike

    await asyncio.to_thread(doomed.wait, 60)
    assert doomed.returncode == 17  # it died inside a batch
    survivor = worker(settings, tmp_path, "survivor")
    try:

        async def all_processed() -> bool:
            await relay_once(app.state.jobs)  # what the scheduler does every few seconds
            async with clean_db.sessionmaker() as session:
                left = await session.execute(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status != InboxStatus.processed)
                )
                return left.scalar_one() == 0

        await wait_until(all_processed, within=60, interval=0.5)
    finally:
        survivor.terminate()
        survivor.wait(10)
    async with clean_db.sessionmaker() as session:
        counted = dict(
            (
                await session.execute(
                    select(effects.c.external_userid, func.count()).group_by(effects.c.external_userid)
                )
            ).all()
        )
        stored = (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
    assert stored == EVENTS
    assert counted == dict.fromkeys(added, 1)  # each processed exactly once, none lost
