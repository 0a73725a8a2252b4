"""Full syncs of a tenant's WeCom data across the domains that mirror it.

Each domain owns its full sync: a durable, resumable job (``member.sync_from_wecom``,
``tag.sync_from_wecom``, ``external_contact.sync_from_wecom``, ``group_chat.sync_from_wecom``) that
its ``start_sync`` queues with a job row, refusing while one of the tenant's is queued or running. This
module only orders them and runs them:

* :data:`ORDER`: members first (customers and groups point at members), then tags (customers carry
  them), then customers, then groups.
* :func:`start` + :func:`run_job`: queue a domain's job through its own ``start_sync`` (so the one
  lock every entry point shares applies) and run it *in this process* (``huike sync``, the demo seed
  outside a server), or wait for the server's workers to run it (the demo seed inside ``huike run``).
  A job that is already queued or running is answered with :class:`SyncAlreadyRunning`, precisely.
* :func:`schedule_daily` + :func:`daily_step`: the daily sync of every connected tenant, spread over a
  night window; members and tags first, customers and groups once those have finished. A domain whose
  last sync succeeded within :data:`FRESH` is skipped, so a rerun over unchanged data costs nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from huike.core.db import utcnow
from huike.core.i18n import translate
from huike.core.tasks import Job, JobRuntime, JobStatus, Outbox, OutboxStatus, enqueue, execute, give_up
from huike.core.tenancy import TenantContext
from huike.external_contact import errors as contact_errors
from huike.external_contact import service as customers
from huike.group_chat import errors as group_errors
from huike.group_chat import service as groups
from huike.member import errors as member_errors
from huike.member import service as members
from huike.sync.errors import SyncAlreadyRunning, TenantAmbiguous, TenantNotFound
from huike.sync.repository import SyncJobRepository, tenants_named
from huike.tag import service as tags
from huike.tenant.models import Tenant

log = structlog.get_logger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
DAILY_TASK = "sync.daily"
TENANT_TASK = "sync.tenant_daily"
DAILY_EVERY = timedelta(days=1)
DAILY_AT = timedelta(hours=18)  # UTC: 02:00 in China, when nobody works in the console
DAILY_WINDOW = timedelta(hours=3)  # tenants are spread over 02:00–05:00
FRESH = timedelta(hours=12)  # a domain synced this recently is not synced again by the daily run
WAIT = timedelta(seconds=30)  # how often the daily run looks whether members and tags are done
MAX_WAIT = timedelta(hours=6)  # after that, customers and groups go ahead anyway


@dataclass(frozen=True)
class Counts:
    """What a sync did, in the four numbers ``huike sync`` prints."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


def _n(result: Mapping[str, Any], *names: str) -> int:
    return sum(int(result.get(name, 0) or 0) for name in names)


def _member_counts(result: Mapping[str, Any]) -> Counts:
    created = _n(result, "created")
    # a new member is listed (created), then its details are read (counted as updated too)
    updated = max(0, _n(result, "updated") - created)
    deleted = _n(result, "deleted", "out_of_scope")
    return Counts(created, updated, deleted, max(0, _n(result, "members") - created - updated - deleted))


def _tag_counts(result: Mapping[str, Any]) -> Counts:
    return Counts(
        _n(result, "groups_created", "tags_created"),
        _n(result, "groups_updated", "tags_updated"),
        _n(result, "groups_deleted", "tags_deleted"),
        _n(result, "unchanged"),
    )


def _customer_counts(result: Mapping[str, Any]) -> Counts:
    created, updated = _n(result, "contacts_created"), _n(result, "contacts_updated")
    # deleted: relationships WeCom no longer has (a customer may stay with another member)
    deleted = _n(result, "relations_removed")
    return Counts(created, updated, deleted, max(0, _n(result, "contacts") - created - updated))


def _group_counts(result: Mapping[str, Any]) -> Counts:
    created, updated, deleted = _n(result, "created"), _n(result, "updated"), _n(result, "dismissed")
    return Counts(created, updated, deleted, max(0, _n(result, "listed") - created - updated - deleted))


