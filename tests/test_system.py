"""Health, readiness, metadata, metrics and the console's deep-link fallback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI

from huike.app import create_app
from huike.config import Settings
from huike.core.i18n import negotiate
from huike.security.kms import ensure_master_key


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_readyz_checks_database_and_broker(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


async def test_readyz_reports_an_unreachable_broker(tmp_path: Path) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}",
        redis_url="redis://127.0.0.1:1/0",
        web_dist=tmp_path,
    )
    ensure_master_key(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "broker": "error"}}


async def test_meta(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/meta")).json() == {
        "name": "huike",
        "version": "0.1.0",
        "mode": "embedded",
        "default_locale": "zh-CN",
        "locales": ["zh-CN", "en"],
        "dev_tools": True,
    }


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'huike_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_operation_ids_are_stable(app: FastAPI) -> None:
    ids = {
        op["operationId"]
        for path in app.openapi()["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {"jobs:list", "jobs:get", "jobs:retry", "system:meta", "system:healthz"} <= ids


async def test_schema_names_are_unique(app: FastAPI) -> None:
    """Two models of one name get module-path names (``huike__x__schemas__Y``) that the console's
    ``Schemas['Y']`` cannot reach; give each response and body model a name of its own."""
    names = app.openapi()["components"]["schemas"]
    assert [name for name in names if "__" in name] == []


def test_negotiate() -> None:
    assert negotiate(None) == "zh-CN"
    assert negotiate("en-GB") == "en"
    assert negotiate("de, en;q=0.1") == "en"
    assert negotiate("zh-TW,zh;q=0.9") == "zh-CN"
    assert negotiate("en;q=0, zh;q=0") == "zh-CN"
    assert negotiate("en;q=bad") == "zh-CN"


@pytest_asyncio.fixture
async def console(tmp_path: Path) -> httpx.AsyncClient:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app></div>", encoding="utf-8")
    (dist / "assets" / "app-abc.js").write_text("console.log(1)", encoding="utf-8")
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db", web_dist=dist
    )
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


class TestConsoleServing:
    async def test_deep_link_falls_back_to_index(self, console: httpx.AsyncClient) -> None:
        response = await console.get("/customers/tags")
        assert response.status_code == 200
        assert "<div id=app>" in response.text
        assert response.headers["cache-control"] == "no-cache"

    async def test_assets_are_served_and_cached(self, console: httpx.AsyncClient) -> None:
        response = await console.get("/assets/app-abc.js")
        assert response.text == "console.log(1)"
        assert "immutable" in response.headers["cache-control"]

    async def test_missing_asset_and_api_paths_stay_404(self, console: httpx.AsyncClient) -> None:
        assert (await console.get("/assets/missing.js")).status_code == 404
        assert (await console.get("/api/v1/unknown")).json()["error"]["code"] == "not_found"

    async def test_no_escape_from_dist(self, console: httpx.AsyncClient) -> None:
        response = await console.get("/..%2F..%2Fetc%2Fpasswd")
        assert "root:" not in response.text


async def test_the_long_running_server_takes_its_start_out_of_the_collectors_walks(tmp_path: Path) -> None:
    """``huike run`` builds the app with ``freeze_heap``: what it loaded at start is no longer walked by
    every full garbage collection (the list's slow tail); apps built for tests are not frozen."""
    import gc

    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'frozen.db'}",
        web_dist=tmp_path,
    )
    ensure_master_key(settings)
    gc.unfreeze()
    try:
        plain = create_app(settings)
        async with plain.router.lifespan_context(plain):
            assert gc.get_freeze_count() == 0
        frozen = create_app(settings, freeze_heap=True)
        async with frozen.router.lifespan_context(frozen):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
