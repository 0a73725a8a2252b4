"""Browser tests of the auth pages: registration, logout, login by password and by SMS code, errors.

SMS codes come from the development endpoint through the page's own dev banner ("填入最新验证码").
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, Account, new_phone, wait_sms_cooldown

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _field_error(page: Page, testid: str) -> str:
    """The inline error of the form item holding the element with `testid`."""
    item = page.locator(".el-form-item", has=page.get_by_test_id(testid))
    return item.locator(".el-form-item__error").inner_text()


def _password_login(page: Page, phone: str, password: str) -> None:
    page.get_by_test_id("login-phone").fill(phone)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_wrong_password_shows_translated_error(live_server: str, page: Page, account: Account) -> None:
    page.goto(live_server + "/login")
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")

    # Checked in the browser first: an invalid number never reaches the server.
    _password_login(page, "12345", "whatever")
    expect(page.locator(".el-form-item__error").first).to_have_text("请输入有效的中国大陆手机号码")

    _password_login(page, account.phone, "Wrong-Password-1")
    error = page.locator(".el-form-item", has=page.get_by_test_id("login-password")).locator(
        ".el-form-item__error"
    )
    expect(error).to_have_text("手机号或密码（验证码）不正确。")

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Log in to Huike")
    page.get_by_test_id("login-submit").click()
    expect(error).to_have_text("The phone number or the password (code) is wrong.")
    assert page.url.startswith(live_server + "/login")


def test_register_logout_and_password_login(live_server: str, page: Page) -> None:
    phone = new_phone()
    company = "界面注册测试公司"
    page.goto(live_server + "/register")
    expect(page.get_by_test_id("page-title")).to_have_text("注册试用")
    expect(page.get_by_test_id("dev-sms-banner")).to_contain_text("开发环境：短信验证码已输出到日志")
    expect(page.get_by_test_id("reg-policy-version")).to_contain_text("2023-02-22")
    expect(page.get_by_test_id("reg-policy-link")).to_have_attribute("target", "_blank")
    expect(page.get_by_test_id("reg-policy-link")).to_have_attribute("href", "/privacy/policy")
    expect(page.get_by_test_id("reg-third-parties-link")).to_have_attribute("href", "/privacy/third-parties")

    page.get_by_test_id("reg-phone").fill(phone)
    page.get_by_test_id("reg-send").click()
    expect(page.get_by_test_id("reg-send")).to_contain_text("秒后重发")
    expect(page.get_by_test_id("reg-send")).to_be_disabled()

    page.get_by_test_id("reg-password").fill("abc")
    expect(page.get_by_test_id("password-strength")).to_have_attribute("data-level", "weak")
    page.get_by_test_id("reg-password").fill(PASSWORD)
    expect(page.get_by_test_id("password-strength")).not_to_have_attribute("data-level", "weak")
    page.get_by_test_id("reg-company").fill(company)
    page.get_by_test_id("reg-industry").click()
    page.get_by_role("option", name="零售/电商").click()
    page.get_by_test_id("reg-adult").locator(".el-checkbox__inner").click()
    page.get_by_test_id("reg-authorised").locator(".el-checkbox__inner").click()
    page.get_by_test_id("reg-policy").locator(".el-checkbox__inner").click()

    # A wrong code: the server's error appears next to the code field.
    page.get_by_test_id("reg-code").fill("000000")
    page.get_by_test_id("reg-submit").click()
    expect(
        page.locator(".el-form-item", has=page.get_by_test_id("reg-code")).locator(".el-form-item__error")
    ).to_contain_text("短信验证码不正确")

    page.get_by_test_id("dev-sms-fill").click()
    # the wrong code is six digits too: wait for the real one
    expect(page.get_by_test_id("reg-code")).to_have_value(re.compile(r"^(?!000000)\d{6}$"))
    page.get_by_test_id("reg-submit").click()

    expect(page.get_by_test_id("page-title")).to_have_text("工作台")
    assert page.url == live_server + "/"
    expect(page.get_by_test_id("user-company")).to_have_text(company)
    expect(page.get_by_test_id("user-name")).to_contain_text("****")

    # Log out from the header's account menu.
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("user-menu-logout").click()
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    assert page.url.startswith(live_server + "/login")

    # A console page without a session goes to the login page, and back after logging in.
    page.goto(live_server + "/settings/audit")
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    assert page.url == live_server + "/login?redirect=/settings/audit"
    _password_login(page, phone, PASSWORD)
    expect(page.get_by_test_id("page-title")).to_have_text("审计日志")
    assert page.url == live_server + "/settings/audit"
    table = page.get_by_test_id("audit-table")
    expect(table.get_by_text("auth.login.succeeded").first).to_be_visible()
    expect(table.get_by_text("account.registered")).to_be_visible()

    keys = page.evaluate("() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)]")
    assert keys == []


def test_sms_code_login(live_server: str, page: Page, account: Account) -> None:
    wait_sms_cooldown(account)  # the shared account's registration code was sent moments ago
    page.goto(live_server + "/login?redirect=/settings/sessions")
    page.get_by_test_id("login-tab-sms").click()
    page.get_by_test_id("sms-login-phone").fill(account.phone)
    page.get_by_test_id("sms-login-send").click()
    expect(page.get_by_test_id("sms-login-send")).to_contain_text(re.compile(r"\d+ 秒后重发"))
    page.get_by_test_id("dev-sms-fill").click()
    expect(page.get_by_test_id("sms-login-code")).to_have_value(re.compile(r"^\d{6}$"))
    page.get_by_test_id("sms-login-submit").click()

    expect(page.get_by_test_id("page-title")).to_have_text("登录设备")
    assert page.url == live_server + "/settings/sessions"
    expect(page.get_by_test_id("session-current")).to_be_visible()
    expect(page.get_by_test_id("sessions-table")).to_contain_text("短信验证码")
