"""Durable jobs: a rolled-back enqueue never runs; a committed one takes effect exactly once, even
when deliveries are duplicated or lost, a worker dies mid-job or is too slow; failures retry with
back-off and end visibly failed. Runs on whichever database the suite runs on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
import time_machine
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from huike.core.broker import TaskiqDispatcher, make_broker
from huike.core.db import Database, commit, rollback
from huike.core.tasks import (
    Job,
    JobContext,
    JobRuntime,
    JobStatus,
    Outbox,
    OutboxStatus,
    create_job,
    enqueue,
    execute,
    periodic,
    relay_once,
    schedule_once,
    set_runtime,
    task,
)
from huike.core.tenancy import TenantContext
from huike.tenant.models import Tenant
from tests.support import RecordingDispatcher, wait_until

effects_metadata = MetaData()
effects = Table(
    "test_job_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50)),
    Column("attempt", Integer),
)

gates: dict[str, asyncio.Event] = {}


@task("test.record_effect", max_attempts=3, retry_base_s=1.0)
async def record_effect(ctx: JobContext, key: str, block_attempt: int = 0) -> dict[str, int]:
    """Writes one effect row; optionally blocks in a given attempt until its gate opens."""
    if ctx.attempt == block_attempt:
        await gates[key].wait()
    await ctx.session.execute(insert(effects).values(key=key, attempt=ctx.attempt))
    return {"attempt": ctx.attempt}


@task("test.always_fails", max_attempts=3, retry_base_s=1.0)
async def always_fails(ctx: JobContext, reason: str) -> None:
    raise ValueError(reason)


@task("test.periodic_tick", max_attempts=1)
async def periodic_tick(ctx: JobContext) -> None:
    return None


@pytest_asyncio.fixture
async def db(clean_db: Database) -> AsyncIterator[Database]:
    async with clean_db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
        await conn.execute(effects.delete())
    yield clean_db


@pytest.fixture
def recording() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest_asyncio.fixture
async def runtime(db: Database, recording: RecordingDispatcher) -> AsyncIterator[JobRuntime]:
    runtime = JobRuntime(db.sessionmaker, recording, visibility_timeout=timedelta(seconds=60))
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


async def effect_count(db: Database, key: str) -> int:
    async with db.sessionmaker() as session:
        return (
            await session.execute(select(func.count()).select_from(effects).where(effects.c.key == key))
        ).scalar_one()


async def outbox_row(db: Database, outbox_id: uuid.UUID) -> Outbox:
    async with db.sessionmaker() as session:
        row = await session.get(Outbox, outbox_id)
        assert row is not None
        return row


async def enqueue_committed(db: Database, key: str, **extra: object) -> uuid.UUID:
    async with db.sessionmaker() as session:
        outbox_id = await enqueue(session, "test.record_effect", key=key, **extra)
        await commit(session)
    assert outbox_id is not None
    return outbox_id


class TestEnqueue:
    async def test_rolled_back_transaction_never_runs(
        self, db: Database, runtime: JobRuntime, recording: RecordingDispatcher
    ) -> None:
        async with db.sessionmaker() as session:
            await enqueue(session, "test.record_effect", key="rolled-back")
            await rollback(session)
        assert recording.dispatched == []
        assert await relay_once(runtime) == []
        with time_machine.travel(datetime.now(UTC) + timedelta(hours=1), tick=False):
            assert await relay_once(runtime) == []
        async with db.sessionmaker() as session:
            assert (await session.execute(select(func.count()).select_from(Outbox))).scalar_one() == 0
        assert await effect_count(db, "rolled-back") == 0

    async def test_dispatch_happens_only_after_commit(
        self, db: Database, runtime: JobRuntime, recording: RecordingDispatcher
    ) -> None:
        async with db.sessionmaker() as session:
            outbox_id = await enqueue(session, "test.record_effect", key="after-commit")
            await session.flush()
            assert recording.dispatched == []
            await commit(session)
        assert recording.dispatched == [outbox_id]

    async def test_payload_must_be_json(self, db: Database, runtime: JobRuntime) -> None:
        async with db.sessionmaker() as session:
            with pytest.raises(TypeError):
                await enqueue(session, "test.record_effect", key=object())

    async def test_unknown_task_is_refused(self, db: Database, runtime: JobRuntime) -> None:
        async with db.sessionmaker() as session:
            with pytest.raises(KeyError):
                await enqueue(session, "test.no_such_task")


class TestExactlyOnce:
    async def test_committed_job_runs_once_despite_duplicate_deliveries(
        self, db: Database, runtime: JobRuntime, recording: RecordingDispatcher
    ) -> None:
        outbox_id = await enqueue_committed(db, "dupes")
        outcomes = await asyncio.gather(*(execute(runtime, outbox_id) for _ in range(3)))
        outcomes += [await execute(runtime, outbox_id)]
        assert sorted(outcomes).count("succeeded") == 1
        assert await effect_count(db, "dupes") == 1
        row = await outbox_row(db, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.done, 1)

    async def test_lost_first_delivery_is_relayed(
        self, db: Database, runtime: JobRuntime, recording: RecordingDispatcher
    ) -> None:
        recording.lose = 1
        outbox_id = await enqueue_committed(db, "lost")
        assert recording.dispatched == []
        assert await relay_once(runtime) == []  # not stale yet: the delivery may still arrive
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
            assert await relay_once(runtime) == [outbox_id]
            assert await execute(runtime, outbox_id) == "succeeded"
        assert await effect_count(db, "lost") == 1
        assert (await outbox_row(db, outbox_id)).status == OutboxStatus.done

    async def test_worker_dying_mid_job_leaves_no_effect_and_the_job_runs_again(
        self, db: Database, runtime: JobRuntime
    ) -> None:
        gates["dies"] = asyncio.Event()
        outbox_id = await enqueue_committed(db, "dies", block_attempt=1)
        doomed = asyncio.create_task(execute(runtime, outbox_id))
        await wait_until(lambda: _attempts(db, outbox_id, 1))
        doomed.cancel()  # the worker dies: its transaction never commits
        with pytest.raises(asyncio.CancelledError):
            await doomed
        assert await effect_count(db, "dies") == 0
        assert await relay_once(runtime) == []  # the dead worker's lease still holds
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
            assert await relay_once(runtime) == [outbox_id]
            assert await execute(runtime, outbox_id) == "succeeded"
        assert await effect_count(db, "dies") == 1
        row = await outbox_row(db, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.done, 2)

    async def test_too_slow_worker_cannot_commit_after_losing_its_lease(
        self, db: Database, runtime: JobRuntime
    ) -> None:
        gates["slow"] = asyncio.Event()
        outbox_id = await enqueue_committed(db, "slow", block_attempt=1)
        slow = asyncio.create_task(execute(runtime, outbox_id))
        await wait_until(lambda: _attempts(db, outbox_id, 1))
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
            assert await relay_once(runtime) == [outbox_id]
            assert await execute(runtime, outbox_id) == "succeeded"
        gates["slow"].set()
        assert await slow == "lease_lost"
        assert await effect_count(db, "slow") == 1
        row = await outbox_row(db, outbox_id)
        assert (row.status, row.attempts) == (OutboxStatus.done, 2)


async def _attempts(db: Database, outbox_id: uuid.UUID, attempts: int) -> bool:
    return (await outbox_row(db, outbox_id)).attempts == attempts


class TestFailures:
    async def test_failing_job_backs_off_then_fails_with_its_error_visible(
        self, db: Database, runtime: JobRuntime
    ) -> None:
        async with db.sessionmaker() as session:
            tenant = Tenant(name="失败租户")
            session.add(tenant)
            await session.flush()
            job = await create_job(
                session, TenantContext.system(tenant.id), "test.always_fails", reason="企业微信拒绝"
            )
            await commit(session)
        (outbox_id,) = runtime.dispatcher.dispatched  # type: ignore[union-attr]
        now = datetime.now(UTC)
        outcomes = []
        for attempt in range(1, 4):
            with time_machine.travel(now, tick=False):
                outcomes.append(await execute(runtime, outbox_id))
                row = await outbox_row(db, outbox_id)
                if attempt < 3:
                    assert row.available_at > now  # backed off
                    assert await relay_once(runtime) == []  # not before the back-off ends
                    async with db.sessionmaker() as session:
                        waiting = await session.get(Job, job.id)
                        assert waiting is not None
                        assert (waiting.status, waiting.error) == (
                            JobStatus.queued,
                            "ValueError: 企业微信拒绝",
                        )
            now = row.available_at + timedelta(seconds=1)
            with time_machine.travel(now, tick=False):
                relayed = await relay_once(runtime)
                assert relayed == ([outbox_id] if attempt < 3 else [])
        assert outcomes == ["retrying", "retrying", "failed"]
        row = await outbox_row(db, outbox_id)
        assert (row.status, row.attempts, row.last_error) == (
            OutboxStatus.failed,
            3,
            "ValueError: 企业微信拒绝",
        )
        async with db.sessionmaker() as session:
            failed = await session.get(Job, job.id)
            assert failed is not None
            assert failed.status == JobStatus.failed
            assert failed.error == "ValueError: 企业微信拒绝"
            assert failed.finished_at is not None

    async def test_backoff_grows(self) -> None:
        from huike.core.tasks import backoff

        assert backoff(2.0, 1) <= timedelta(seconds=2) < backoff(2.0, 3) + timedelta(seconds=3)
        assert backoff(2.0, 20) <= timedelta(seconds=300)
        assert backoff(2.0, 4) >= timedelta(seconds=8)


class TestScheduler:
    async def test_only_one_leader_enqueues_each_slot(self, db: Database) -> None:
        periodic("test.periodic_tick", every_s=60)
        first = JobRuntime(db.sessionmaker, RecordingDispatcher(), worker_id="scheduler-a")
        second = JobRuntime(db.sessionmaker, RecordingDispatcher(), worker_id="scheduler-b")
        ttl = timedelta(seconds=30)
        start = datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            ticks = await asyncio.gather(schedule_once(first, ttl), schedule_once(second, ttl))
            assert await schedule_once(first, ttl) == [] or await schedule_once(second, ttl) == []
        ran = [t for t in ticks if "test.periodic_tick" in t]
        assert len(ran) == 1
        leader, follower = (first, second) if "test.periodic_tick" in ticks[0] else (second, first)
        with time_machine.travel(start + timedelta(seconds=10), tick=False):
            assert await schedule_once(follower, ttl) == []  # the leader's lease holds
            assert await schedule_once(leader, ttl) == []  # same slot: nothing new
        with time_machine.travel(start + timedelta(seconds=120), tick=False):
            # the leader went quiet; its lease expired, the follower takes over the next slot
            assert "test.periodic_tick" in await schedule_once(follower, ttl)
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(select(Outbox.dedupe_key).where(Outbox.task == "test.periodic_tick"))
            ).scalars()
            assert len(list(rows)) == 2


class TestEmbeddedBroker:
    async def test_in_process_broker_runs_the_job_after_commit(self, db: Database) -> None:
        broker = make_broker(None)
        runtime = JobRuntime(db.sessionmaker, TaskiqDispatcher(broker))
        set_runtime(runtime)
        await broker.startup()
        try:
            outbox_id = await enqueue_committed(db, "in-process")
            await wait_until(lambda: _status(db, outbox_id, OutboxStatus.done))
            assert await effect_count(db, "in-process") == 1
        finally:
            await broker.shutdown()
            set_runtime(None)


async def _status(db: Database, outbox_id: uuid.UUID, status: str) -> bool:
    return (await outbox_row(db, outbox_id)).status == status
