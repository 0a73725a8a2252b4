"""R-CK-1 and R-CK-2 (§二 Cookie, SessionStorage) in a headless browser against a live `huike run`.

R-CK-1: a crawl of the console (registration, pages, the WeCom QR login start) finds exactly the
allow-listed cookie names, each with its flags (SameSite=Lax; HttpOnly but for the CSRF token; host-only,
so none for another domain; ``Secure`` only under https, which this plain-http live server is not —
tests/account/test_r_ck_1_sessions_and_cookies.py checks https); after logout the old cookie → 401.
(The frozen-clock timeouts are checked over the API in that module.)

R-CK-2: sessionStorage holds only allow-listed, non-personal entries (the console uses none) and
nothing is kept in IndexedDB; localStorage holds only the locale preference; no value matches
``\\d{7,}``, the user's name or e-mail; after logout both storages are empty (the open tab keeps the
chosen language in memory, so the login page still speaks it). "Entries older than 10 min are
refetched" has nothing to apply to while the console caches nothing in sessionStorage."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from huike.security.sessions import ALLOWED_COOKIES, CSRF_COOKIE, DEVICE_COOKIE, SESSION_COOKIE
from tests.e2e.conftest import PASSWORD, VIEWPORT, Account, new_phone, register_account

pytestmark = pytest.mark.e2e

SESSION_STORAGE_ALLOWED: set[str] = set()  # the console caches nothing in sessionStorage
LOCAL_STORAGE_ALLOWED = {"huike.locale"}  # the language choice, not an identifier
CONSOLE_PAGES = [
    "/",
    "/settings/profile",
    "/settings/sessions",
    "/settings/privacy",
    "/settings/wecom",
    "/settings/jobs",
]


def _new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    return context


def _storage(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """async () => ({
                session: Object.fromEntries(Object.entries(sessionStorage)),
                local: Object.fromEntries(Object.entries(localStorage)),
                indexed: indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [],
            })"""
        )
    )


def _crawl(page: Page, base: str) -> None:
    for path in CONSOLE_PAGES:
        page.goto(base + path)
        expect(page.get_by_test_id("page-title")).to_be_visible()


def _switch_to_english(page: Page) -> None:
    page.get_by_test_id("locale-switch").click()
    page.get_by_test_id("locale-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_r_ck_1_a_crawl_finds_exactly_the_allow_listed_cookies_with_their_flags(
    live_server: str, browser: Browser, wecom_account_state: tuple[Account, dict[str, Any]]
) -> None:
    """The company connected to the emulator's corp (its QR login can start), from a fresh browser."""
    context = _new_context(browser)
    page = context.new_page()
    account = Account(new_phone(), PASSWORD, "Cookie 检查企业", 0.0)
    register_account(context.request, live_server, account)  # the registration's cookies
    _crawl(page, live_server)
    context.add_cookies(
        [c for c in wecom_account_state[1]["cookies"] if c["name"] in (SESSION_COOKIE, CSRF_COOKIE)]
    )
    # the WeCom QR login start sets the device cookie (it binds the login state to this browser)
    corp = httpx.get(live_server + "/_wecom/_emulator/corps").json()[0]
    with page.expect_response(re.compile(r"/api/v1/auth/wecom/login")) as started:
        page.goto(f"{live_server}/api/v1/auth/wecom/login?corp_id={corp['corp_id']}")
    assert started.value.status == 302, started.value.text()
    page.goto(live_server + "/login")
    cookies = context.cookies()
    context.close()

    assert {c["name"] for c in cookies} == set(ALLOWED_COOKIES)
    host = re.sub(r"^https?://|:\d+$", "", live_server)
    for cookie in cookies:
        assert cookie["domain"] == host, cookie["name"]  # host-only; nothing for another domain
        assert cookie["sameSite"] == "Lax", cookie["name"]
        assert cookie["path"] == "/"
        assert cookie["secure"] is False  # plain http (development); Secure under https
        assert cookie["httpOnly"] is (cookie["name"] != CSRF_COOKIE), cookie["name"]
        assert not re.search(r"\d{7,}", cookie["value"]) or cookie["name"] in (CSRF_COOKIE,)
        assert account.phone not in cookie["value"]
    assert {SESSION_COOKIE, DEVICE_COOKIE} <= {c["name"] for c in cookies if c["httpOnly"]}


def test_r_ck_1_after_logout_the_old_cookie_is_401(live_server: str, browser: Browser) -> None:
    context = _new_context(browser)
    page = context.new_page()
    account = Account(new_phone(), PASSWORD, "退出登录检查企业", 0.0)
    register_account(context.request, live_server, account)
    page.goto(live_server + "/")
    expect(page.get_by_test_id("page-title")).to_have_text("工作台")
    old = next(c["value"] for c in context.cookies() if c["name"] == SESSION_COOKIE)
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("user-menu-logout").click()
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    context.close()
    replay = httpx.get(live_server + "/api/v1/auth/me", cookies={SESSION_COOKIE: old})
    assert replay.status_code == 401


def test_r_ck_2_storage_holds_nothing_personal_and_is_emptied_at_logout(
    live_server: str, browser: Browser
) -> None:
    context = _new_context(browser)
    page = context.new_page()
    account = Account(new_phone(), PASSWORD, "存储检查企业", 0.0)
    me = register_account(context.request, live_server, account)
    page.goto(live_server + "/settings/profile")
    expect(page.get_by_test_id("profile-summary")).to_be_visible()
    page.get_by_test_id("profile-name-change").click()
    page.get_by_test_id("profile-name-edit-input").fill("存储测试用户")
    page.get_by_test_id("profile-name-edit-save").click()
    expect(page.get_by_test_id("profile-display-name")).to_have_text("存储测试用户")
    _switch_to_english(page)
    _crawl(page, live_server)

    stored = _storage(page)
    assert set(stored["session"]) <= SESSION_STORAGE_ALLOWED
    assert set(stored["local"]) <= LOCAL_STORAGE_ALLOWED
    assert stored["local"].get("huike.locale") == "en"
    assert stored["indexed"] == []
    values = [*stored["session"].values(), *stored["local"].values()]
    for value in values:
        assert not re.search(r"\d{7,}", value)
        assert "存储测试用户" not in value
        assert account.phone not in value
        assert "@" not in value
        assert str(me["user_id"]) not in value

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("user-menu-logout").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Log in to Huike")
    after = _storage(page)
    context.close()
    assert after == {"session": {}, "local": {}, "indexed": []}
