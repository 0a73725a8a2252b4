"""The full sync as a durable job on a database where work really commits: the job row and its
progress, checkpoints, and a 45009 storm mid-sync that fails an attempt, after which the retried job
resumes where it stopped (and a token WeCom no longer accepts is refreshed on the way)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from sqlalchemy import func, select

from huike import registry
from huike.account.models import Membership, User
from huike.config import Settings
from huike.core.db import Database, commit
from huike.core.tasks import Job, JobRuntime, Outbox, execute, set_runtime
from huike.core.tenancy import TenantContext
from huike.member import service as members
from huike.member.models import Member, MemberSyncState
from huike.privacy.egress import EgressClient
from huike.security.keys import configure_keys, ensure_keys, set_keyring
from huike.tenant.models import Tenant
from huike.wecom import service as wecom_service
from huike.wecom.runtime import WeComRuntime, set_wecom_runtime
from huike.wecom.schemas import ConnectionIn
from huike.wecom.tokens import MemoryTokenCache
from tests.member.conftest import Emulator, emulator_members


class Counting(httpx.AsyncBaseTransport):
    """The emulator's transport, counting calls per API path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path.removeprefix("/cgi-bin/")] += 1
        return await self.inner.handle_async_request(request)


@dataclass
class Env:
    db: Database
    jobs: JobRuntime
    ctx: TenantContext
    transport: Counting


@pytest_asyncio.fixture
async def env(clean_db: Database, settings: Settings, emulator: Emulator) -> AsyncIterator[Env]:
    _, report, emulator_app = emulator
    registry.load()  # the task table
    configure_keys(settings)
    transport = Counting(httpx.ASGITransport(app=emulator_app))
    wecom = WeComRuntime(
        egress=EgressClient(transport=transport, extra_hosts={"wecom": ("wecom.test",)}),
        tokens=MemoryTokenCache(),
        base_url="http://wecom.test/cgi-bin",
    )
    set_wecom_runtime(wecom)
    jobs = JobRuntime(clean_db.sessionmaker)
    set_runtime(jobs)
    async with clean_db.sessionmaker() as session:
        tenant = Tenant(name=f"同步测试 {uuid.uuid4().hex[:6]}")
        session.add(tenant)
        await session.flush()
        await ensure_keys(session, tenant.id)
        user = User(phone="+8613900000009", status="active")
        session.add(user)
        await session.flush()
        session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="creator"))
        ctx = TenantContext(tenant.id, user.id)
        await wecom_service.save_connection(
            session,
            ctx,
            ConnectionIn(
                corp_id=report.corp_id,
                agent_id=report.agent_id,
                app_secret=report.app_secret,
                contact_secret=report.contact_secret,
            ),
        )
        await commit(session)
    try:
        yield Env(clean_db, jobs, ctx, transport)
    finally:
        set_runtime(None)
        set_wecom_runtime(None)
        set_keyring(None)
        await wecom.aclose()


async def start(env: Env) -> tuple[uuid.UUID, uuid.UUID]:
    async with env.db.sessionmaker() as session:
        job = await members.start_sync(session, env.ctx)
        await session.flush()
        outbox_id = await session.scalar(select(Outbox.id).where(Outbox.job_id == job.id))
        await commit(session)
    assert outbox_id is not None
    return job.id, outbox_id


async def job_row(env: Env, job_id: uuid.UUID) -> Job:
    async with env.db.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def test_the_job_syncs_and_reports_progress(env: Env, emulator: Emulator) -> None:
    state, _, _ = emulator
    job_id, outbox_id = await start(env)
    assert await execute(env.jobs, outbox_id) == "succeeded"
    job = await job_row(env, job_id)
    assert (job.status, job.progress, job.total) == ("succeeded", 100, 100)
    assert job.result is not None
    assert job.result["members"] == len(emulator_members(state, "visible = 1"))
    assert env.transport.calls["user/list_id"] == 1  # refused (48002) once, then user/simplelist
    assert env.transport.calls["user/simplelist"] == len(state.store.all("SELECT id FROM department"))

    env.transport.calls.clear()
    second, outbox_id = await start(env)
    assert await execute(env.jobs, outbox_id) == "succeeded"
    assert env.transport.calls["user/get"] == 0  # a rerun when nothing changed reads no details
    result = (await job_row(env, second)).result or {}
    assert result.get("created", 0) == result.get("updated", 0) == 0


async def test_a_45009_storm_mid_sync_fails_an_attempt_and_the_retry_resumes(
    env: Env, emulator: Emulator
) -> None:
    state, _, _ = emulator
    # more 45009s than the client's three tries: the attempt fails in the details phase
    state.faults.inject("user/get", 45009, times=3)
    job_id, outbox_id = await start(env)
    assert await execute(env.jobs, outbox_id) == "retrying"
    job = await job_row(env, job_id)
    assert job.status == "queued"
    assert job.error is not None
    assert "RateLimited" in job.error
    async with env.db.sessionmaker() as session:
        saved = (await session.execute(select(MemberSyncState))).scalar_one()
        assert (saved.run_id, saved.phase) == (job_id, "details")  # departments and the list committed
        assert await session.scalar(select(func.count()).select_from(Member)) == len(
            emulator_members(state, "visible = 1")
        )
    lists = env.transport.calls["department/simplelist"]
    # the retry: the token was revoked meanwhile (42001/40014 → one refresh), and one more 45009 the
    # client's own retry absorbs
    state.revoke_tokens(state.corp(emulator[1].corp_id).corp_id)
    state.faults.inject("user/get", 45009, times=1)
    assert await execute(env.jobs, outbox_id) == "succeeded"
    assert env.transport.calls["department/simplelist"] == lists  # resumed, not restarted
    job = await job_row(env, job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)
    async with env.db.sessionmaker() as session:
        names = (await session.execute(select(Member.details_synced_at))).scalars().all()
        assert all(value is not None for value in names)
