"""R-WX-3 (§一（一）1b 「将您移出应用可见范围」): when WeCom reports that a member left the app's visible
range (change_contact delete_user / update_user), the member is marked out of scope, all their
server-side sessions are revoked and a later QR login is refused. A reconciliation against the
visible range every 24 h catches callbacks that never arrived. The jobs the member started and that
are still queued or running are stopped (a running one at its next checkpoint: tests/job/
test_stop_jobs.py); other people's jobs go on. The member's customer usage data stays with the
customer.

Acceptance: after the callback, the old cookie → 401 and QR login is refused; if the callback is
dropped, reconciliation reaches the same state.

Not covered: ``change_auth`` is a third-party (suite) app event; Huike connects self-built apps,
which receive visibility changes as change_contact events (see the issue report)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import User
from huike.core.db import utcnow
from huike.core.tasks import (
    Job,
    JobContext,
    JobStatus,
    Outbox,
    create_job,
    periodic_tasks,
    registered_tasks,
    task,
)
from huike.core.tenancy import TenantContext
from huike.job.service import STOPPED_ERROR
from huike.member import service as members
from huike.member.models import Member
from huike.member.repository import SYNC_TASK
from huike.privacy.audit.models import AuditEvent
from huike.sync import service as sync
from huike.tenant.models import Tenant
from tests.member.conftest import CORP, Emulator, deliver, emulator_members, member_by_userid
from tests.member.test_access import activate, qr_login
from wecom_emulator.callbacks import emit

pytestmark = pytest.mark.usefixtures("wired", "synced")

WORK = "test.member_removal_work"


@task(WORK)
async def some_work(ctx: JobContext) -> None:
    """Stands in for a member's long job (an export, a bulk tag): only its rows matter here."""


async def start_jobs(session: AsyncSession, tenant_id: uuid.UUID, starter: uuid.UUID) -> list[uuid.UUID]:
    """Two jobs ``starter`` started: one queued, one a worker is running (claimed, leased)."""
    ctx = TenantContext(tenant_id, starter)
    queued = await create_job(session, ctx, WORK)
    running = await create_job(session, ctx, WORK)
    await session.flush()
    await session.execute(
        update(Outbox)
        .where(Outbox.job_id == running.id)
        .values(attempts=1, leased_until=utcnow() + timedelta(minutes=1))
    )
    running.status, running.attempts = JobStatus.running, 1
    job_ids = [queued.id, running.id]
    await session.commit()
    return job_ids


async def job_states(session: AsyncSession, job_ids: list[uuid.UUID]) -> list[tuple[str, str | None, str]]:
    """(job status, job error, delivery status) of each job."""
    rows = await session.execute(
        select(Job.status, Job.error, Outbox.status)
        .join(Outbox, Outbox.job_id == Job.id)
        .where(Job.id.in_(job_ids))
        .order_by(Job.created_at, Job.id)
        .execution_options(populate_existing=True)
    )
    return [(str(a), b, str(c)) for a, b, c in rows.all()]


