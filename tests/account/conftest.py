"""Fixtures of the account tests: cheap argon2 parameters, a generated ip2region xdb, the policy and
the default sales territory seeded, and a client whose IP is in Hangzhou."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import passwords
from huike.account.models import SalesTerritory
from huike.account.service import ensure_platform_defaults
from huike.config import Settings
from huike.privacy.policy.service import ensure_initial_policy
from huike.security.sessions import CSRF_COOKIE, CSRF_HEADER
from tests.account.xdb_maker import make_xdb

PHONE = "13800138000"
PASSWORD = "Huike-Trial-2026"
HANGZHOU_IP = "223.5.5.5"


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    passwords.configure_hasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords.configure_hasher(
        time_cost=passwords.TIME_COST,
        memory_cost=passwords.MEMORY_COST_KIB,
        parallelism=passwords.PARALLELISM,
    )


@pytest.fixture(scope="session")
def xdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_xdb(tmp_path_factory.mktemp("xdb") / "test.xdb")


@pytest.fixture
def settings(settings: Settings, xdb: Path) -> Settings:
    return settings.model_copy(update={"ip2region_xdb": xdb})


@pytest_asyncio.fixture
async def platform(session: AsyncSession) -> str:
    """The policy in effect and the sales territories; returns the policy version."""
    version = await ensure_initial_policy(session)
    await ensure_platform_defaults(session)
    session.add(SalesTerritory(region="浙江省", salesperson="sales-zhejiang"))
    await session.commit()
    return version.version


@pytest_asyncio.fixture
async def api(app: FastAPI, platform: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser in Hangzhou (by its IP) that has not logged in."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HANGZHOU_IP, 50000))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={
            "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
        },
    ) as client:
        yield client


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}


@dataclass
class Flows:
    client: httpx.AsyncClient
    version: str

    async def code(self, phone: str = PHONE, purpose: str = "register") -> str:
        sent = await self.client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": purpose})
        assert sent.status_code == 202, sent.text
        latest = await self.client.get("/api/v1/dev/sms-codes/latest", params={"phone": phone})
        assert latest.status_code == 200, latest.text
        return str(latest.json()["code"])

    def body(self, code: str, **changes: object) -> dict[str, object]:
        body: dict[str, object] = {
            "phone": PHONE,
            "sms_code": code,
            "password": PASSWORD,
            "company_name": "杭州汇客测试有限公司",
            "industry": "retail",
            "adult_or_guardian": True,
            "company_authorised": True,
            "policy_version": self.version,
        }
        return {**body, **changes}

    async def register(self, phone: str = PHONE, **changes: object) -> httpx.Response:
        code = await self.code(phone)
        return await self.client.post("/api/v1/auth/register", json=self.body(code, phone=phone, **changes))


@pytest.fixture
def flows(api: httpx.AsyncClient, platform: str) -> Flows:
    return Flows(api, platform)
