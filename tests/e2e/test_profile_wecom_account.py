"""Browser test of 个人中心 for an account WeCom made (QR login, invitation): no password and no phone yet.
The page offers a first password without the current one and binds a first phone with one code. The
account's state and the changes are played by routes (the API side is tested in tests/account)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.e2e


def test_first_password_and_first_phone(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    sent: dict[str, Any] = {}

    def wecom_made(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        body = route.fetch().json()
        body.update(has_password=False, phone_masked=None)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    def answer(path: str, status: int, body: dict[str, Any]) -> Any:
        def handle(route: Route) -> None:
            sent[path] = route.request.post_data_json
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

        return handle

    page.route("**/api/v1/auth/profile", wecom_made)
    page.route("**/api/v1/auth/password", answer("password", 200, {"sessions_revoked": 0}))
    page.route(
        "**/api/v1/auth/sms-codes",
        answer("sms", 202, {"phone_masked": "139****0002", "expires_in_s": 300, "resend_after_s": 60}),
    )
    page.route(
        "**/api/v1/auth/phone", answer("phone", 200, {"phone_masked": "139****0002", "sessions_revoked": 0})
    )
    page.goto(live_server + "/settings/profile")
    expect(page.get_by_test_id("page-title")).to_have_text("个人中心")

    # A first password: no current one is asked for, none is sent.
    expect(page.get_by_test_id("password-first-hint")).to_be_visible()
    expect(page.get_by_text("设置登录密码")).to_be_visible()
    expect(page.get_by_test_id("password-current")).to_have_count(0)
    page.get_by_test_id("password-new").fill("Wecom-First-Pass-2026")
    page.get_by_test_id("password-confirm").fill("Wecom-First-Pass-2026")
    expect(page.get_by_test_id("password-submit")).to_have_text("设置密码")
    page.get_by_test_id("password-submit").click()
    expect(page.locator(".el-message--success", has_text="密码已设置")).to_be_visible()
    assert sent["password"] == {"new_password": "Wecom-First-Pass-2026"}

    # A first phone: one step, the new number's code, no ticket.
    expect(page.get_by_test_id("phone-bind-hint")).to_be_visible()
    expect(page.get_by_test_id("phone-current")).to_have_count(0)
    page.get_by_test_id("phone-new").fill("13900139002")
    page.get_by_test_id("phone-new-sms-send").click()
    expect(page.get_by_test_id("phone-new-sms-send")).to_contain_text("秒后重发")
    assert sent["sms"] == {"phone": "13900139002", "purpose": "change_phone"}
    page.get_by_test_id("phone-new-sms-code").fill("123456")
    expect(page.get_by_test_id("phone-submit")).to_have_text("确认绑定")
    page.get_by_test_id("phone-submit").click()
    expect(page.locator(".el-message--success", has_text="已绑定手机号 139****0002")).to_be_visible()
    assert sent["phone"] == {"new_phone": "13900139002", "sms_code": "123456"}
    # a reload of the profile still in flight must not outlive the test
    page.unroute_all(behavior="ignoreErrors")
