"""Browser tests of 角色权限 (custom roles, a member's role, menus hidden by permission) and 个人中心
(display name, avatar checks and upload, password change then login with it, two-step phone change)."""

from __future__ import annotations

import json
import random
import re
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import (
    PASSWORD,
    VIEWPORT,
    Account,
    csrf_headers,
    latest_sms_code,
    new_phone,
    register_account,
    wait_sms_cooldown,
)

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _confirm(page: Page) -> None:
    page.locator(".el-message-box").get_by_role("button").last.click()


def _field_error(page: Page, testid: str) -> str:
    item = page.locator(".el-form-item", has=page.get_by_test_id(testid)).last
    return item.locator(".el-form-item__error").inner_text()


def _png() -> bytes:
    """A 2×2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x16\x77\xff" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_custom_role_and_member_assignment(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    suffix = f"{random.randrange(10**4):04d}"
    name = f"店长{suffix}"
    page.goto(live_server + "/settings/roles")
    expect(page.get_by_test_id("page-title")).to_have_text("角色权限")
    roles = page.get_by_test_id("role-list")
    expect(roles.locator('[data-role-id="admin"]')).to_be_visible()
    expect(roles.locator('[data-role-id="member"]')).to_be_visible()

    # Built-in roles are read-only.
    roles.locator('[data-role-id="member"]').click()
    expect(page.get_by_test_id("role-name")).to_be_disabled()
    expect(page.get_by_test_id("role-save")).to_have_count(0)

    # A custom role: a permission brings what it implies, locked on.
    page.get_by_test_id("role-create").click()
    expect(page.get_by_test_id("role-editor-title")).to_have_text("新角色")
    page.get_by_test_id("role-name").fill(name)
    page.get_by_test_id("role-scope").click()
    page.locator(".el-select-dropdown__item:visible", has_text="本部门及下级部门").click()
    matrix = page.get_by_test_id("permission-matrix")
    matrix.get_by_test_id("permission-customers.edit").click()
    expect(matrix.get_by_test_id("permission-customers.view")).to_have_class(re.compile(r"\bis-checked\b"))
    expect(matrix.get_by_test_id("permission-customers.view")).to_have_class(re.compile(r"\bis-disabled\b"))
    expect(matrix.locator('[data-module="customers"]')).to_contain_text("客户管理")
    page.get_by_test_id("role-save").click()
    item = roles.locator(f'[data-role-name="{name}"]')
    expect(item).to_be_visible()
    expect(item.get_by_test_id("role-member-count")).to_have_text("0 名成员")
    expect(page.get_by_test_id("role-editor-title")).to_have_text(name)

    # The same name again: the server's message by the name input.
    page.get_by_test_id("role-create").click()
    page.get_by_test_id("role-name").fill(name)
    page.get_by_test_id("role-save").click()
    expect(
        page.locator(".el-form-item", has=page.get_by_test_id("role-name")).locator(".el-form-item__error")
    ).to_have_text("已存在同名角色，请换一个名称。")

    # Give a member the role from the members page.
    if page.request.get(live_server + "/api/v1/members?limit=1").json()["items"] == []:
        started = page.request.post(live_server + "/api/v1/members/sync", headers=csrf_headers(page.request))
        assert started.ok, started.text()
        job = started.json()["id"]
        for _ in range(60):
            if page.request.get(f"{live_server}/api/v1/jobs/{job}").json()["status"] == "succeeded":
                break
            time.sleep(0.5)
    page.goto(live_server + "/settings/members")
    page.get_by_test_id("member-table").get_by_test_id("member-open").first.click()
    detail = page.get_by_test_id("member-detail")
    detail.get_by_test_id("member-role-select").click()
    page.locator(".el-select-dropdown__item:visible", has_text=name).click()
    detail.get_by_test_id("member-role-assign").click()
    expect(detail.get_by_test_id("member-role-assigned")).to_have_text(f"当前角色：{name}")
    # the drawer and the table show the member's role as it now applies
    expect(detail.get_by_test_id("member-detail-role")).to_have_text(name)
    expect(page.get_by_test_id("member-table").get_by_test_id("member-role").first).to_have_text(name)
    page.keyboard.press("Escape")

    # A role in use cannot be deleted: the server says why.
    page.goto(live_server + "/settings/roles")
    roles.locator(f'[data-role-name="{name}"]').click()
    expect(roles.locator(f'[data-role-name="{name}"]').get_by_test_id("role-member-count")).to_have_text(
        "1 名成员"
    )
    page.get_by_test_id("role-delete").click()
    _confirm(page)
    expect(page.get_by_test_id("role-error")).to_contain_text("仍有 1 名成员使用此角色")

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Roles & permissions")
    expect(page.get_by_test_id("role-create")).to_have_text("New role")
    _switch_locale(page, "zh-CN")


def test_menu_and_buttons_follow_permissions(live_server: str, wecom_page: Page) -> None:
    page = wecom_page

    def limited(route: Route) -> None:
        # the signed-in user as the server answers, with a role that grants little
        body = route.fetch().json()
        body["role"] = {"id": "limited", "name": "受限角色", "builtin": False}
        body["permissions"] = ["app.console", "customers.view", "members.view"]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/auth/me", limited)
    page.goto(live_server + "/settings/members")
    expect(page.get_by_test_id("page-title")).to_have_text("成员与部门")
    expect(page.get_by_test_id("menu-item-settings.members")).to_be_visible()
    expect(page.get_by_test_id("menu-item-settings.roles")).to_have_count(0)
    expect(page.get_by_test_id("menu-item-settings.wecom")).to_have_count(0)
    expect(page.get_by_test_id("menu-group-marketing")).to_have_count(0)
    expect(page.get_by_test_id("member-sync")).to_have_count(0)
    page.goto(live_server + "/customers/tags")
    expect(page.get_by_test_id("tag-count")).to_be_visible()
    expect(page.get_by_test_id("group-create")).to_have_count(0)
    page.unroute_all(behavior="ignoreErrors")


@pytest.fixture
def own_page(live_server: str, browser: Browser) -> Iterator[tuple[Page, Account]]:
    """A company of its own: this test changes the password and the phone."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    account = Account(new_phone(), PASSWORD, "个人中心测试企业", 0.0)
    register_account(context.request, live_server, account)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, account
    context.close()


