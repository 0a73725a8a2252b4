"""The daily sync: a periodic job at night (China time) that queues one staggered run per tenant
whose WeCom connection works; each run syncs members and tags, then customers and groups once those
have finished, as the domains' own jobs; a domain synced within the last hours is left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from huike import registry
from huike.core.db import commit, utcnow
from huike.core.tasks import Job, JobRuntime, Outbox, execute, periodic_tasks, schedule_once
from huike.core.tenancy import TenantContext
from huike.external_contact.models import ExternalContact
from huike.sync import service
from huike.wecom.models import WeComConnection
from tests.sync.conftest import Env, connect_tenant


def test_the_daily_sync_is_queued_once_a_day_at_two_in_the_morning_in_china() -> None:
    registry.load()
    spec = periodic_tasks()[service.DAILY_TASK]
    assert spec.every_s == 24 * 3600
    before = datetime(2026, 3, 2, 17, 59, tzinfo=UTC)  # 01:59 in Shanghai
    at = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 02:00
    assert spec.slot(at) == spec.slot(before) + 1
    assert spec.slot(at + timedelta(hours=23, minutes=59)) == spec.slot(at)


async def test_the_scheduler_enqueues_it_once_per_day(env: Env, jobs: JobRuntime) -> None:
    await schedule_once(jobs, timedelta(seconds=30))
    await schedule_once(jobs, timedelta(seconds=30))
    async with env.db.sessionmaker() as session:
        rows = (
            (await session.execute(select(Outbox).where(Outbox.task == service.DAILY_TASK))).scalars().all()
        )
    assert len(rows) == 1


async def tenant_rows(env: Env) -> list[Outbox]:
    async with env.db.sessionmaker() as session:
        statement = (
            select(Outbox)
            .where(Outbox.task == service.TENANT_TASK, Outbox.status == "pending")
            .order_by(Outbox.created_at)
        )
        return list((await session.execute(statement)).scalars())


async def test_connected_tenants_get_a_staggered_run_and_broken_connections_none(env: Env) -> None:
    other = await connect_tenant(env.db, env.settings, env.report, env.wecom(), name="另一家公司")
    broken = await connect_tenant(env.db, env.settings, env.report, env.wecom(), name="断开的公司")
    async with env.db.sessionmaker() as session:
        await session.execute(
            update(WeComConnection).where(WeComConnection.tenant_id == broken).values(status="failed")
        )
        now = utcnow()
        assert await service.schedule_daily(session, now=now) == {"tenants": 2}
        await commit(session)
    rows = await tenant_rows(env)
    assert {row.tenant_id for row in rows} == {env.tenant_id, other}
    for row in rows:
        assert row.tenant_id is not None
        delay = row.available_at - now
        # the same place in the window every night (counted from when the fan-out ran, 02:00)
        assert abs(delay - service.stagger(row.tenant_id)) < timedelta(seconds=5)
        assert timedelta(0) <= delay < service.DAILY_WINDOW
        assert row.dispatched_at is None  # delayed: the relay hands it over when it is due
    # the same night again (a retried fan-out): nothing more
    async with env.db.sessionmaker() as session:
        assert await service.schedule_daily(session, now=now + timedelta(hours=1)) == {"tenants": 0}
        await commit(session)
    assert len(await tenant_rows(env)) == 2
    # many tenants spread over the whole window: every half hour of it gets some
    spread = [service.stagger(uuid.uuid5(uuid.NAMESPACE_URL, f"tenant-{i}")) for i in range(60)]
    assert {delay // timedelta(minutes=30) for delay in spread} == set(range(6))


async def pending(env: Env, *tasks: str) -> list[uuid.UUID]:
    async with env.db.sessionmaker() as session:
        statement = select(Outbox.id).where(Outbox.task.in_(tasks), Outbox.status == "pending")
        return list((await session.execute(statement.order_by(Outbox.created_at))).scalars())


async def sync_jobs(env: Env) -> dict[str, list[str]]:
    async with env.db.sessionmaker() as session:
        rows = (await session.execute(select(Job).where(Job.tenant_id == env.tenant_id))).scalars()
        result: dict[str, list[str]] = {}
        for job in rows:
            result.setdefault(job.kind.split(".")[0], []).append(job.status)
        return result


async def test_a_tenants_run_syncs_members_and_tags_first_then_customers_and_groups(
    env: Env, jobs: JobRuntime
) -> None:
    async with env.db.sessionmaker() as session:
        await service.schedule_daily(session)
        await commit(session)
    [first] = await pending(env, service.TENANT_TASK)
    assert await execute(jobs, first) == "succeeded"
    assert await sync_jobs(env) == {"member": ["queued"], "tag": ["queued"]}

    # members and tags not done yet: the next step only looks again later
    [waiting] = await pending(env, service.TENANT_TASK)
    assert await execute(jobs, waiting) == "succeeded"
    assert await sync_jobs(env) == {"member": ["queued"], "tag": ["queued"]}

    for outbox_id in await pending(env, "member.sync_from_wecom", "tag.sync_from_wecom"):
        assert await execute(jobs, outbox_id) == "succeeded"
    [then] = await pending(env, service.TENANT_TASK)
    assert await execute(jobs, then) == "succeeded"
    for outbox_id in await pending(env, "external_contact.sync_from_wecom", "group_chat.sync_from_wecom"):
        assert await execute(jobs, outbox_id) == "succeeded"
    assert await sync_jobs(env) == {
        "member": ["succeeded"],
        "tag": ["succeeded"],
        "external_contact": ["succeeded"],
        "group_chat": ["succeeded"],
    }
    assert await env.count(ExternalContact, ExternalContact.tenant_id == env.tenant_id) == (
        env.state.store.scalar("SELECT count(*) FROM customer")
    )
    assert not await pending(env, service.TENANT_TASK)  # the run is over

    # run again the same day (say, after a manual sync): every domain is fresh, nothing is queued
    env.transport.calls.clear()
    async with env.db.sessionmaker() as session:
        ctx = TenantContext.system(env.tenant_id)
        since = utcnow().isoformat()
        first_phase = await service.daily_step(session, ctx, phase=0, waiting=[], since=since)
        second_phase = await service.daily_step(session, ctx, phase=1, waiting=[], since=since)
        await commit(session)
    assert first_phase["skipped"] == ["members", "tags"]
    assert second_phase["skipped"] == ["customers", "groups"]
    assert sum(env.transport.calls.values()) == 0
    assert all(len(statuses) == 1 for statuses in (await sync_jobs(env)).values())


async def test_a_connection_that_broke_since_it_was_scheduled_is_skipped(env: Env, jobs: JobRuntime) -> None:
    async with env.db.sessionmaker() as session:
        await service.schedule_daily(session)
        await session.execute(update(WeComConnection).values(status="failed"))
        await commit(session)
    [row] = await pending(env, service.TENANT_TASK)
    assert await execute(jobs, row) == "succeeded"
    assert await sync_jobs(env) == {}
    assert not await pending(env, service.TENANT_TASK)
