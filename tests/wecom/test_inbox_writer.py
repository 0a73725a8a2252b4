"""Group commit of callbacks: many requests share one transaction, each is answered only after its
event is durable, duplicates enqueue nothing, and a failed batch acknowledges nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from huike.core.db import Database
from huike.core.tasks import JobRuntime, Outbox, set_runtime
from huike.tenant.models import Tenant
from huike.wecom.inbox import InboxWriter, sessionmaker_scope
from huike.wecom.models import InboxEvent
from tests.support import RecordingDispatcher, wait_until


def event(n: int, corp: str = "ww1") -> dict[str, str | list[str]]:
    return {
        "ToUserName": corp,
        "CreateTime": str(1_700_000_000 + n),
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": "zhangsan",
        "ExternalUserID": f"wm{n:030d}",
    }


async def make_tenant(db: Database) -> uuid.UUID:
    async with db.sessionmaker() as session:
        tenant = Tenant(name="批量租户")
        session.add(tenant)
        await session.commit()
        return tenant.id


async def count(db: Database, model: type[object]) -> int:
    async with db.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()  # type: ignore[arg-type]


async def test_concurrent_callbacks_share_batches_and_duplicates_count_once(clean_db: Database) -> None:
    dispatcher = RecordingDispatcher()
    set_runtime(JobRuntime(clean_db.sessionmaker, dispatcher))
    tenant_id = await make_tenant(clean_db)
    writer = InboxWriter(sessionmaker_scope(clean_db.sessionmaker), max_batch=64, max_wait_s=0.01)
    try:
        submissions = [event(n % 150) for n in range(300)]  # every event twice, the copies interleaved
        outcomes = await asyncio.gather(*(writer.submit(tenant_id, fields) for fields in submissions))
        jobs = await count(clean_db, Outbox)
        await wait_until(lambda: len(dispatcher.dispatched) == jobs)  # dispatched in the background
    finally:
        await writer.stop()
        set_runtime(None)
    assert sum(outcomes) == 150
    assert await count(clean_db, InboxEvent) == 150
    # one processing job per committed batch, together naming every stored event exactly once
    async with clean_db.sessionmaker() as session:
        payloads = (await session.execute(select(Outbox.payload))).scalars().all()
        stored = set((await session.execute(select(InboxEvent.id))).scalars())
    named = [event_id for payload in payloads for event_id in payload["event_ids"]]
    assert sorted(named) == sorted(str(i) for i in stored)
    assert 1 < len(payloads) < 150


async def test_a_failed_batch_acknowledges_nothing(clean_db: Database) -> None:
    set_runtime(JobRuntime(clean_db.sessionmaker, RecordingDispatcher()))
    writer = InboxWriter(sessionmaker_scope(clean_db.sessionmaker), max_batch=10, max_wait_s=0.01)
    missing_tenant = uuid.uuid4()  # violates the tenant foreign key: the whole batch fails
    tenant_id = await make_tenant(clean_db)
    try:
        results = await asyncio.gather(
            writer.submit(tenant_id, event(1)),
            writer.submit(missing_tenant, event(2)),
            return_exceptions=True,
        )
        assert all(isinstance(r, Exception) for r in results)
        assert await count(clean_db, InboxEvent) == 0
        assert await count(clean_db, Outbox) == 0
        # the writer keeps going after a failed batch
        assert await writer.submit(tenant_id, event(3)) is True
    finally:
        await writer.stop()
        set_runtime(None)
    assert await count(clean_db, InboxEvent) == 1


@pytest.mark.parametrize("copies", [2, 5])
async def test_retries_after_the_first_ack_are_duplicates(clean_db: Database, copies: int) -> None:
    set_runtime(JobRuntime(clean_db.sessionmaker, RecordingDispatcher()))
    tenant_id = await make_tenant(clean_db)
    writer = InboxWriter(sessionmaker_scope(clean_db.sessionmaker))
    try:
        outcomes = [await writer.submit(tenant_id, event(7)) for _ in range(copies)]
    finally:
        await writer.stop()
        set_runtime(None)
    assert outcomes == [True] + [False] * (copies - 1)
