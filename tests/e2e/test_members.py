"""Browser tests of 成员与部门: sync the WeCom directory from the console (emulator's demo corp), the
department tree, filters, the member drawer, the login invitation, the tags a member put on customers
(R-ADM-1), and the "sync running" answer."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import api_get

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _sync(page: Page) -> None:
    page.get_by_test_id("member-sync").click()
    progress = page.get_by_test_id("member-sync-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(progress).to_contain_text("同步完成")


def test_sync_filter_and_detail(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    page.goto(live_server + "/settings/members")
    expect(page.get_by_test_id("page-title")).to_have_text("成员与部门")
    expect(page.get_by_test_id("menu-item-settings.members")).to_have_class(re.compile(r"\bis-active\b"))
    expect(page.get_by_test_id("coming-soon")).to_have_count(0)

    _sync(page)
    table = page.get_by_test_id("member-table")
    names = table.get_by_test_id("member-name")
    expect(names.first).to_be_visible()
    assert names.count() > 5
    tree = page.get_by_test_id("department-tree")
    expect(tree.get_by_test_id("department-count").first).to_be_visible()
    expect(page.get_by_test_id("member-load-more").or_(page.get_by_test_id("member-no-more"))).to_be_visible()

    # Keyword: a part of a name finds that member.
    first_name = names.first.inner_text()
    first_userid = table.get_by_test_id("member-userid").first.inner_text()
    page.get_by_test_id("member-filter-keyword").fill(first_name)
    page.get_by_test_id("member-search").click()
    expect(table.get_by_test_id("member-userid").first).to_have_text(first_userid)
    # the first row matched before the search too: wait for the other rows to be filtered out
    expect(names.filter(has_not_text=first_name)).to_have_count(0)

    # An unknown keyword: nothing.
    page.get_by_test_id("member-filter-keyword").fill("没有这个人zzz")
    page.get_by_test_id("member-search").click()
    expect(table.get_by_test_id("member-name")).to_have_count(0)
    expect(table).to_contain_text("暂无成员")

    # Reset, then the detail drawer of a member.
    page.get_by_test_id("member-reset").click()
    expect(names.first).to_be_visible()
    table.get_by_test_id("member-open").first.click()
    detail = page.get_by_test_id("member-detail")
    expect(detail.get_by_test_id("member-detail-userid")).to_have_text(first_userid)
    expect(detail.get_by_test_id("member-detail-name")).to_have_text(first_name)
    page.keyboard.press("Escape")

    # A department filters the table down to its members (counts are of each department's own).
    node = tree.locator("[data-testid='department-node']:not([data-count='0'])").first
    count = int(node.get_attribute("data-count") or 0)
    node.click()
    expect(table.get_by_test_id("member-name")).to_have_count(count)
    page.get_by_test_id("department-all").click()
    expect(names.nth(count)).to_be_visible()


def test_invite_shows_expiry(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    page.goto(live_server + "/settings/members")
    page.get_by_test_id("member-filter-status").click()
    page.locator(".el-select-dropdown__item", has_text="已激活").click()
    page.get_by_test_id("member-search").click()
    table = page.get_by_test_id("member-table")
    if table.get_by_test_id("member-name").count() == 0:
        _sync(page)
    row = table.locator(".el-table__row", has=page.get_by_test_id("member-invite")).first
    invite = row.get_by_test_id("member-invite")
    expect(invite).to_be_visible()
    userid = row.get_by_test_id("member-userid").inner_text()
    invite.click()
    expect(row.get_by_test_id("member-invited")).to_contain_text("前有效")

    row.get_by_test_id("member-open").click()
    detail = page.get_by_test_id("member-detail")
    expect(detail.get_by_test_id("member-detail-userid")).to_have_text(userid)
    expect(detail.get_by_test_id("member-invitation")).to_contain_text("有效期至")


def test_sync_running_links_to_job_centre(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    page.goto(live_server + "/settings/jobs")
    expect(page.get_by_test_id("jobs-table")).to_be_visible()
    job_id = page.request.get(live_server + "/api/v1/jobs?limit=1").json()["items"][0]["id"]

    def refuse(route: Route) -> None:
        body = {
            "error": {
                "code": "member.sync_running",
                "message": "成员同步正在进行中，请等待当前任务完成。",
                "details": {"job_id": job_id},
            }
        }
        route.fulfill(status=409, content_type="application/json", body=json.dumps(body))

    def running(route: Route) -> None:
        job = {
            "id": job_id,
            "kind": "member.sync_from_wecom",
            "status": "running",
            "progress": 3,
            "total": 10,
            "error": None,
            "result": None,
            "attempts": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "started_at": "2026-01-01T00:00:01Z",
            "finished_at": None,
        }
        route.fulfill(status=200, content_type="application/json", body=json.dumps(job))

    page.route("**/api/v1/members/sync", refuse)
    page.route(f"**/api/v1/jobs/{job_id}", running)
    page.goto(live_server + "/settings/members")
    page.get_by_test_id("member-sync").click()
    progress = page.get_by_test_id("member-sync-progress")
    expect(progress).to_contain_text("同步进行中")
    expect(progress).to_contain_text("3 / 10")
    page.get_by_test_id("member-sync-progress-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("任务中心")


def test_members_page_in_english(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    page.goto(live_server + "/settings/members")
    expect(page.get_by_test_id("page-title")).to_have_text("成员与部门")
    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Members & departments")
    expect(page.get_by_test_id("member-sync")).to_have_text("Sync WeCom directory")
    expect(page.get_by_test_id("department-all")).to_contain_text("All members")
    _switch_locale(page, "zh-CN")


def test_the_tags_a_member_put_on_customers_are_shown_on_demand_and_each_view_audited(
    live_server: str, wecom_page: Page
) -> None:
    """R-ADM-1: an admin views the corp tags a member put on their customers from the member drawer;
    opening the drawer is not a view, asking for the tags is one, audited once."""
    page = wecom_page
    page.goto(live_server + "/settings/members")
    _sync(page)
    table = page.get_by_test_id("member-table")
    table.get_by_test_id("member-open").first.click()
    detail = page.get_by_test_id("member-detail")
    userid = detail.get_by_test_id("member-detail-userid").inner_text()
    member_id = api_get(page, live_server, "/api/v1/members", keyword=userid)["items"][0]["id"]

    def views() -> int:
        found = api_get(
            page, live_server, "/api/v1/audit-events", action="member.tags_viewed", object_id=member_id
        )
        return len(found["items"])

    before = views()
    section = detail.get_by_test_id("member-customer-tags")
    expect(section).to_contain_text("成员给客户添加的标签")
    assert views() == before  # the drawer alone shows no one's tags
    section.get_by_test_id("member-customer-tags-show").click()
    shown = section.get_by_test_id("member-customer-tags-table")
    expect(shown).to_be_visible()
    expect(section.get_by_test_id("member-customer-tags-show")).to_have_count(0)
    assert views() == before + 1
