"""Durable jobs (docs/adr/0005-durable-jobs.md). No domain imports the broker; they use this module.

* :func:`task` registers a handler; :func:`enqueue` writes an outbox row in the caller's transaction.
* After that transaction commits, the row's id is handed to the broker (:class:`Dispatcher`); a
  rollback discards the row and the dispatch together.
* :func:`execute` runs one outbox row: it claims a lease (a fencing token: the attempt number), runs
  the handler, and marks the row done *in the handler's own transaction*, so the handler's writes and
  "done" commit together or not at all. A delivery that finds the row done or leased does nothing.
* :func:`relay_once` re-dispatches rows whose delivery was lost, whose worker died (lease expired) or
  whose retry back-off has passed. A handler that keeps raising is marked failed with its error.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import structlog
from prometheus_client import Counter
from sqlalchemy import ForeignKey, Index, Integer, String, Text, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, commit, insert_ignore, on_commit, rollback, rowcount, utcnow
from huike.core.tenancy import TenantContext, TenantScoped
from huike.privacy.inventory import (
    SYSTEM_TABLE,
    Erasure,
    Owner,
    Purpose,
    Retention,
    Subject,
    TableInventory,
    describe,
)

log = structlog.get_logger(__name__)

JOBS_FINISHED = Counter("huike_jobs_finished_total", "Outbox jobs finished", ["task", "outcome"])


class OutboxStatus(StrEnum):
    pending = "pending"
    done = "done"
    failed = "failed"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(TenantScoped, Base):
    """A long job that people watch in the console (sync, mass send, export, erasure)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),)
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.customer,
        purposes=(Purpose("service.jobs"),),
        retention=Retention("created", 180, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="created_by",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(100), info=describe("system.job.kind"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, info=describe("system.status"))
    progress: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.job.progress"))
    total: Mapped[int | None] = mapped_column(Integer, info=describe("system.job.progress"))
    error: Mapped[str | None] = mapped_column(
        Text,
        info=describe(
            "system.job.error",
            notes="exception type and message; handlers must not put personal data in messages",
        ),
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(
        info=describe("system.job.result", notes="counts and ids only")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.job.progress"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(info=describe("user.unique_id", personal=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


class Outbox(Base):
    """One durable job delivery; written in the transaction that asked for the job."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_due", "status", "available_at"),)
    __inventory__ = TableInventory(
        subject=Subject.none,
        owner=Owner.platform,
        purposes=(Purpose("service.jobs"),),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.keep,
        notes="done rows are pruned 7 days after they finish (jobs.prune_outbox); the rest go with the tenant",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task: Mapped[str] = mapped_column(String(100), info=describe("system.job.kind"))
    payload: Mapped[dict[str, Any]] = mapped_column(
        info=describe(
            "system.job.arguments",
            notes="row ids and scalars only (AGENTS.md rule 4); no person's id or value today",
        )
    )
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True, info=describe("system.reference")
    )
    status: Mapped[str] = mapped_column(
        String(16), default=OutboxStatus.pending, info=describe("system.status")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    max_attempts: Mapped[int] = mapped_column(Integer, default=5, info=describe("system.counter"))
    available_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
    dispatched_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    leased_until: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    last_error: Mapped[str | None] = mapped_column(Text, info=describe("system.job.error"))
    dedupe_key: Mapped[str | None] = mapped_column(
        String(200), unique=True, info=describe("system.event.dedupe_key")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


# --- registry ------------------------------------------------------------------------------------

Handler = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    handler: Handler
    max_attempts: int
    retry_base_s: float


@dataclass(frozen=True)
class PeriodicSpec:
    task: str
    every_s: float
    offset_s: float = 0.0

    def slot(self, now: datetime) -> int:
        """The time slot ``now`` falls in; slots start ``offset_s`` after multiples of ``every_s``."""
        return int((now.timestamp() - self.offset_s) // self.every_s)


_TASKS: dict[str, TaskSpec] = {}
_PERIODIC: dict[str, PeriodicSpec] = {}


def task(name: str, *, max_attempts: int = 5, retry_base_s: float = 2.0) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx: JobContext, **payload)``. The name is a public contract once queued."""

    def register(handler: Handler) -> Handler:
        if name in _TASKS and _TASKS[name].handler is not handler:
            raise ValueError(f"task {name!r} registered twice")
        _TASKS[name] = TaskSpec(name, handler, max_attempts, retry_base_s)
        return handler

    return register


def periodic(task_name: str, every_s: float, *, offset_s: float = 0.0) -> None:
    """Ask the scheduler leader to enqueue ``task_name`` once every ``every_s`` seconds; its slots
    start ``offset_s`` after the epoch's multiples (a daily job at 18:00 UTC: ``offset_s=18 * 3600``)."""
    _PERIODIC[task_name] = PeriodicSpec(task_name, every_s, offset_s)


def registered_tasks() -> dict[str, TaskSpec]:
    return dict(_TASKS)


def periodic_tasks() -> dict[str, PeriodicSpec]:
    return dict(_PERIODIC)


# --- dispatch ------------------------------------------------------------------------------------


class Dispatcher(Protocol):
    async def dispatch(self, outbox_ids: list[uuid.UUID]) -> None: ...


class JobObserver(Protocol):
    """Someone in this process watching the jobs it runs (``huike sync`` draws its progress bars
    from the same reports the console's job centre shows)."""

    def reported(self, outbox_id: uuid.UUID, progress: int, total: int | None) -> None: ...

    def failed(self, outbox_id: uuid.UUID, error: Exception) -> None: ...


@dataclass
class JobRuntime:
    """What a process needs to move jobs: its session factory, its broker and its timings."""

    sessionmaker: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher | None = None
    visibility_timeout: timedelta = timedelta(seconds=60)
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    observer: JobObserver | None = None


_runtime: JobRuntime | None = None


def set_runtime(runtime: JobRuntime | None) -> None:
    global _runtime
    _runtime = runtime


def get_runtime() -> JobRuntime:
    if _runtime is None:
        raise RuntimeError("job runtime not started")
    return _runtime


async def _dispatch_after_commit(ids: list[uuid.UUID]) -> None:
    runtime = _runtime
    if runtime is None or runtime.dispatcher is None or not ids:
        return  # rows stay pending; the relay dispatches them
    try:
        await runtime.dispatcher.dispatch(ids)
    except Exception as exc:  # the rows are committed: the relay will retry the dispatch
        log.warning("jobs.dispatch_failed", count=len(ids), error_type=type(exc).__name__)


async def enqueue(
    session: AsyncSession,
    task_name: str,
    *,
    tenant_id: uuid.UUID | None = None,
    job: Job | None = None,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
    **payload: Any,
) -> uuid.UUID | None:
    """Write an outbox row in the caller's transaction; it is dispatched only if that transaction commits.

    With ``dedupe_key`` a second enqueue of the same key is ignored (returns None).
    """
    spec = _TASKS.get(task_name)
    if spec is None:
        raise KeyError(f"unknown task {task_name!r}")
    payload = json.loads(json.dumps(payload))  # ids and scalars only: fail here, not in the worker
    if job is not None:
        await session.flush()  # the job row needs its id before the outbox row points at it
        tenant_id = job.tenant_id
    now = utcnow()
    row_id = uuid.uuid4()
    values = {
        "id": row_id,
        "task": task_name,
        "payload": payload,
        "tenant_id": tenant_id,
        "job_id": job.id if job is not None else None,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "max_attempts": spec.max_attempts,
        "available_at": now + delay if delay else now,
        "dispatched_at": None if delay else now,
        "dedupe_key": dedupe_key,
        "created_at": now,
    }
    result = await session.execute(insert_ignore(session, Outbox, ["dedupe_key"]).values(**values))
    if rowcount(result) == 0:
        return None
    if not delay:
        _dispatch_on_commit(session, [row_id])
    return row_id


def _dispatch_on_commit(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    pending: list[uuid.UUID] = session.info.setdefault("huike.outbox_ids", [])
    if not pending:
        on_commit(session, lambda: _dispatch_after_commit(session.info.pop("huike.outbox_ids", [])))
    pending.extend(ids)


async def enqueue_many(
    session: AsyncSession,
    task_name: str,
    items: list[tuple[uuid.UUID | None, dict[str, Any]]],
    *,
    dispatch_on_commit: bool = True,
) -> list[uuid.UUID]:
    """Enqueue one job per ``(tenant_id, payload)`` with a single multi-row INSERT (hot paths).

    With ``dispatch_on_commit=False`` the caller dispatches after its commit (see :func:`dispatch_soon`)."""
    spec = _TASKS.get(task_name)
    if spec is None:
        raise KeyError(f"unknown task {task_name!r}")
    if not items:
        return []
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "task": task_name,
            "payload": json.loads(json.dumps(payload)),
            "tenant_id": tenant_id,
            "job_id": None,
            "status": OutboxStatus.pending,
            "attempts": 0,
            "max_attempts": spec.max_attempts,
            "available_at": now,
            "dispatched_at": now,
            "dedupe_key": None,
            "created_at": now,
        }
        for tenant_id, payload in items
    ]
    await session.execute(insert(Outbox), rows)
    ids = [row["id"] for row in rows]
    if dispatch_on_commit:
        _dispatch_on_commit(session, ids)
    return ids


_background: set[asyncio.Task[None]] = set()


def dispatch_soon(ids: list[uuid.UUID]) -> None:
    """Dispatch committed outbox rows in the background (a hot path must not wait on the broker;
    whatever is not delivered, the relay delivers)."""
    if not ids:
        return
    background = asyncio.get_running_loop().create_task(_dispatch_after_commit(ids))
    _background.add(background)
    background.add_done_callback(_background.discard)


async def create_job(
    session: AsyncSession, ctx: TenantContext, task_name: str, *, total: int | None = None, **payload: Any
) -> Job:
    """A job row people can watch, plus its outbox row, in the caller's transaction."""
    job = Job(tenant_id=ctx.tenant_id, kind=task_name, total=total, created_by=ctx.user_id)
    session.add(job)
    await enqueue(session, task_name, job=job, **payload)
    return job


# --- execution -----------------------------------------------------------------------------------


Checkpoint = Callable[[], Awaitable[None]]
"""What a resumable service function calls to commit its progress (``JobContext.checkpoint`` in a job)."""
Report = Callable[[int, int | None], None]
"""What it calls to report progress (``JobContext.report`` in a job)."""


async def no_checkpoint() -> None:
    """The checkpoint outside a job (tests, CLI): progress commits with the caller's transaction."""


def no_report(progress: int, total: int | None) -> None:
    """The progress report outside a job: nobody is watching."""


class LeaseLost(Exception):
    """Another delivery took over this row (our lease expired); our work must not commit."""


@dataclass
class JobContext:
    session: AsyncSession
    outbox_id: uuid.UUID
    attempt: int
    tenant_id: uuid.UUID | None
    job: Job | None
    runtime: JobRuntime

    @property
    def tenant(self) -> TenantContext:
        if self.tenant_id is None:
            raise RuntimeError("this job has no tenant")
        return TenantContext.system(self.tenant_id)

    def report(self, progress: int, total: int | None = None) -> None:
        if self.job is not None:
            self.job.progress = progress
            if total is not None:
                self.job.total = total
        if self.runtime.observer is not None:
            self.runtime.observer.reported(self.outbox_id, progress, total)

    async def checkpoint(self) -> None:
        """Commit the work so far (and progress) and renew the lease; for long, resumable jobs."""
        await self._renew_lease()
        await commit(self.session)

    async def _renew_lease(self) -> None:
        result = await self.session.execute(
            update(Outbox)
            .where(
                Outbox.id == self.outbox_id,
                Outbox.attempts == self.attempt,
                Outbox.status == OutboxStatus.pending,  # not stopped (stop_jobs)
            )
            .values(leased_until=utcnow() + self.runtime.visibility_timeout)
        )
        if rowcount(result) != 1:
            raise LeaseLost()


async def _claim(runtime: JobRuntime, outbox_id: uuid.UUID) -> tuple[Outbox, int] | None:
    """Take the lease on a pending row, or say why not (done, failed, someone else holds it)."""
    now = utcnow()
    async with runtime.sessionmaker() as session:
        row = await session.get(Outbox, outbox_id)
        if row is None or row.status != OutboxStatus.pending:
            return None
        if row.leased_until is not None and row.leased_until > now:
            return None
        attempt = row.attempts + 1
        result = await session.execute(
            update(Outbox)
            .where(
                Outbox.id == outbox_id, Outbox.attempts == row.attempts, Outbox.status == OutboxStatus.pending
            )
            .values(attempts=attempt, leased_until=now + runtime.visibility_timeout)
        )
        if rowcount(result) != 1:
            await rollback(session)
            return None
        if attempt > row.max_attempts:
            # the worker of the last allowed attempt died mid-job: stop here, visibly
            await _mark_failed(session, row, "worker lost during the last attempt")
            await commit(session)
            return None
        if row.job_id is not None:
            job = await session.get(Job, row.job_id)
            if job is not None:
                job.status = JobStatus.running
                job.attempts = attempt
                job.started_at = job.started_at or now
        await commit(session)
        return row, attempt


async def _mark_failed(session: AsyncSession, row: Outbox, error: str) -> None:
    now = utcnow()
    await session.execute(
        update(Outbox)
        .where(Outbox.id == row.id)
        .values(status=OutboxStatus.failed, last_error=error, leased_until=None, finished_at=now)
    )
    if row.job_id is not None:
        job = await session.get(Job, row.job_id)
        if job is not None:
            job.status, job.error, job.finished_at = JobStatus.failed, error, now
    JOBS_FINISHED.labels(task=row.task, outcome="failed").inc()
    log.error("jobs.failed", task=row.task, outbox_id=str(row.id), error=error)


def backoff(spec_base: float, attempt: int) -> timedelta:
    """Exponential back-off with full jitter, capped at five minutes."""
    ceiling = min(300.0, spec_base * (2 ** (attempt - 1)))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311


async def execute(runtime: JobRuntime, outbox_id: uuid.UUID, *, retry: bool = True) -> str:
    """Run one delivery of an outbox row. Returns what happened (for logs and tests).

    With ``retry=False`` (a caller waiting for the outcome, such as ``huike sync``) a failing attempt
    marks the row failed at once instead of backing off; the job centre can still retry it."""
    claimed = await _claim(runtime, outbox_id)
    if claimed is None:
        return "skipped"
    row, attempt = claimed
    spec = _TASKS.get(row.task)
    bound = log.bind(task=row.task, outbox_id=str(outbox_id), attempt=attempt)
    if spec is None:
        error = f"unknown task {row.task!r}"
    else:
        async with runtime.sessionmaker() as session:
            session.info[RUNNING_JOB] = row.job_id
            job = await session.get(Job, row.job_id) if row.job_id is not None else None
            ctx = JobContext(session, outbox_id, attempt, row.tenant_id, job, runtime)
            try:
                result = await spec.handler(ctx, **row.payload)
                now = utcnow()
                done = await session.execute(
                    update(Outbox)
                    .where(
                        Outbox.id == outbox_id,
                        Outbox.attempts == attempt,
                        Outbox.status == OutboxStatus.pending,
                    )
                    .values(status=OutboxStatus.done, leased_until=None, finished_at=now)
                )
                if rowcount(done) != 1:
                    raise LeaseLost()
                if job is not None:
                    job.status, job.finished_at, job.error = JobStatus.succeeded, now, None
                    if result is not None:
                        job.result = result
                await commit(session)
                JOBS_FINISHED.labels(task=row.task, outcome="succeeded").inc()
                bound.info("jobs.succeeded")
                return "succeeded"
            except LeaseLost:
                await rollback(session)
                bound.warning("jobs.lease_lost")
                return "lease_lost"
            except asyncio.CancelledError:
                await rollback(session)
                raise
            except Exception as exc:
                await rollback(session)
                error = f"{type(exc).__name__}: {exc}"[:2000]
                bound.warning("jobs.attempt_failed", error_type=type(exc).__name__)
                if runtime.observer is not None:
                    runtime.observer.failed(outbox_id, exc)
    return await _after_failure(runtime, row, attempt, error, spec if retry else None)


async def give_up(runtime: JobRuntime, outbox_id: uuid.UUID, error: str) -> bool:
    """Fail a pending delivery now, e.g. one that ``huike sync`` ran in place when it was interrupted
    (no relay may be running to take it over, and a job left "running" would block the next sync).
    The job centre can retry it; a resumable job resumes from its last checkpoint."""
    async with runtime.sessionmaker() as session:
        row = await session.get(Outbox, outbox_id)
        if row is None or row.status != OutboxStatus.pending:
            return False
        await _mark_failed(session, row, error)
        await commit(session)
    return True


RUNNING_JOB = "huike.running_job"
"""``session.info`` key: the job whose handler runs in this session (:func:`execute`)."""


async def stop_jobs(session: AsyncSession, job_ids: list[uuid.UUID], error: str) -> int:
    """Stop queued and running jobs, in the caller's transaction: each job is marked failed with
    ``error`` (people see it in the job centre; the job centre can retry it) and its pending
    deliveries are closed, so a queued one never starts and a running one loses its lease: its next
    checkpoint or its end raises :class:`LeaseLost` and its work since the last checkpoint rolls back.
    The job running in ``session`` itself is left alone (it would roll its own stop back). Returns how
    many jobs were stopped."""
    wanted = [job_id for job_id in dict.fromkeys(job_ids) if job_id != session.info.get(RUNNING_JOB)]
    if not wanted:
        return 0
    now = utcnow()
    # jobs before deliveries: the order a worker's checkpoint writes them in (progress, then lease)
    stopped = (
        await session.execute(
            update(Job)
            .where(Job.id.in_(wanted), Job.status.in_([JobStatus.queued, JobStatus.running]))
            .values(status=JobStatus.failed, error=error, finished_at=now)
            .returning(Job.id, Job.kind)
        )
    ).all()
    if stopped:
        await session.execute(
            update(Outbox)
            .where(
                Outbox.job_id.in_([job_id for job_id, _ in stopped]), Outbox.status == OutboxStatus.pending
            )
            .values(status=OutboxStatus.failed, last_error=error, leased_until=None, finished_at=now)
        )
        for _, kind in stopped:
            JOBS_FINISHED.labels(task=kind, outcome="stopped").inc()
        log.info("jobs.stopped", count=len(stopped))
    return len(stopped)


async def _after_failure(
    runtime: JobRuntime, row: Outbox, attempt: int, error: str, spec: TaskSpec | None
) -> str:
    async with runtime.sessionmaker() as session:
        current = await session.get(Outbox, row.id)
        if current is None or current.attempts != attempt or current.status != OutboxStatus.pending:
            return "lease_lost"
        if spec is None or attempt >= current.max_attempts:  # no spec: unknown task, or no retry
            await _mark_failed(session, current, error)
            await commit(session)
            return "failed"
        current.last_error = error
        current.leased_until = None
        current.dispatched_at = None
        current.available_at = utcnow() + backoff(spec.retry_base_s, attempt)
        if current.job_id is not None:
            job = await session.get(Job, current.job_id)
            if job is not None:
                job.status, job.error = JobStatus.queued, error
        await commit(session)
        return "retrying"


# --- relay and scheduler ---------------------------------------------------------------------------


async def relay_once(runtime: JobRuntime, *, limit: int = 500) -> list[uuid.UUID]:
    """Dispatch rows that are due and not in anyone's hands: lost deliveries, dead workers, retries."""
    now = utcnow()
    stale = now - runtime.visibility_timeout
    async with runtime.sessionmaker() as session:
        ids = list(
            (
                await session.execute(
                    select(Outbox.id)
                    .where(
                        Outbox.status == OutboxStatus.pending,
                        Outbox.available_at <= now,
                        or_(Outbox.dispatched_at.is_(None), Outbox.dispatched_at < stale),
                        or_(Outbox.leased_until.is_(None), Outbox.leased_until < now),
                    )
                    .order_by(Outbox.available_at)
                    .limit(limit)
                )
            ).scalars()
        )
        if not ids:
            return []
        await session.execute(update(Outbox).where(Outbox.id.in_(ids)).values(dispatched_at=now))
        await commit(session)
    if runtime.dispatcher is not None:
        await runtime.dispatcher.dispatch(ids)
    return ids


class SchedulerLease(Base):
    """Which scheduler process leads; the leader alone enqueues periodic jobs."""

    __tablename__ = "scheduler_leases"
    __inventory__ = SYSTEM_TABLE

    name: Mapped[str] = mapped_column(String(50), primary_key=True, info=describe("system.lease"))
    holder: Mapped[str] = mapped_column(String(64), info=describe("system.lease"))
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))


