"""Browser-test fixtures: a live `huike run` on a free port (embedded mode, its own SQLite file, or
its own PostgreSQL database when HUIKE_TEST_DATABASE_URL is set)
and Playwright pages from Debian's /usr/bin/chromium (Playwright cannot download browsers here).

Console pages need a session: `logged_in_page` is a page of a company registered once per test
session (over the API, the SMS code read from the development endpoint), reusing its storage state
(cookies only: the console keeps nothing personal in browser storage)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, Playwright, ViewportSize, sync_playwright

from tests.support import database_url_for, reset_database

ROOT = Path(__file__).resolve().parents[2]
SMS_COOLDOWN_S = 3
CHROMIUM = os.environ.get("HUIKE_CHROMIUM", "/usr/bin/chromium")
#: the built console the live server serves; another directory lets parallel checkouts build their own
WEB_DIST = Path(os.environ.get("HUIKE_E2E_WEB_DIST", ROOT / "web" / "dist"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _live_database(data_dir: Path) -> dict[str, str]:
    """The live server's database: with HUIKE_TEST_DATABASE_URL, a PostgreSQL database of its own
    (``<name>_e2e``, dropped and created here so the other tests' database is untouched) that
    ``huike run`` migrates and seeds like any other; otherwise its SQLite file in ``data_dir``."""
    if not os.environ.get("HUIKE_TEST_DATABASE_URL"):
        return {}
    url = database_url_for("e2e", data_dir)
    # Playwright's sync API may already run an event loop in this thread: reset from another one
    failure: list[BaseException] = []

    def reset() -> None:
        try:
            asyncio.run(reset_database(url))
        except BaseException as exc:  # re-raised below, in the test's thread
            failure.append(exc)

    worker = threading.Thread(target=reset)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return {"HUIKE_DATABASE_URL": url}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make web` (make test does it for you)")
    data_dir = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIKE_")}
    env.update(
        {
            "HUIKE_DATA_DIR": str(data_dir),
            "HUIKE_WEB_DIST": str(WEB_DIST),
            "HUIKE_ENV": "test",
            "HUIKE_RELAY_INTERVAL_S": "1",
            # the SMS resend cooldown (60 s in production) would make the browser tests wait
            "HUIKE_SMS_RESEND_COOLDOWN_S": str(SMS_COOLDOWN_S),
            # WeCom callback URLs must point at this server for the emulator's URL handshake.
            "HUIKE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            **_live_database(data_dir),
        }
    )
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "huike", "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("huike run did not start:\n" + (data_dir / "server.log").read_text(errors="replace"))
        time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    # a GET that writes without @writes_on_get fails on SQLite whenever a job writes meanwhile (ADR 10)
    unmarked = [
        line
        for line in (data_dir / "server.log").read_text(errors="replace").splitlines()
        if "db.write_in_read_session" in line
    ]
    assert not unmarked, "GET requests wrote in a read session:\n" + "\n".join(unmarked[:20])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
PASSWORD = "Huike-E2e-Pass-2026"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@dataclass
class Account:
    phone: str
    password: str
    company: str
    #: time.monotonic() of the last SMS code sent to the phone (the server waits 60 s between sends)
    sms_sent_at: float


def new_phone() -> str:
    """A fresh mainland mobile number (139 + 8 digits); each live server has its own database."""
    return "139" + f"{random.randrange(10**8):08d}"


def wait_sms_cooldown(account: Account) -> None:
    """Sleep until the phone may be sent another code (60 s after the last one)."""
    remaining = SMS_COOLDOWN_S + 1 - (time.monotonic() - account.sms_sent_at)
    if remaining > 0:
        time.sleep(remaining)


def latest_sms_code(request: APIRequestContext, base: str, phone: str) -> str:
    """The code last sent to ``phone``; waits a little, as the send button's request may still be on
    its way when the test asks."""
    deadline = time.monotonic() + 10
    while True:
        response = request.get(base + "/api/v1/dev/sms-codes/latest", params={"phone": phone})
        if response.status != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.ok, response.text()
    return str(response.json()["code"])


def register_account(request: APIRequestContext, base: str, account: Account) -> dict[str, Any]:
    """Register over the API (what the register page does), leaving the session cookies in `request`."""
    sent = request.post(base + "/api/v1/auth/sms-codes", data={"phone": account.phone, "purpose": "register"})
    assert sent.ok, sent.text()
    account.sms_sent_at = time.monotonic()
    version = request.get(base + "/api/v1/privacy/policy/versions").json()["current"]
    response = request.post(
        base + "/api/v1/auth/register",
        data={
            "phone": account.phone,
            "sms_code": latest_sms_code(request, base, account.phone),
            "password": account.password,
            "company_name": account.company,
            "industry": "retail",
            "adult_or_guardian": True,
            "company_authorised": True,
            "policy_version": version,
        },
    )
    assert response.status == 201, response.text()
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="session")
def account_state(live_server: str, browser: Browser) -> tuple[Account, dict[str, Any]]:
    """A company registered once per session, and the browser storage state of its session."""
    context = browser.new_context(locale="zh-CN")
    account = Account(new_phone(), PASSWORD, "汇客测试企业", 0.0)
    register_account(context.request, live_server, account)
    state = context.storage_state()
    context.close()
    return account, dict(state)


@pytest.fixture(scope="session")
def account(account_state: tuple[Account, dict[str, Any]]) -> Account:
    return account_state[0]


@pytest.fixture
def logged_in_page(browser: Browser, account_state: tuple[Account, dict[str, Any]]) -> Iterator[Page]:
    """A zh-CN page signed in as `account` (its session is shared: do not log it out)."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, storage_state=account_state[1])  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def csrf_headers(request: APIRequestContext) -> dict[str, str]:
    """The double-submit CSRF header the console sends with unsafe requests."""
    for cookie in request.storage_state()["cookies"]:
        if cookie["name"] == "huike_csrf":
            return {"X-CSRF-Token": cookie["value"]}
    return {}


def connect_wecom(request: APIRequestContext, base: str) -> dict[str, Any]:
    """Connect the session's company to the emulator's demo corp (what the WeCom settings page does)."""
    corp: dict[str, Any] = httpx.get(base + "/_wecom/_emulator/corps").json()[0]
    response = request.put(
        base + "/api/v1/wecom/connection",
        data={
            "corp_id": corp["corp_id"],
            "agent_id": corp["agent_id"],
            "app_secret": corp["app_secret"],
            "contact_secret": corp["contact_secret"],
        },
        headers=csrf_headers(request),
    )
    assert response.ok, response.text()
    assert response.json()["status"] == "connected", response.text()
    return corp


@pytest.fixture(scope="session")
def wecom_account_state(live_server: str, browser: Browser) -> tuple[Account, dict[str, Any]]:
    """A second company, connected to the emulator's demo corp but not synced yet (the members and
    tags tests sync it from the console). Separate from `account`, whose WeCom page starts unconnected."""
    context = browser.new_context(locale="zh-CN")
    account = Account(new_phone(), PASSWORD, "汇客通讯录测试企业", 0.0)
    register_account(context.request, live_server, account)
    connect_wecom(context.request, live_server)
    state = context.storage_state()
    context.close()
    return account, dict(state)


@pytest.fixture
def wecom_page(browser: Browser, wecom_account_state: tuple[Account, dict[str, Any]]) -> Iterator[Page]:
    """A zh-CN page signed in as the company connected to WeCom (shared session: do not log it out)."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, storage_state=wecom_account_state[1])  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def api_get(page: Page, base: str, path: str, **params: Any) -> Any:
    """GET an API path with the page's session; the JSON body (asserts a 2xx answer)."""
    response = page.request.get(base + path, params=params)
    assert response.ok, response.text()
    return response.json()


def callbacks_to_this_company(page: Page, base: str) -> str:
    """Point the demo corp's callbacks at the company's URL (what an admin pastes into WeCom): the
    emulator's URL handshake must pass. Returns the corp id."""
    corp: dict[str, Any] = httpx.get(base + "/_wecom/_emulator/corps").json()[0]
    connection = api_get(page, base, "/api/v1/wecom/connection")
    saved = httpx.post(
        f"{base}/_wecom/_emulator/corps/{corp['corp_id']}/callback",
        json={
            "url": connection["callback_url"],
            "token": connection["callback_token"],
            "encoding_aes_key": connection["encoding_aes_key"],
        },
        timeout=20,
    )
    assert saved.status_code == 200, saved.text
    return str(corp["corp_id"])