def test_profile_name_avatar_password_and_phone(
    live_server: str, own_page: tuple[Page, Account], tmp_path: Path
) -> None:
    page, account = own_page
    page.goto(live_server + "/")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("user-menu-profile").click()
    expect(page.get_by_test_id("page-title")).to_have_text("个人中心")
    assert page.url == live_server + "/settings/profile"
    expect(page.get_by_test_id("profile-phone")).to_have_text(account.phone[:3] + "****" + account.phone[-4:])
    expect(page.get_by_test_id("profile-role")).to_have_text("创建者")

    # Display name.
    page.get_by_test_id("profile-name-change").click()
    page.get_by_test_id("profile-name-edit-input").fill("王小汇")
    page.get_by_test_id("profile-name-edit-save").click()
    expect(page.get_by_test_id("profile-display-name")).to_have_text("王小汇")

    # Avatar: a wrong type is refused in the browser; a PNG previews, then uploads.
    text = tmp_path / "avatar.txt"
    text.write_text("not an image")
    page.get_by_test_id("avatar-file").set_input_files(str(text))
    expect(page.get_by_test_id("avatar-error")).to_have_text("仅支持 PNG、JPEG 或 WebP 图片")
    png = tmp_path / "avatar.png"
    png.write_bytes(_png())
    page.get_by_test_id("avatar-file").set_input_files(str(png))
    expect(page.get_by_test_id("avatar-preview")).to_contain_text("avatar.png")
    page.get_by_test_id("avatar-submit").click()
    expect(page.get_by_test_id("avatar-remove")).to_be_visible()
    expect(page.get_by_test_id("avatar-error")).to_have_count(0)

    # Password: a wrong current one is answered by its input; then the change.
    new_password = "Huike-Changed-Pass-2027"
    page.get_by_test_id("password-current").fill("Wrong-Password-1")
    page.get_by_test_id("password-new").fill(new_password)
    page.get_by_test_id("password-confirm").fill(new_password)
    page.get_by_test_id("password-submit").click()
    expect(
        page.locator(".el-form-item", has=page.get_by_test_id("password-current")).locator(
            ".el-form-item__error"
        )
    ).to_be_visible()
    page.get_by_test_id("password-current").fill(account.password)
    page.get_by_test_id("password-submit").click()
    expect(page.locator(".el-message--success", has_text="密码已修改")).to_be_visible()
    expect(page.get_by_test_id("password-current")).to_have_value("")

    # Two-step phone change: a code to the current phone (nothing to type), then one to the new phone.
    wait_sms_cooldown(account)
    masked = account.phone[:3] + "****" + account.phone[-4:]
    expect(page.get_by_test_id("phone-current")).to_contain_text(masked)
    page.get_by_test_id("phone-current-sms-send").click()
    expect(page.locator(".el-message--success", has_text=masked)).to_be_visible()
    expect(page.get_by_test_id("phone-current-sms-send")).to_contain_text("秒后重发")
    page.get_by_test_id("phone-current-sms-code").fill(
        latest_sms_code(page.request, live_server, account.phone)
    )
    page.get_by_test_id("phone-next").click()
    phone = new_phone()
    page.get_by_test_id("phone-new").fill(phone)
    page.get_by_test_id("phone-new-sms-send").click()
    expect(page.get_by_test_id("phone-new-sms-send")).to_contain_text("秒后重发")
    page.get_by_test_id("phone-new-sms-code").fill(latest_sms_code(page.request, live_server, phone))
    page.get_by_test_id("phone-submit").click()
    expect(page.get_by_test_id("profile-phone")).to_have_text(phone[:3] + "****" + phone[-4:])

    # Log out, then log in with the new phone and the new password.
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("user-menu-logout").click()
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    page.get_by_test_id("login-phone").fill(phone)
    page.get_by_test_id("login-password").fill(new_password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("side-menu")).to_be_visible()
    page.goto(live_server + "/settings/profile")
    expect(page.get_by_test_id("profile-display-name")).to_have_text("王小汇")

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Profile")
    expect(page.get_by_test_id("password-submit")).to_have_text("Change password")
    _switch_locale(page, "zh-CN")
