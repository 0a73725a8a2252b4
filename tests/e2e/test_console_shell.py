"""Browser tests of the console shell (web/dist served by a live Huike).

Fixtures `live_server` (base URL), `page` (Playwright sync Page, zh-CN browser locale) and
`logged_in_page` (the same, signed in: console pages need a session) come from tests/e2e/conftest.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

MENU_GROUPS_ZH = ["拓客引流", "客户管理", "客户群", "消息触达", "营销", "数据", "设置"]
MENU_GROUP_KEYS = ["acquisition", "customers", "groups", "outreach", "marketing", "data", "settings"]


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def test_dashboard_shows_title_menu_and_system_status(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/")
    expect(page.get_by_test_id("page-title")).to_have_text("工作台")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    menu = page.get_by_test_id("side-menu")
    for key, label in zip(MENU_GROUP_KEYS, MENU_GROUPS_ZH, strict=True):
        expect(menu.get_by_test_id(f"menu-group-{key}")).to_contain_text(label)
    # Groups appear in the specified order.
    titles = menu.locator(":scope > .el-sub-menu > .el-sub-menu__title").all_inner_texts()
    assert [t.strip() for t in titles] == MENU_GROUPS_ZH

    status = page.get_by_test_id("system-status")
    expect(status).to_be_visible()
    mode = status.get_by_test_id("meta-mode")
    expect(mode).to_have_attribute("data-mode", "embedded")
    expect(mode).to_contain_text(re.compile(r"embedded|scale"))
    expect(status.get_by_test_id("check-database")).to_have_attribute("data-state", "ok")
    expect(status.get_by_test_id("check-broker")).to_have_attribute("data-state", "ok")

    expect(page.get_by_test_id("trend-chart")).to_contain_text("暂无数据")


def test_locale_switch_and_persistence(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/")
    title = page.get_by_test_id("page-title")
    expect(title).to_have_text("工作台")

    _switch_locale(page, "en")
    expect(title).to_have_text("Dashboard")
    expect(page.get_by_test_id("menu-group-settings")).to_contain_text("Settings")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title(re.compile("Dashboard"))

    page.reload()
    expect(page.get_by_test_id("page-title")).to_have_text("Dashboard")
    expect(page.get_by_test_id("menu-group-settings")).to_contain_text("Settings")

    _switch_locale(page, "zh-CN")
    expect(page.get_by_test_id("page-title")).to_have_text("工作台")
    expect(page.get_by_test_id("menu-group-settings")).to_contain_text("设置")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.reload()
    expect(page.get_by_test_id("page-title")).to_have_text("工作台")

    # Only the locale preference is kept in browser storage.
    keys = page.evaluate("() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)]")
    assert keys == ["huike.locale"]


def test_deep_link_to_coming_soon_page(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/outreach/moments")
    expect(page.get_by_test_id("page-title")).to_have_text("客户朋友圈")
    expect(page.get_by_test_id("coming-soon")).to_have_text("该功能正在建设中，即将上线。")
    item = page.get_by_test_id("menu-item-outreach.moments")
    expect(item).to_be_visible()
    expect(item).to_have_class(re.compile(r"\bis-active\b"))
    expect(page.get_by_test_id("breadcrumb")).to_contain_text("消息触达")
    assert page.url == live_server + "/outreach/moments"


def test_unknown_deep_link_shows_not_found(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/no/such/page")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("side-menu")).to_be_visible()


def test_console_pages_need_login(live_server: str, page: Page) -> None:
    page.goto(live_server + "/settings/jobs")
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    assert page.url == live_server + "/login?redirect=/settings/jobs"
    expect(page.get_by_test_id("side-menu")).to_have_count(0)

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Log in to Huike")
    expect(page).to_have_title(re.compile("Log in"))


def test_job_center_lists_jobs(live_server: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(live_server + "/settings/jobs")
    expect(page.get_by_test_id("page-title")).to_have_text("任务中心")
    expect(page.get_by_test_id("jobs-table")).to_be_visible()
    expect(page.get_by_test_id("jobs-error")).to_have_count(0)
    expect(page.get_by_test_id("menu-item-settings.jobs")).to_have_class(re.compile(r"\bis-active\b"))

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Job center")
