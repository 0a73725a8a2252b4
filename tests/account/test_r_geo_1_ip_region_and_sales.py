"""R-GEO-1 (§一（二）3 「收集您的注册 IP 地址」「为您安排合适的销售」): the registration IP is mapped to a
region with an offline ip2region xdb (a generated test file here, tests/account/xdb_maker.py); the lead
keeps only country, province and city; region → sales territory; private, unknown and foreign IPs go
to the default queue; the raw IP is kept only in the (encrypted) registration event row.

Acceptance: 60.30.1.1 → 天津; 223.5.5.5 → 浙江省 杭州市; 10.0.0.1 → 内网IP → default queue; zero
egress records, and the test passes with the network disabled (tests/support.block_outside_network);
the lead table has no IP column."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.geo import PRIVATE, IpRegion, RegionLookup
from huike.account.models import SalesLead, SalesTerritory
from huike.privacy.egress import EgressRecord
from huike.privacy.inventory import INFO_KEY
from tests.account.conftest import Flows


@pytest_asyncio.fixture
async def tianjin(session: AsyncSession, platform: str) -> None:
    session.add(SalesTerritory(region="天津", salesperson="sales-tianjin"))
    await session.commit()


async def register_from(app: FastAPI, version: str, ip: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        response = await Flows(browser, version).register()
    return response


@pytest_asyncio.fixture
async def no_network(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """No DNS and no outbound socket at all (on top of the suite's loopback-only guard)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def test_r_geo_1_lookups(xdb: Path) -> None:
    lookup = RegionLookup(xdb)
    assert lookup.lookup("60.30.1.1").province == "天津"
    assert lookup.lookup("223.5.5.5") == IpRegion("中国", "浙江省", "杭州市")
    assert lookup.lookup("223.5.5.5").label == "中国 浙江省 杭州市"
    assert lookup.lookup("10.0.0.1") == IpRegion(country=PRIVATE)
    assert lookup.lookup("10.0.0.1").country == "内网IP"
    assert lookup.lookup("10.0.0.1").territory is None
    assert lookup.lookup("8.8.8.8").territory is None  # foreign
    assert lookup.lookup("45.33.32.156").label == "unknown"  # not in the file


@pytest.mark.usefixtures("tianjin", "no_network")
@pytest.mark.parametrize(
    ("ip", "region", "salesperson"),
    [
        ("60.30.1.1", ("中国", "天津", "天津市"), "sales-tianjin"),
        ("223.5.5.5", ("中国", "浙江省", "杭州市"), "sales-zhejiang"),
        ("10.0.0.1", (PRIVATE, None, None), "default"),
        ("8.8.8.8", ("美国", None, None), "default"),
    ],
    ids=["tianjin", "hangzhou", "private", "foreign"],
)
async def test_r_geo_1_registration_ip_to_region_and_salesperson(
    app: FastAPI,
    platform: str,
    session: AsyncSession,
    ip: str,
    region: tuple[str | None, ...],
    salesperson: str,
) -> None:
    response = await register_from(app, platform, ip)
    assert response.status_code == 201, response.text
    lead = (await session.execute(select(SalesLead))).scalar_one()
    assert (lead.country, lead.province, lead.city) == region
    assert lead.salesperson == salesperson
    assert await session.scalar(select(func.count()).select_from(EgressRecord)) == 0


def test_r_geo_1_the_lead_table_has_no_ip_column() -> None:
    columns = SalesLead.__table__.columns
    assert not [c.name for c in columns if "ip" in c.name.split("_")]
    categories = {c.info[INFO_KEY].category for c in columns if INFO_KEY in c.info}
    assert categories
    assert not [c for c in categories if "ip_address" in c or c.endswith(".ip")]