@dataclass(frozen=True)
class SyncDomain:
    name: str
    task: str
    start_sync: Callable[[AsyncSession, TenantContext], Awaitable[Job]]
    counts: Callable[[Mapping[str, Any]], Counts]

    @property
    def label(self) -> str:
        """The domain's name in the current locale (messages ``sync.domain.<name>``, errors.py)."""
        return translate(f"sync.domain.{self.name}")


# the task names are the domains' public job contracts (what their start_sync queues)
DOMAINS: dict[str, SyncDomain] = {
    domain.name: domain
    for domain in (
        SyncDomain("members", "member.sync_from_wecom", members.start_sync, _member_counts),
        SyncDomain("tags", "tag.sync_from_wecom", tags.start_sync, _tag_counts),
        SyncDomain(
            "customers",
            "external_contact.sync_from_wecom",
            customers.start_sync,
            _customer_counts,
        ),
        SyncDomain(
            "groups",
            "group_chat.sync_from_wecom",
            groups.start_sync,
            _group_counts,
        ),
    )
}
ORDER: tuple[str, ...] = ("members", "tags", "customers", "groups")
DAILY_PHASES: tuple[tuple[str, ...], ...] = (("members", "tags"), ("customers", "groups"))
_RUNNING_ERRORS = (member_errors.SyncRunning, contact_errors.SyncRunning, group_errors.SyncRunning)


async def find_tenant(session: AsyncSession, reference: str) -> Tenant:
    """The tenant an operator named by id or exact company name."""
    found = await tenants_named(session, reference)
    if not found:
        raise TenantNotFound(tenant=reference)
    if len(found) > 1:
        raise TenantAmbiguous(tenant=reference, ids=", ".join(str(t.id) for t in found))
    return found[0]


def local_time(at: datetime | None) -> str:
    if at is None:
        return "-"
    aware = at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def already_running(domain: SyncDomain, job: Job) -> SyncAlreadyRunning:
    status = job.status
    if status in (JobStatus.queued, JobStatus.running):
        status = translate(f"sync.job_status.{status}")
    total = job.total or 100
    return SyncAlreadyRunning(
        domain=domain.label,
        job_id=str(job.id),
        status=status,
        progress=f"{min(100, 100 * (job.progress or 0) // max(1, total))}%",
        started_at=local_time(job.started_at or job.created_at),
    )


@dataclass(frozen=True)
class Started:
    domain: SyncDomain
    job_id: uuid.UUID
    outbox_id: uuid.UUID | None


async def start(session: AsyncSession, ctx: TenantContext, domain: SyncDomain) -> Started:
    """Queue the domain's full sync through its own ``start_sync`` (in the caller's transaction).
    Raises :class:`SyncAlreadyRunning` when the tenant has one queued or running."""
    jobs = SyncJobRepository(session, ctx)
    running = await jobs.unfinished(domain.task)
    if running is not None:
        raise already_running(domain, running)
    asked_at = utcnow()
    try:
        job = await domain.start_sync(session, ctx)
    except _RUNNING_ERRORS as exc:  # started by someone else since we looked
        other = await jobs.get(uuid.UUID(str(exc.details["job_id"])))
        if other is None:
            raise
        raise already_running(domain, other) from exc
    await session.flush()
    if job.created_at < asked_at:  # the tag domain hands back the job it already has
        raise already_running(domain, job)
    outbox_id = await session.scalar(
        select(Outbox.id).where(Outbox.job_id == job.id, Outbox.status == OutboxStatus.pending)
    )
    return Started(domain, job.id, outbox_id)


async def wait_for(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID, *, poll_s: float = 0.5
) -> Job | None:
    """The job row once it has succeeded or failed (someone else's workers run it)."""
    while True:
        async with sessionmaker() as session:
            job = await session.get(Job, job_id)
        if job is None or job.status in (JobStatus.succeeded, JobStatus.failed):
            return job
        await asyncio.sleep(poll_s)


