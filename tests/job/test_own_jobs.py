"""任务中心 for everyone: a member without jobs.manage lists and reads the jobs they started (a sync,
an export, a bulk change) and nobody else's; jobs.manage shows everyone's, and ``mine`` narrows it."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job
from huike.tenant.models import Tenant
from tests.conftest import user_with_role
from tests.permission.conftest import login, member


async def job(session: AsyncSession, tenant_id: uuid.UUID, created_by: uuid.UUID | None, kind: str) -> str:
    row = Job(tenant_id=tenant_id, kind=kind, status="running", progress=3, total=10, created_by=created_by)
    session.add(row)
    await session.flush()
    return str(row.id)


async def test_a_member_sees_only_the_jobs_they_started(
    app: FastAPI, session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant_id, other_id = tenant.id, other_tenant.id
    _, user_id = await member(session, tenant_id, account_role="member")
    assert user_id is not None
    colleague = await user_with_role(session, tenant_id, "member")
    mine = await job(session, tenant_id, user_id, "customer.export")
    theirs = await job(session, tenant_id, colleague, "customer.export")
    system = await job(session, tenant_id, None, "member.sync")
    foreign = await job(session, other_id, user_id, "customer.export")
    client = await login(app, session, tenant_id, user_id)

    for params in ({}, {"mine": "true"}, {"mine": "false"}):
        listed = await client.get("/api/v1/jobs", params=params)
        assert listed.status_code == 200, listed.text
        assert [(j["id"], j["progress"], j["total"]) for j in listed.json()["items"]] == [(mine, 3, 10)]
    assert (await client.get(f"/api/v1/jobs/{mine}")).json()["kind"] == "customer.export"
    for other in (theirs, system, foreign, str(uuid.uuid4())):
        for response in (
            await client.get(f"/api/v1/jobs/{other}"),
            await client.post(f"/api/v1/jobs/{other}/retry"),
        ):
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


async def test_jobs_manage_sees_everyones_and_mine_narrows_it(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> None:
    tenant_id = tenant.id
    admin = await user_with_role(session, tenant_id, "admin")
    colleague = await user_with_role(session, tenant_id, "member")
    mine = await job(session, tenant_id, admin, "tag.sync")
    theirs = await job(session, tenant_id, colleague, "customer.export")
    system = await job(session, tenant_id, None, "member.sync")
    client: httpx.AsyncClient = await login(app, session, tenant_id, admin)

    everyone = (await client.get("/api/v1/jobs")).json()["items"]
    assert {j["id"] for j in everyone} == {mine, theirs, system}
    assert [j["id"] for j in (await client.get("/api/v1/jobs", params={"mine": "true"})).json()["items"]] == [
        mine
    ]
    assert (await client.get(f"/api/v1/jobs/{theirs}")).status_code == 200
