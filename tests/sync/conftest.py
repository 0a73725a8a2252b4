"""A tenant connected to a generated corp in the emulator, on a database where work really commits
(``huike sync`` and the daily sync run jobs, which commit); the emulator's calls are counted."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from huike import registry
from huike.account.models import Membership, User
from huike.config import Settings
from huike.core.db import Database, commit
from huike.core.tasks import JobRuntime, set_runtime
from huike.core.tenancy import TenantContext
from huike.privacy.egress import EgressClient
from huike.security.keys import configure_keys, ensure_keys, set_keyring
from huike.tenant.models import Tenant
from huike.wecom import service as wecom_service
from huike.wecom.runtime import WeComRuntime, set_wecom_runtime
from huike.wecom.schemas import ConnectionIn
from huike.wecom.tokens import MemoryTokenCache
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import SeedReport, seed_company

CORP = "ww5e1f0c0ffee0sync0"
COMPANY = "同步演练科技"


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
    settings: Settings
    state: EmulatorState
    report: SeedReport
    tenant_id: uuid.UUID
    transport: Counting

    def wecom(self) -> WeComRuntime:
        return WeComRuntime(
            egress=EgressClient(transport=self.transport, extra_hosts={"wecom": ("wecom.test",)}),
            tokens=MemoryTokenCache(),
            base_url="http://wecom.test/cgi-bin",
        )

    async def count(self, model: Any, *where: Any) -> int:
        async with self.db.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def emulator() -> tuple[EmulatorState, SeedReport, FastAPI]:
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(state, CORP, members=8, external_contacts=30, groups=3, tags=8, seed=13)
    state.store.conn.execute("UPDATE member SET visible = 1, status = 1, customer_contact = 1")
    return state, report, create_emulator(state)


async def connect_tenant(
    env_db: Database, settings: Settings, report: SeedReport, wecom: WeComRuntime, *, name: str
) -> uuid.UUID:
    set_wecom_runtime(wecom)
    try:
        async with env_db.sessionmaker() as session:
            tenant = Tenant(name=name)
            session.add(tenant)
            await session.flush()
            await ensure_keys(session, tenant.id)
            user = User(phone=None, status="active")
            session.add(user)
            await session.flush()
            session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="creator"))
            await wecom_service.save_connection(
                session,
                TenantContext(tenant.id, user.id),
                ConnectionIn(
                    corp_id=report.corp_id,
                    agent_id=report.agent_id,
                    app_secret=report.app_secret,
                    contact_secret=report.contact_secret,
                ),
            )
            await commit(session)
            return tenant.id
    finally:
        set_wecom_runtime(None)


@pytest_asyncio.fixture
async def env(
    clean_db: Database, settings: Settings, emulator: tuple[EmulatorState, SeedReport, FastAPI]
) -> AsyncIterator[Env]:
    state, report, app = emulator
    registry.load()
    configure_keys(settings)
    settings = settings.model_copy(
        update={
            "database_url": clean_db.engine.url.render_as_string(False),
            "wecom_base_url": "http://wecom.test/cgi-bin",
        }
    )
    transport = Counting(httpx.ASGITransport(app=app))
    env = Env(clean_db, settings, state, report, uuid.uuid4(), transport)
    env.tenant_id = await connect_tenant(clean_db, settings, report, env.wecom(), name=COMPANY)
    try:
        yield env
    finally:
        set_runtime(None)
        set_wecom_runtime(None)
        set_keyring(None)


@pytest_asyncio.fixture
async def jobs(env: Env) -> AsyncIterator[JobRuntime]:
    """This process's job runtime (no broker: tests execute outbox rows themselves)."""
    wecom = env.wecom()
    set_wecom_runtime(wecom)
    configure_keys(env.settings)
    runtime = JobRuntime(env.db.sessionmaker)
    set_runtime(runtime)
    yield runtime
    await wecom.aclose()
