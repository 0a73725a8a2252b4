"""How a domain's start is answered when another sync got there first: the domain's own refusal
(409 with the job id) or, for tags, the job it hands back, both become the same precise answer."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import commit, utcnow
from huike.core.tasks import Job
from huike.core.tenancy import TenantContext
from huike.member.errors import SyncRunning
from huike.sync import service
from huike.sync.errors import SyncAlreadyRunning
from tests.sync.conftest import Env


async def other_job(env: Env, kind: str) -> Job:
    async with env.db.sessionmaker() as session:
        job = Job(tenant_id=env.tenant_id, kind=kind, status="queued", progress=0, total=None)
        session.add(job)
        await commit(session)
    return job


def domain_starting_with(start_sync: object) -> service.SyncDomain:
    members = service.DOMAINS["members"]
    return service.SyncDomain(
        members.name,
        "test.kind_nobody_runs",  # the look-before finds nothing: the race is the domain's to see
        start_sync,  # type: ignore[arg-type]
        members.counts,
    )


async def test_the_domains_own_refusal_names_the_running_job(env: Env) -> None:
    running = await other_job(env, "member.sync_from_wecom")

    async def refuse(session: AsyncSession, ctx: TenantContext) -> Job:
        raise SyncRunning(job_id=str(running.id))

    async with env.db.sessionmaker() as session:
        with pytest.raises(SyncAlreadyRunning) as refused:
            await service.start(session, TenantContext.system(env.tenant_id), domain_starting_with(refuse))
    assert refused.value.details["job_id"] == str(running.id)
    assert refused.value.details["status"] in ("排队中", "queued")


async def test_a_job_handed_back_instead_of_a_new_one_is_an_answer_too(env: Env) -> None:
    running = await other_job(env, "tag.sync_from_wecom")

    async def hand_back(session: AsyncSession, ctx: TenantContext) -> Job:
        job = await session.get(Job, running.id)
        assert job is not None
        assert job.created_at < utcnow()
        return job

    async with env.db.sessionmaker() as session:
        with pytest.raises(SyncAlreadyRunning) as refused:
            await service.start(session, TenantContext.system(env.tenant_id), domain_starting_with(hand_back))
    assert refused.value.details["job_id"] == str(running.id)
