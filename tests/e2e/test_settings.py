"""Browser tests of the settings pages: WeCom connection (against the bundled emulator), devices,
audit log, privacy inventory and consents, working-day calendar."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Account

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _confirm(page: Page) -> None:
    page.locator(".el-message-box").get_by_role("button").last.click()


def test_wecom_connects_to_the_emulator(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    corp = httpx.get(live_server + "/_wecom/_emulator/corps").json()[0]
    page.goto(live_server + "/settings/wecom")
    expect(page.get_by_test_id("page-title")).to_have_text("企业微信")
    expect(page.get_by_test_id("menu-item-settings.wecom")).to_have_class(re.compile(r"\bis-active\b"))
    expect(page.get_by_test_id("wecom-status")).to_have_attribute("data-status", "none")

    # A wrong secret is saved but fails verification, with WeCom's error explained.
    page.get_by_test_id("wecom-corp-id").fill(corp["corp_id"])
    page.get_by_test_id("wecom-agent-id").fill(str(corp["agent_id"]))
    page.get_by_test_id("wecom-app-secret").fill("not-the-right-secret")
    page.get_by_test_id("wecom-contact-secret").fill(corp["contact_secret"])
    page.get_by_test_id("wecom-save").click()
    expect(page.get_by_test_id("wecom-status")).to_have_attribute("data-status", "failed")
    expect(page.get_by_test_id("wecom-error")).to_contain_text("Secret 无效")

    # Secrets are write-only: "已设置" with a change button.
    expect(page.get_by_test_id("wecom-contact-secret-set")).to_have_text("已设置")
    page.get_by_test_id("wecom-app-secret-change").click()
    page.get_by_test_id("wecom-app-secret").fill(corp["app_secret"])
    page.get_by_test_id("wecom-save").click()
    expect(page.get_by_test_id("wecom-status")).to_have_attribute("data-status", "connected")
    expect(page.get_by_test_id("wecom-status")).to_have_text("已连接")
    expect(page.get_by_test_id("wecom-error")).to_have_count(0)
    expect(page.get_by_test_id("wecom-app-secret-set")).to_be_visible()

    url = page.get_by_test_id("wecom-callback-url")
    expect(url).to_have_value(re.compile(re.escape(live_server) + r"/wecom/callback/\S+"))
    expect(page.get_by_test_id("wecom-callback-verified")).to_have_attribute("data-verified", "false")
    expect(page.get_by_test_id("wecom-guide")).to_contain_text("设置API接收")

    # Paste the three values into the (emulated) WeCom admin console: its URL handshake verifies them.
    saved = httpx.post(
        f"{live_server}/_wecom/_emulator/corps/{corp['corp_id']}/callback",
        json={
            "url": url.input_value(),
            "token": page.get_by_test_id("wecom-callback-token").input_value(),
            "encoding_aes_key": page.get_by_test_id("wecom-callback-aes").input_value(),
        },
        timeout=20,
    )
    assert saved.status_code == 200, saved.text
    page.reload()
    expect(page.get_by_test_id("wecom-callback-verified")).to_have_attribute("data-verified", "true")
    expect(page.get_by_test_id("wecom-callback-verified")).to_contain_text("回调已验证")

    page.get_by_test_id("wecom-verify").click()
    expect(page.get_by_test_id("wecom-status")).to_have_attribute("data-status", "connected")

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("WeCom connection")
    expect(page.get_by_test_id("wecom-status")).to_have_text("Connected")


def test_second_session_is_listed_and_revoked(
    live_server: str, browser: Browser, logged_in_page: Page, account: Account
) -> None:
    other = browser.new_context(locale="zh-CN")
    try:
        login = other.request.post(
            live_server + "/api/v1/auth/login/password",
            data={"phone": account.phone, "password": account.password},
        )
        assert login.ok, login.text()
        other_id = login.json()["session_id"]

        page = logged_in_page
        page.goto(live_server + "/")
        page.get_by_test_id("user-menu").click()
        page.get_by_test_id("user-menu-sessions").click()
        expect(page.get_by_test_id("page-title")).to_have_text("登录设备")
        revoke = page.locator(f'[data-testid="session-revoke"][data-session-id="{other_id}"]')
        expect(revoke).to_have_attribute("data-current", "false")
        expect(page.get_by_test_id("session-current")).to_have_count(1)

        revoke.click()
        _confirm(page)
        expect(revoke).to_have_count(0)
        expect(page.get_by_test_id("session-current")).to_have_count(1)
        assert other.request.get(live_server + "/api/v1/auth/me").status == 401
    finally:
        other.close()


def test_audit_log_lists_login_events(
    live_server: str, browser: Browser, logged_in_page: Page, account: Account
) -> None:
    # A login in another browser (failed logins are platform-level events, not the tenant's: no
    # enumeration of phone numbers, so only the successful one shows here).
    other = browser.new_context()
    try:
        login = other.request.post(
            live_server + "/api/v1/auth/login/password",
            data={"phone": account.phone, "password": account.password},
        )
        assert login.ok, login.text()
    finally:
        other.close()

    page = logged_in_page
    page.goto(live_server + "/settings/audit")
    expect(page.get_by_test_id("page-title")).to_have_text("审计日志")
    page.get_by_test_id("audit-filter-action").fill("auth.login")
    page.get_by_test_id("audit-search").click()
    table = page.get_by_test_id("audit-table")
    expect(table.get_by_text("auth.login.succeeded").first).to_be_visible()
    expect(table.get_by_text("account.registered")).to_have_count(0)

    table.get_by_test_id("audit-open").first.click()
    detail = page.get_by_test_id("audit-detail")
    expect(detail.get_by_test_id("audit-detail-action")).to_contain_text("auth.login.")

    page.keyboard.press("Escape")
    page.get_by_test_id("audit-reset").click()
    expect(table.get_by_text("account.registered")).to_be_visible()


def test_inventory_rows_and_csv_download(live_server: str, logged_in_page: Page, tmp_path: Path) -> None:
    page = logged_in_page
    page.goto(live_server + "/settings/privacy")
    expect(page.get_by_test_id("page-title")).to_have_text("隐私与数据")
    table = page.get_by_test_id("inventory-table")
    expect(table.locator(".el-table__row").first).to_be_visible()
    total = page.get_by_test_id("inventory-total")
    assert int(total.get_attribute("data-count") or 0) > 0

    page.get_by_test_id("inventory-search").fill("users.phone")
    expect(table.locator(".el-table__row").first).to_contain_text("users.phone")

    with page.expect_download() as download:
        page.get_by_test_id("inventory-export").click()
    assert download.value.suggested_filename == "huike-inventory.csv"
    path = tmp_path / "inventory.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert "users" in text
    assert len(text.splitlines()) > 10

    _switch_locale(page, "en")
    expect(page.get_by_test_id("privacy-tab-inventory")).to_have_text("Data inventory")
    expect(page.get_by_test_id("page-title")).to_have_text("Privacy & data")

    page.get_by_test_id("privacy-tab-consents").click()
    expect(page.get_by_test_id("consents-effective-version")).to_have_text("2023-02-22")
    page.get_by_test_id("privacy-tab-thirdParties").click()
    expect(page.get_by_test_id("third-parties-link")).to_have_attribute(
        "href", "/privacy/third-parties?lang=en"
    )


def test_consent_grant_and_withdraw(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/settings/privacy?tab=consents")
    purposes = page.get_by_test_id("consents-purposes")
    row = purposes.locator(".el-table__row", has_text="与您联系、向您介绍我们的产品")
    page.get_by_test_id("consent-grant-marketing.product_introduction").click()
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "granted")
    page.get_by_test_id("consent-withdraw-marketing.product_introduction").click()
    _confirm(page)
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "withdrawn")
    expect(page.get_by_test_id("consents-events")).to_contain_text("撤回")


def test_calendar_deadline_and_year(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/settings/calendar")
    expect(page.get_by_test_id("page-title")).to_have_text("工作日历")

    calculator = page.get_by_test_id("deadline-calculator")
    date_input = calculator.locator(".el-date-editor input")
    date_input.fill("2026-01-26")
    date_input.press("Enter")
    calculator.locator(".el-input-number input").fill("15")
    page.get_by_test_id("deadline-compute").click()
    expect(page.get_by_test_id("deadline-due")).to_have_text("2026-02-14")
    expect(page.get_by_test_id("deadline-provisional")).to_have_count(0)

    year_input = page.get_by_test_id("calendar-year").locator(".el-date-editor input")
    year_input.fill("2026")
    year_input.press("Enter")
    expect(page.get_by_test_id("calendar-confirmed")).to_have_attribute("data-confirmed", "true")
    expect(page.get_by_test_id("calendar-holidays")).to_contain_text("春节")
    expect(page.get_by_test_id("calendar-makeup")).to_contain_text("2026-02-14")
