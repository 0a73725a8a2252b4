"""R-CK-1 (§二 「记录当前用户的登陆态」「认证与保障安全性的 Cookie」「Cookie 的清除」): only allow-listed
cookies (session id, CSRF token, random device id); ``SameSite=Lax``, ``Secure`` under https (plain
http serves development), all but CSRF ``HttpOnly``; sessions are server-side and revocable; idle
timeout 2 h, absolute lifetime 7 d; no account identifier in the browser; clearing cookies logs out.

Acceptance (here, over the API; the headless-browser crawl is tests/e2e/test_r_ck_cookies_and_storage.py):
cookie names and flags as stated; after logout the old cookie → 401; frozen clock: 2 h + 1 s idle →
401, 7 d → 401; no cookie is set for another domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import pytest_asyncio
import time_machine
from fastapi import FastAPI

from huike.config import Settings
from huike.security.sessions import (
    ABSOLUTE_LIFETIME,
    ALLOWED_COOKIES,
    CSRF_COOKIE,
    DEVICE_COOKIE,
    IDLE_TIMEOUT,
    SESSION_COOKIE,
)
from tests.account.conftest import HANGZHOU_IP, PASSWORD, PHONE, Flows, csrf

START = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


async def login(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD})


async def me_with(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    return await client.get("/api/v1/auth/me", headers={"cookie": f"{SESSION_COOKIE}={token}"})


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """Each Set-Cookie of the response: name → its attributes (lower-case keys)."""
    found: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            attributes: dict[str, str | bool] = {k: v for k, v in morsel.items() if v}
            attributes["value"] = morsel.value
            found[name] = attributes
    return found


@pytest_asyncio.fixture
async def account(flows: Flows) -> Flows:
    assert (await flows.register()).status_code == 201
    flows.client.cookies.clear()
    return flows


def https(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_base_url": "https://huike.example.cn"})


def test_r_ck_1_the_allow_list_and_timeouts() -> None:
    assert set(ALLOWED_COOKIES) == {SESSION_COOKIE, CSRF_COOKIE, DEVICE_COOKIE}
    assert timedelta(hours=2) == IDLE_TIMEOUT
    assert timedelta(days=7) == ABSOLUTE_LIFETIME
    settings = Settings()
    assert settings.session_idle_timeout_s == 2 * 3600
    assert settings.session_absolute_lifetime_s == 7 * 86400


@pytest_asyncio.fixture
async def secure_app(app: FastAPI) -> AsyncIterator[FastAPI]:
    original = app.state.settings
    app.state.settings = https(original)
    yield app
    app.state.settings = original


@pytest_asyncio.fixture
async def https_flows(secure_app: FastAPI, platform: str) -> AsyncIterator[Flows]:
    """A browser on the https site (it sends Secure cookies back)."""
    transport = httpx.ASGITransport(app=secure_app, raise_app_exceptions=False, client=(HANGZHOU_IP, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://huike.example.cn") as client:
        yield Flows(client, platform)


async def test_r_ck_1_under_https_every_cookie_is_secure_lax_and_host_only(https_flows: Flows) -> None:
    flows = https_flows
    registered = await flows.register()
    assert registered.status_code == 201, registered.text
    cookies = set_cookies(registered)
    assert set(cookies) == {SESSION_COOKIE, CSRF_COOKIE}
    for name, attributes in cookies.items():
        assert attributes.get("secure") is True, name
        assert str(attributes.get("samesite")).lower() == "lax", name
        assert "domain" not in attributes, name  # host-only: never for another domain
        assert attributes.get("path") == "/"
    assert cookies[SESSION_COOKIE].get("httponly") is True
    assert not cookies[CSRF_COOKIE].get("httponly")
    # no account identifier in any cookie value
    user_id = registered.json()["user_id"]
    for attributes in cookies.values():
        assert user_id not in str(attributes["value"])
        assert user_id.replace("-", "") not in str(attributes["value"])
        assert PHONE not in str(attributes["value"])
    # logout clears both, with the same flags
    assert (await flows.client.get("/api/v1/auth/me")).status_code == 200
    cleared = set_cookies(await flows.client.post("/api/v1/auth/logout", headers=csrf(flows.client)))
    assert set(cleared) == {SESSION_COOKIE, CSRF_COOKIE}
    assert all(attributes.get("secure") is True for attributes in cleared.values())


async def test_r_ck_1_the_device_cookie_is_secure_httponly_lax_under_https(secure_app: FastAPI) -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    from huike.security.sessions import device_cookie

    response = Response()
    request = Request({"type": "http", "headers": [], "method": "GET", "path": "/"})
    value = device_cookie(request, response, secure_app.state.settings)
    attributes = set_cookies(httpx.Response(200, headers=response.headers.raw))[DEVICE_COOKIE]
    assert attributes["value"] == value
    assert len(value) >= 20
    assert (attributes.get("secure"), attributes.get("httponly")) == (True, True)
    assert str(attributes.get("samesite")).lower() == "lax"
    assert "domain" not in attributes


async def test_r_ck_1_plain_http_development_still_works(flows: Flows) -> None:
    registered = await flows.register()
    assert registered.status_code == 201
    cookies = set_cookies(registered)
    assert set(cookies) <= set(ALLOWED_COOKIES)
    assert not any(attributes.get("secure") for attributes in cookies.values())
    assert all(str(attributes.get("samesite")).lower() == "lax" for attributes in cookies.values())
    assert (await flows.client.get("/api/v1/auth/me")).status_code == 200


async def test_r_ck_1_after_logout_the_old_cookie_is_401(account: Flows) -> None:
    client = account.client
    assert (await login(client)).status_code == 200
    old = client.cookies.get(SESSION_COOKIE)
    assert (await me_with(client, old)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=csrf(client))).status_code == 204
    assert (await me_with(client, old)).status_code == 401  # revoked on the server, not just cleared


async def test_r_ck_1_clearing_cookies_logs_out(account: Flows) -> None:
    client = account.client
    assert (await login(client)).status_code == 200
    client.cookies.clear()
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_r_ck_1_two_hours_and_one_second_idle_is_401(account: Flows) -> None:
    with time_machine.travel(START, tick=False) as clock:
        assert (await login(account.client)).status_code == 200
        clock.shift(timedelta(hours=1, minutes=59))
        assert (await account.client.get("/api/v1/auth/me")).status_code == 200  # use resets the idle clock
        clock.shift(timedelta(hours=1, minutes=59))
        assert (await account.client.get("/api/v1/auth/me")).status_code == 200
        clock.shift(timedelta(hours=2, seconds=1))
        assert (await account.client.get("/api/v1/auth/me")).status_code == 401


async def test_r_ck_1_seven_days_is_401_even_when_used(account: Flows) -> None:
    with time_machine.travel(START, tick=False) as clock:
        assert (await login(account.client)).status_code == 200
        for _ in range(7 * 24 - 1):
            clock.shift(timedelta(hours=1))
            assert (await account.client.get("/api/v1/auth/me")).status_code == 200
        clock.shift(timedelta(minutes=59, seconds=59))
        assert (await account.client.get("/api/v1/auth/me")).status_code == 200
        clock.shift(timedelta(seconds=1))  # login + 7 d
        assert (await account.client.get("/api/v1/auth/me")).status_code == 401
