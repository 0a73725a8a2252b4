"""Group commit for inbound callbacks.

Each callback request hands its event to the :class:`InboxWriter` and waits. The writer gathers the
events that arrive within a couple of milliseconds (up to a batch size), inserts them with one
``INSERT … ON CONFLICT DO NOTHING RETURNING`` plus one processing job per tenant in the batch, commits once, and only then releases the waiting requests, which answer WeCom ``success``.
An event is acknowledged only after it is durable; if the commit fails, every request of the batch
answers 500 and WeCom retries. Duplicates (WeCom's retries, or the same event twice in one batch) land
on the row that is already there and enqueue nothing.

This exists because one ORM transaction per callback caps a worker at a few hundred events/s
(docs/architecture.md measurements); a shared transaction per batch keeps up with the crypto.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import structlog
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import commit, insert_ignore, rollback, utcnow
from huike.core.tasks import dispatch_soon, enqueue_many
from huike.wecom import events
from huike.wecom import tasks as _tasks  # noqa: F401  (registers the job the writer enqueues)
from huike.wecom.models import InboxEvent, InboxStatus

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "huike_wecom_inbox_batch_size",
    "Callbacks committed together",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)

SessionScope = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class _Pending:
    tenant_id: uuid.UUID
    fields: events.EventFields
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class InboxWriter:
    def __init__(
        self,
        session_scope: SessionScope,
        *,
        read_scope: SessionScope | None = None,
        max_batch: int = 500,
        max_wait_s: float = 0.002,
    ) -> None:
        self.session_scope = session_scope
        self.read_scope = read_scope or session_scope  # for lookups before submitting
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="wecom-inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(self, tenant_id: uuid.UUID, fields: events.EventFields) -> bool:
        """Wait until the event is committed; True if it was new, False for a duplicate."""
        self.start()
        assert self._queue is not None
        pending = _Pending(tenant_id, fields)
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                outcomes = await self.write(batch)
            except Exception as exc:
                log.warning("wecom.inbox.batch_failed", size=len(batch), error_type=type(exc).__name__)
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            BATCH_SIZE.observe(len(batch))
            for item, new in zip(batch, outcomes, strict=True):
                if not item.done.done():
                    item.done.set_result(new)

    async def write(self, batch: list[_Pending]) -> list[bool]:
        now = utcnow()
        keys = [(item.tenant_id, events.dedupe_key(item.fields)) for item in batch]
        rows = []
        first_seen: dict[tuple[uuid.UUID, str], int] = {}
        for index, (item, key) in enumerate(zip(batch, keys, strict=True)):
            if key in first_seen:
                continue
            first_seen[key] = index
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": item.tenant_id,
                    "dedupe_key": key[1],
                    "event": str(item.fields.get("Event", "")),
                    "change_type": str(item.fields.get("ChangeType", "")),
                    "event_time": _int(item.fields.get("CreateTime")),
                    "payload": events.keep(item.fields),
                    "status": InboxStatus.received,
                    "received_at": now,
                }
            )
        async with self.session_scope() as session:
            try:
                statement = insert_ignore(session, InboxEvent, ["tenant_id", "dedupe_key"]).returning(
                    InboxEvent.id, InboxEvent.tenant_id, InboxEvent.dedupe_key
                )
                inserted = {(r.tenant_id, r.dedupe_key): r.id for r in await session.execute(statement, rows)}
                by_tenant: dict[uuid.UUID, list[str]] = {}
                for (tenant_id, _), row_id in inserted.items():
                    by_tenant.setdefault(tenant_id, []).append(str(row_id))
                job_ids = await enqueue_many(
                    session,
                    "wecom.process_events",
                    [(tenant_id, {"event_ids": ids}) for tenant_id, ids in by_tenant.items()],
                    dispatch_on_commit=False,
                )
                await commit(session)
            except BaseException:
                await rollback(session)
                raise
        dispatch_soon(job_ids)
        return [key in inserted and first_seen[key] == index for index, key in enumerate(keys)]


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def sessionmaker_scope(factory: Callable[[], AsyncSession]) -> SessionScope:
    @contextlib.asynccontextmanager
    async def scope() -> AsyncIterator[AsyncSession]:
        async with factory() as session:
            yield session

    return scope
