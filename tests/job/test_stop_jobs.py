"""R-WX-3 「将您移出应用可见范围」 … stop their jobs: the jobs a member started are stopped when they lose
access (``job.service.stop_jobs_of``, called by the member domain's ``lose_access``). With a real
worker and committed transactions: a queued job never starts; a running job stops at its next
checkpoint, its work since then rolled back, and it ends failed with a reason in the job centre;
other people's jobs run on. Runs on whichever database the suite runs on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
import time_machine
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from huike.core.db import Database, commit
from huike.core.tasks import (
    Job,
    JobContext,
    JobRuntime,
    JobStatus,
    Outbox,
    OutboxStatus,
    create_job,
    execute,
    relay_once,
    set_runtime,
    task,
)
from huike.core.tenancy import TenantContext
from huike.job.service import STOPPED_ERROR, stop_jobs_of
from huike.tenant.models import Tenant
from tests.support import RecordingDispatcher, wait_until

effects_metadata = MetaData()
effects = Table(
    "test_stop_job_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50)),
    Column("step", Integer),
)

gates: dict[str, asyncio.Event] = {}


@task("test.stoppable_work", max_attempts=3, retry_base_s=1.0)
async def stoppable_work(ctx: JobContext, key: str, steps: int = 3) -> dict[str, int]:
    """Writes one effect row per step and checkpoints after each; waits for its gate after the first."""
    for step in range(1, steps + 1):
        await ctx.session.execute(insert(effects).values(key=key, step=step))
        ctx.report(step, steps)
        await ctx.checkpoint()
        if step == 1 and key in gates:
            await gates[key].wait()
    return {"steps": steps}


@task("test.stops_its_own_starter", max_attempts=1)
async def stops_its_own_starter(ctx: JobContext, key: str, user_id: str) -> dict[str, int]:
    """A job that finds its own starter losing access (a sync that notices it) stops nothing of itself."""
    stopped = await stop_jobs_of(ctx.session, ctx.tenant, [uuid.UUID(user_id)])
    await ctx.session.execute(insert(effects).values(key=key, step=1))
    return {"stopped": stopped}


@pytest_asyncio.fixture
async def db(clean_db: Database) -> AsyncIterator[Database]:
    async with clean_db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
        await conn.execute(effects.delete())
    yield clean_db


@pytest_asyncio.fixture
async def runtime(db: Database) -> AsyncIterator[JobRuntime]:
    runtime = JobRuntime(db.sessionmaker, RecordingDispatcher(), visibility_timeout=timedelta(seconds=60))
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


@pytest_asyncio.fixture
async def tenant_id(db: Database) -> uuid.UUID:
    async with db.sessionmaker() as session:
        row = Tenant(name=f"停止任务 {uuid.uuid4().hex[:6]}")
        session.add(row)
        await commit(session)
        return row.id


async def start(
    db: Database, tenant_id: uuid.UUID, starter: uuid.UUID | None, task_name: str, **payload: object
) -> tuple[uuid.UUID, uuid.UUID]:
    """A job ``starter`` started (committed): (job id, outbox id)."""
    async with db.sessionmaker() as session:
        job = await create_job(session, TenantContext(tenant_id, starter), task_name, **payload)
        await commit(session)
        outbox_id = (await session.execute(select(Outbox.id).where(Outbox.job_id == job.id))).scalar_one()
        return job.id, outbox_id


async def stop(db: Database, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
    async with db.sessionmaker() as session:
        stopped = await stop_jobs_of(session, TenantContext.system(tenant_id), [user_id])
        await commit(session)
        return stopped


async def effects_of(db: Database, key: str) -> list[int]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(effects.c.step).where(effects.c.key == key).order_by(effects.c.step)
        )
        return list(rows.scalars())


async def job_row(db: Database, job_id: uuid.UUID) -> Job:
    async with db.sessionmaker() as session:
        row = await session.get(Job, job_id)
        assert row is not None
        return row


async def outbox_status(db: Database, outbox_id: uuid.UUID) -> str:
    async with db.sessionmaker() as session:
        return str((await session.execute(select(Outbox.status).where(Outbox.id == outbox_id))).scalar_one())


async def test_a_queued_job_of_the_member_never_starts(
    db: Database, runtime: JobRuntime, tenant_id: uuid.UUID
) -> None:
    member, colleague = uuid.uuid4(), uuid.uuid4()
    job_id, outbox_id = await start(db, tenant_id, member, "test.stoppable_work", key="queued")
    other_job, other_outbox = await start(db, tenant_id, colleague, "test.stoppable_work", key="colleague")

    assert await stop(db, tenant_id, member) == 1
    assert await execute(runtime, outbox_id) == "skipped"
    assert await effects_of(db, "queued") == []
    stopped = await job_row(db, job_id)
    assert (stopped.status, stopped.error) == (JobStatus.failed, STOPPED_ERROR)
    assert stopped.finished_at is not None
    assert await outbox_status(db, outbox_id) == OutboxStatus.failed
    # nothing delivers it again, even after the lease and dispatch windows have passed
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10), tick=False):
        assert outbox_id not in await relay_once(runtime)
    # a colleague's job runs on
    assert await execute(runtime, other_outbox) == "succeeded"
    assert await effects_of(db, "colleague") == [1, 2, 3]
    assert (await job_row(db, other_job)).status == JobStatus.succeeded
    # stopping again finds nothing left to stop
    assert await stop(db, tenant_id, member) == 0


async def test_a_running_job_stops_at_its_next_checkpoint_and_its_later_work_rolls_back(
    db: Database, runtime: JobRuntime, tenant_id: uuid.UUID
) -> None:
    member = uuid.uuid4()
    gates["running"] = asyncio.Event()
    job_id, outbox_id = await start(db, tenant_id, member, "test.stoppable_work", key="running")
    worker = asyncio.create_task(execute(runtime, outbox_id))
    try:
        await wait_until(lambda: _has_effects(db, "running", 1))  # step 1 committed; now waiting
        assert (await job_row(db, job_id)).status == JobStatus.running

        assert await stop(db, tenant_id, member) == 1
        gates["running"].set()
        assert await asyncio.wait_for(worker, timeout=30) == "lease_lost"
    finally:
        gates["running"].set()
        gates.pop("running", None)
    # step 1 was committed before the stop; step 2 was written but never committed; step 3 never ran
    assert await effects_of(db, "running") == [1]
    stopped = await job_row(db, job_id)
    assert (stopped.status, stopped.error, stopped.progress) == (JobStatus.failed, STOPPED_ERROR, 1)
    assert await outbox_status(db, outbox_id) == OutboxStatus.failed
    assert await execute(runtime, outbox_id) == "skipped"


async def test_a_job_does_not_stop_itself(db: Database, runtime: JobRuntime, tenant_id: uuid.UUID) -> None:
    member = uuid.uuid4()
    queued, queued_outbox = await start(db, tenant_id, member, "test.stoppable_work", key="other")
    job_id, outbox_id = await start(
        db, tenant_id, member, "test.stops_its_own_starter", key="self", user_id=str(member)
    )
    assert await execute(runtime, outbox_id) == "succeeded"
    done = await job_row(db, job_id)
    assert (done.status, done.result) == (JobStatus.succeeded, {"stopped": 1})  # the other one
    assert await effects_of(db, "self") == [1]
    assert (await job_row(db, queued)).status == JobStatus.failed
    assert await execute(runtime, queued_outbox) == "skipped"


async def _has_effects(db: Database, key: str, count: int) -> bool:
    async with db.sessionmaker() as session:
        found = await session.execute(select(func.count()).select_from(effects).where(effects.c.key == key))
        return int(found.scalar_one()) >= count