async def run_job(runtime: JobRuntime, started: Started) -> Job | None:
    """Run the started job here when this process has no broker (a failure fails it at once: the
    caller is waiting; so does an interruption), else wait for the broker's workers to run it."""
    if started.outbox_id is not None and runtime.dispatcher is None:
        try:
            await execute(runtime, started.outbox_id, retry=False)
        except asyncio.CancelledError:
            await asyncio.shield(give_up(runtime, started.outbox_id, "interrupted"))
            raise
    return await wait_for(runtime.sessionmaker, started.job_id)


# --- the daily sync -----------------------------------------------------------------------------------


def stagger(tenant_id: uuid.UUID, window: timedelta = DAILY_WINDOW) -> timedelta:
    """Where in the night window the tenant's daily sync starts: the same place every day, and
    tenants spread evenly over the window, so WeCom's per-IP limits and the workers see a trickle."""
    digest = int.from_bytes(hashlib.sha256(tenant_id.bytes).digest()[:8], "big")
    return timedelta(seconds=digest % max(1, int(window.total_seconds())))


async def schedule_daily(session: AsyncSession, *, now: datetime | None = None) -> dict[str, int]:
    """``sync.daily``: one staggered ``sync.tenant_daily`` per tenant whose WeCom connection works
    (a broken one would only fail four times; the console shows it broken already)."""
    from huike.wecom.service import connected_tenants

    now = now or utcnow()
    day = int((now.timestamp() - DAILY_AT.total_seconds()) // DAILY_EVERY.total_seconds())
    queued = 0
    for tenant_id in await connected_tenants(session):
        if await enqueue(
            session,
            TENANT_TASK,
            tenant_id=tenant_id,
            delay=stagger(tenant_id),
            dedupe_key=f"{TENANT_TASK}:{tenant_id}:{day}",
            since=now.isoformat(),
        ):
            queued += 1
    log.info("sync.daily_scheduled", tenants=queued)
    return {"tenants": queued}


async def daily_step(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    phase: int,
    waiting: list[str],
    since: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``sync.tenant_daily``: start the syncs of ``DAILY_PHASES[phase]`` once the jobs of the phase
    before (``waiting``) have finished; looks again every :data:`WAIT` meanwhile."""
    from huike.wecom.models import ConnectionStatus
    from huike.wecom.service import get_connection

    now = now or utcnow()
    connection = await get_connection(session, ctx)
    if connection is None or connection.status != ConnectionStatus.connected:
        log.info("sync.daily_skipped", reason="connection")
        return {"skipped": "connection"}
    jobs = SyncJobRepository(session, ctx)
    pending = await jobs.still_unfinished([uuid.UUID(i) for i in waiting])
    started_at = datetime.fromisoformat(since)
    if pending and now - started_at < MAX_WAIT:
        await enqueue(
            session,
            TENANT_TASK,
            tenant_id=ctx.tenant_id,
            delay=WAIT,
            phase=phase,
            waiting=[str(i) for i in pending],
            since=since,
        )
        return {"phase": phase, "waiting": len(pending)}
    queued: list[str] = []
    skipped: list[str] = []
    follow: list[str] = []
    for name in DAILY_PHASES[phase]:
        domain = DOMAINS[name]
        if await jobs.succeeded_since(domain.task, now - FRESH) is not None:
            skipped.append(name)
            continue
        try:
            started = await start(session, ctx, domain)
        except SyncAlreadyRunning as running:
            follow.append(str(running.details["job_id"]))
            skipped.append(name)
            continue
        follow.append(str(started.job_id))
        queued.append(name)
    if phase + 1 < len(DAILY_PHASES):
        await enqueue(
            session,
            TENANT_TASK,
            tenant_id=ctx.tenant_id,
            delay=WAIT,
            phase=phase + 1,
            waiting=follow,
            since=since,
        )
    log.info("sync.daily_phase", phase=phase, queued=len(queued), skipped=len(skipped))
    return {"phase": phase, "queued": queued, "skipped": skipped}
