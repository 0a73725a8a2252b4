"""One transaction per request: committed before the response, jobs dispatched only after commit."""

from __future__ import annotations

import uuid

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.routing import SessionDep, make_router
from huike.core.tasks import JobContext, Outbox, enqueue, task
from huike.tenant.models import Tenant
from tests.support import RecordingDispatcher, add_probe_router


@task("test.uow_noop")
async def uow_noop(ctx: JobContext, name: str) -> None:
    return None


probe = make_router(prefix="/api/v1/_uow", tag="probe")


@probe.post("/ok")
async def write_ok(session: SessionDep) -> dict[str, str]:
    row = Tenant(name="uow-ok")
    session.add(row)
    await session.flush()
    await enqueue(session, "test.uow_noop", tenant_id=row.id, name="ok")
    return {"id": str(row.id)}


@probe.post("/boom")
async def write_then_fail(session: SessionDep) -> dict[str, str]:
    row = Tenant(name="uow-boom")
    session.add(row)
    await session.flush()
    await enqueue(session, "test.uow_noop", tenant_id=row.id, name="boom")
    raise RuntimeError("handler failed after writing")


@pytest_asyncio.fixture
async def uow_client(app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    add_probe_router(app, probe)
    return client


class TestUnitOfWork:
    async def test_success_commits_then_dispatches(
        self, uow_client: httpx.AsyncClient, session: AsyncSession, dispatcher: RecordingDispatcher
    ) -> None:
        response = await uow_client.post("/api/v1/_uow/ok")
        assert response.status_code == 200
        tenant_id = uuid.UUID(response.json()["id"])
        outbox = (await session.execute(select(Outbox).where(Outbox.tenant_id == tenant_id))).scalar_one()
        assert dispatcher.dispatched == [outbox.id]

    async def test_failure_leaves_no_rows_and_no_jobs(
        self, uow_client: httpx.AsyncClient, session: AsyncSession, dispatcher: RecordingDispatcher
    ) -> None:
        response = await uow_client.post("/api/v1/_uow/boom")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        names = (await session.execute(select(Tenant.name).where(Tenant.name == "uow-boom"))).scalars().all()
        assert names == []
        payloads = (await session.execute(select(Outbox.payload))).scalars().all()
        assert {"name": "boom"} not in payloads
        assert dispatcher.dispatched == []
