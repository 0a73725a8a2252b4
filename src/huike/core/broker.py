"""The one place that knows Taskiq. Embedded mode: an in-process broker. Scale mode: Redis Streams,
acknowledged after execution, consumed by ``huike worker`` processes. Messages carry only an outbox id;
the outbox row is the truth (see huike.core.tasks)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog

from huike.core.tasks import JobRuntime, execute, get_runtime

log = structlog.get_logger(__name__)

OUTBOX_TASK = "huike.outbox.run"
STREAM = "huike:jobs"


def make_broker(redis_url: str | None) -> Any:
    if redis_url:
        from taskiq_redis import RedisStreamBroker

        broker: Any = RedisStreamBroker(
            redis_url,
            queue_name=STREAM,
            consumer_group_name="huike-workers",
            idle_timeout=120_000,
        )
    else:
        from taskiq import InMemoryBroker

        broker = InMemoryBroker(max_async_tasks=8)

    @broker.task(task_name=OUTBOX_TASK)  # type: ignore[untyped-decorator]
    async def run_outbox(outbox_id: str) -> str:
        return await execute(get_runtime(), uuid.UUID(outbox_id))

    broker.huike_run_outbox = run_outbox
    return broker


class TaskiqDispatcher:
    def __init__(self, broker: Any) -> None:
        self.broker = broker

    async def dispatch(self, outbox_ids: list[uuid.UUID]) -> None:
        kicker = self.broker.huike_run_outbox
        for start in range(0, len(outbox_ids), 64):  # a few dozen in flight, not one round trip each
            await asyncio.gather(*(kicker.kiq(str(i)) for i in outbox_ids[start : start + 64]))


async def broker_ready(runtime: JobRuntime, redis_url: str | None) -> bool:
    if not redis_url:
        return runtime.dispatcher is not None
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def run_worker(broker: Any, *, max_async_tasks: int = 16) -> None:
    """Consume the Redis stream until cancelled, acknowledging each message after it ran."""
    from taskiq.acks import AcknowledgeType
    from taskiq.api import run_receiver_task

    await broker.startup()
    try:
        await run_receiver_task(
            broker,
            max_async_tasks=max_async_tasks,
            ack_time=AcknowledgeType.WHEN_EXECUTED,
            propagate_exceptions=False,
            run_startup=False,
        )
    finally:
        await broker.shutdown()