async def member_jobs(
    session: AsyncSession, tenant_id: uuid.UUID, userid: str, admin_user: uuid.UUID
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The activated member's two jobs and one of the admin's: (the member's, the admin's)."""
    member = await member_by_userid(session, tenant_id, userid)
    assert member.user_id is not None
    theirs = await start_jobs(session, tenant_id, member.user_id)
    admins = (await start_jobs(session, tenant_id, admin_user))[:1]
    assert [state for state, _, _ in await job_states(session, theirs + admins)] == [
        "queued",
        "running",
        "queued",
    ]
    return theirs, admins


async def revocations(session: AsyncSession, tenant_id: uuid.UUID) -> list[AuditEvent]:
    rows = await session.execute(
        select(AuditEvent).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.action == "member.access_revoked"
        )
    )
    return list(rows.scalars())


async def assert_removed(
    app: FastAPI,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    emulator: Emulator,
    browser: httpx.AsyncClient,
    userid: str,
    jobs: tuple[list[uuid.UUID], list[uuid.UUID]],
) -> None:
    """The state R-WX-3 asks for: out of scope, the old cookie 401, QR login refused, the member's jobs
    stopped (others' not), one audit row."""
    member = await member_by_userid(session, tenant_id, userid)
    assert member.in_scope is False
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    assert (await browser.get("/api/v1/members")).status_code == 401
    again, result = await qr_login(app, emulator, userid)
    assert result.status_code == 401
    assert result.json()["error"]["code"] == "auth.member_out_of_scope"
    assert "huike_session" not in result.headers.get("set-cookie", "")
    await again.aclose()
    theirs, others = jobs
    assert await job_states(session, theirs) == [("failed", STOPPED_ERROR, "failed")] * 2
    assert await job_states(session, others) == [("queued", None, "pending")]
    revoked = await revocations(session, tenant_id)
    assert len(revoked) == 1
    assert (revoked[0].details["sessions_revoked"], revoked[0].details["jobs_stopped"]) == (1, 2)
    # the member's customer usage data stays with the customer: the member row is kept
    assert await session.scalar(select(func.count()).select_from(Member).where(Member.id == member.id)) == 1


@pytest.mark.parametrize("change", ["delete_user", "update_user"])
async def test_r_wx_3_after_the_callback_the_old_cookie_is_401_and_qr_login_refused(
    app: FastAPI,
    admin: httpx.AsyncClient,
    admin_user: User,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    change: str,
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    row = emulator_members(state, "visible = 1 AND status = 1")[1]
    browser = await activate(app, admin, session, tenant_id, emulator, row["userid"])
    assert (await browser.get("/api/v1/members")).status_code == 200
    jobs = await member_jobs(session, tenant_id, row["userid"], admin_user.id)
    # the admin takes the member out of the app's visible range; WeCom calls back
    state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (row["pk"],))
    state.clock.advance(1)
    emit(state, state.corp(CORP), "change_contact", change, [("UserID", row["userid"])])
    assert await deliver(session, tenant_id, state) == 1
    await assert_removed(app, session, tenant_id, emulator, browser, row["userid"], jobs)
    await browser.aclose()


def test_r_wx_3_reconciliation_runs_every_24_hours() -> None:
    # the daily full sync of every connected tenant (huike.sync) is the reconciliation
    assert periodic_tasks()[sync.DAILY_TASK].every_s == 24 * 3600
    assert "members" in sync.DAILY_PHASES[0]
    assert {sync.DAILY_TASK, sync.TENANT_TASK} <= set(registered_tasks())


async def test_r_wx_3_a_dropped_callback_is_caught_by_reconciliation(
    app: FastAPI,
    admin: httpx.AsyncClient,
    admin_user: User,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    row = emulator_members(state, "visible = 1 AND status = 1")[1]
    browser = await activate(app, admin, session, tenant_id, emulator, row["userid"])
    jobs = await member_jobs(session, tenant_id, row["userid"], admin_user.id)
    # out of the visible range, and the callback never arrives
    state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (row["pk"],))
    assert (await browser.get("/api/v1/members")).status_code == 200  # not noticed yet
    # the daily job queues one run per connected tenant (once a day), whose first phase syncs members
    assert await sync.schedule_daily(session) == {"tenants": 1}
    assert await sync.schedule_daily(session) == {"tenants": 0}
    since = utcnow().isoformat()
    step = await sync.daily_step(session, TenantContext.system(tenant_id), phase=0, waiting=[], since=since)
    assert "members" in step["queued"]
    job = (
        await session.execute(select(Job).where(Job.tenant_id == tenant_id, Job.kind == SYNC_TASK))
    ).scalar_one()
    await session.commit()
    # what the worker runs for that job (huike.member.tasks.sync_from_wecom)
    await members.sync_from_wecom(session, TenantContext.system(tenant_id), job.id)
    await session.commit()
    await assert_removed(app, session, tenant_id, emulator, browser, row["userid"], jobs)
    await browser.aclose()