async def acquire_leadership(runtime: JobRuntime, ttl: timedelta, name: str = "scheduler") -> bool:
    now = utcnow()
    async with runtime.sessionmaker() as session:
        await session.execute(
            insert_ignore(session, SchedulerLease, ["name"]).values(
                name=name, holder=runtime.worker_id, expires_at=now + ttl
            )
        )
        await session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == runtime.worker_id, SchedulerLease.expires_at < now),
            )
            .values(holder=runtime.worker_id, expires_at=now + ttl)
        )
        holder = (
            await session.execute(select(SchedulerLease.holder).where(SchedulerLease.name == name))
        ).scalar()
        await commit(session)
    return holder == runtime.worker_id


async def schedule_once(runtime: JobRuntime, ttl: timedelta) -> list[str]:
    """One scheduler tick: if we lead, enqueue each periodic job due in the current slot."""
    if not await acquire_leadership(runtime, ttl):
        return []
    now = utcnow()
    enqueued: list[str] = []
    async with runtime.sessionmaker() as session:
        for spec in _PERIODIC.values():
            slot = spec.slot(now)
            if await enqueue(session, spec.task, dedupe_key=f"periodic:{spec.task}:{slot}"):
                enqueued.append(spec.task)
        await commit(session)
    return enqueued


async def run_scheduler_loop(runtime: JobRuntime, interval_s: float, lease_s: float) -> None:
    """Tick forever: relay what is due and, when leading, enqueue periodic jobs."""
    ttl = timedelta(seconds=lease_s)
    while True:
        try:
            await schedule_once(runtime, ttl)
            await relay_once(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("scheduler.tick_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval_s)


# --- housekeeping --------------------------------------------------------------------------------


@task("jobs.prune_outbox", max_attempts=3)
async def prune_outbox(ctx: JobContext, keep_days: int = 7) -> dict[str, Any]:
    """Delete finished deliveries older than ``keep_days`` (the job rows people see stay)."""
    from sqlalchemy import delete

    cutoff = utcnow() - timedelta(days=keep_days)
    result = await ctx.session.execute(
        delete(Outbox).where(Outbox.status == OutboxStatus.done, Outbox.finished_at < cutoff)
    )
    return {"deleted": rowcount(result)}


periodic("jobs.prune_outbox", every_s=3600)
