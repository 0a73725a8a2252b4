"""Browser tests of 客户群: sync the emulator's demo corp's groups from the console, filter and sort the
list, a group's detail with its people and trend, its people by name (a customer's name opens the
customer; a person who is nobody's customer shows the group's name for them once the group is read
again), local group tags (create, tag a group, bulk-tag, the tag filter, rename, delete), and the
statistics page after a customer joins a group (a real callback)."""

from __future__ import annotations

import random
import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from tests.e2e.conftest import api_get, callbacks_to_this_company, csrf_headers

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _pick(page: Page, select_testid: str, option: str) -> None:
    """Choose an option of an Element Plus select (its dropdown is teleported to the body)."""
    page.get_by_test_id(select_testid).click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()
    page.keyboard.press("Escape")


def _wait_job(request: APIRequestContext, base: str, job: dict[str, Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while job["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        job = request.get(f"{base}/api/v1/jobs/{job['id']}").json()
    assert job["status"] == "succeeded", job


def _members_synced(page: Page, base: str) -> None:
    """Owners' names come from the member directory: sync it over the API unless done already."""
    if api_get(page, base, "/api/v1/members", limit=1)["items"]:
        return
    started = page.request.post(
        base + "/api/v1/members/sync", data={"full": False}, headers=csrf_headers(page.request)
    )
    body = started.json()
    if started.status == 409:
        body = page.request.get(f"{base}/api/v1/jobs/{body['error']['details']['job_id']}").json()
    else:
        assert started.ok, started.text()
    _wait_job(page.request, base, body)


def _groups_synced(page: Page, base: str) -> None:
    _members_synced(page, base)
    page.goto(base + "/groups/list")
    expect(page.get_by_test_id("page-title")).to_have_text("客户群列表")
    total = page.get_by_test_id("group-total")
    expect(total).to_have_attribute("data-total", re.compile(r"\d+"))
    if total.get_attribute("data-total") == "0":
        page.get_by_test_id("group-sync").click()
        progress = page.get_by_test_id("group-sync-progress")
        expect(progress).to_have_attribute("data-status", "succeeded", timeout=60_000)
        expect(progress).to_contain_text("同步完成")
    expect(total).not_to_have_attribute("data-total", "0")


def test_list_filters_sort_and_detail(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _groups_synced(page, live_server)
    expect(page.get_by_test_id("menu-item-groups.list")).to_have_class(re.compile(r"\bis-active\b"))
    expect(page.get_by_test_id("coming-soon")).to_have_count(0)
    table = page.get_by_test_id("group-table")
    total = page.get_by_test_id("group-total")
    everything = int(total.get_attribute("data-total") or 0)
    assert everything == api_get(page, live_server, "/api/v1/group-chats", limit=1)["total"]
    expect(table.get_by_test_id("group-name").first).to_be_visible()
    assert table.get_by_test_id("group-owner").first.inner_text().strip()

    # Name: a part of the first group's name finds only groups with it.
    name = table.get_by_test_id("group-name").first.inner_text()
    part = name[-4:]
    page.get_by_test_id("group-filter-keyword").fill(part)
    page.get_by_test_id("group-search").click()
    expected = api_get(page, live_server, "/api/v1/group-chats", keyword=part, limit=1)["total"]
    expect(total).to_have_attribute("data-total", str(expected))
    for text in table.get_by_test_id("group-name").all_inner_texts():
        assert part in text

    # Owner: the owner with the most groups; every row is theirs.
    page.get_by_test_id("group-reset").click()
    expect(total).to_have_attribute("data-total", str(everything))
    owner = api_get(page, live_server, "/api/v1/group-chats/owners")["items"][0]
    _pick(page, "group-filter-owner", owner["name"] or owner["userid"])
    page.get_by_test_id("group-search").click()
    expect(total).to_have_attribute("data-total", str(owner["groups"]))
    owners = table.get_by_test_id("group-owner")
    expect(owners).to_have_count(min(owner["groups"], 50))
    for i in range(owners.count()):
        expect(owners.nth(i)).to_have_attribute("data-userid", owner["userid"])

    # Status: 已解散 finds none of a freshly synced corp; 正常 finds the API's count.
    page.get_by_test_id("group-reset").click()
    _pick(page, "group-filter-status", "已解散")
    page.get_by_test_id("group-search").click()
    expect(total).to_have_attribute("data-total", "0")
    expect(table).to_contain_text("暂无客户群")
    page.get_by_test_id("group-reset").click()
    _pick(page, "group-filter-status", "正常")
    page.get_by_test_id("group-search").click()
    normal = api_get(page, live_server, "/api/v1/group-chats", status="normal", limit=1)["total"]
    expect(total).to_have_attribute("data-total", str(normal))
    statuses = table.get_by_test_id("group-status")
    for i in range(min(statuses.count(), 10)):
        expect(statuses.nth(i)).to_have_attribute("data-status", "normal")

    # Sort by size: the largest group first.
    page.get_by_test_id("group-reset").click()
    _pick(page, "group-sort", "群人数从多到少")
    biggest = api_get(page, live_server, "/api/v1/group-chats", sort="size_desc", limit=1)["items"][0]
    expect(table.get_by_test_id("group-size").first).to_have_text(str(biggest["member_count"]))
    sizes = [int(s) for s in table.get_by_test_id("group-size").all_inner_texts()]
    assert sizes == sorted(sizes, reverse=True)

    # The detail of that group: info, numbers, trend, and its people with type, scene and join time.
    table.get_by_test_id("group-open").first.click()
    expect(page).to_have_url(re.compile(r"/groups/" + biggest["id"] + "$"))
    expect(page.get_by_test_id("group-detail-name")).to_have_text(biggest["name"])
    expect(page.get_by_test_id("group-detail-owner")).to_have_text(
        biggest["owner"]["name"] or biggest["owner"]["userid"]
    )
    expect(page.get_by_test_id("group-stat-size")).to_contain_text(str(biggest["member_count"]))
    expect(page.get_by_test_id("group-trend")).to_have_attribute("data-points", "30")
    people = page.get_by_test_id("group-people-table")
    expect(people.get_by_test_id("person-name").first).to_be_visible()
    expect(people.get_by_test_id("person-name")).to_have_count(min(20, biggest["member_count"]))
    types = set(people.get_by_test_id("person-type").evaluate_all("els => els.map(e => e.dataset.type)"))
    assert types
    assert types <= {"member", "external"}
    assert people.get_by_test_id("person-joined").first.inner_text() != "—"
    assert people.get_by_test_id("person-scene").first.inner_text().strip()
    # only the external contacts
    _pick(page, "group-people-type", "外部联系人")
    expect(people.locator('[data-testid="person-type"][data-type="member"]')).to_have_count(0)
    page.get_by_test_id("group-trend-days").locator('[data-days="7"]').click()
    expect(page.get_by_test_id("group-trend")).to_have_attribute("data-points", "7")

    _switch_locale(page, "en")
    expect(page.get_by_test_id("group-back")).to_contain_text("Back to customer groups")
    _switch_locale(page, "zh-CN")
    page.get_by_test_id("group-back").click()
    expect(page.get_by_test_id("page-title")).to_have_text("客户群列表")


def _customers_synced(page: Page, base: str) -> None:
    """Customers' names come from 客户列表's data: sync it over the API unless done already."""
    if api_get(page, base, "/api/v1/external-contacts/count")["count"]:
        return
    started = page.request.post(base + "/api/v1/external-contacts/sync", headers=csrf_headers(page.request))
    body = started.json()
    if started.status == 409:
        body = page.request.get(f"{base}/api/v1/jobs/{body['error']['details']['job_id']}").json()
    else:
        assert started.ok, started.text()
    _wait_job(page.request, base, body, timeout=180)


def _full_group_sync(page: Page, base: str) -> None:
    started = page.request.post(
        base + "/api/v1/group-chats/sync", data={"full": True}, headers=csrf_headers(page.request)
    )
    body = started.json()
    if started.status == 409:  # one already queued or running: wait for it, then start ours
        _wait_job(
            page.request,
            base,
            page.request.get(f"{base}/api/v1/jobs/{body['error']['details']['job_id']}").json(),
        )
        started = page.request.post(
            base + "/api/v1/group-chats/sync", data={"full": True}, headers=csrf_headers(page.request)
        )
        body = started.json()
    assert started.ok, started.text()
    _wait_job(page.request, base, body)


def test_group_people_by_name_and_a_customer_opens(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _groups_synced(page, live_server)
    _customers_synced(page, live_server)
    corp_id = callbacks_to_this_company(page, live_server)
    group = api_get(page, live_server, "/api/v1/group-chats", sort="size_desc", status="normal", limit=1)[
        "items"
    ][0]
    people_url = f"/api/v1/group-chats/{group['id']}/members"
    externals = api_get(page, live_server, people_url, type="external", limit=20)["items"]
    customer = next(p for p in externals if p["customer_id"])
    assert customer["name"]

    page.goto(f"{live_server}/groups/{group['id']}")
    expect(page.get_by_test_id("group-detail-name")).to_have_text(group["name"])
    people = page.get_by_test_id("group-people-table")
    _pick(page, "group-people-type", "外部联系人")
    expect(people.locator('[data-testid="person-type"][data-type="member"]')).to_have_count(0)
    # a customer by name, not by their external_userid; the name opens the customer
    row = people.locator(f'[data-testid="person-name"][data-userid="{customer["userid"]}"]')
    expect(row).to_have_attribute("data-source", "customer")
    link = row.get_by_test_id("person-customer-link")
    expect(link).to_have_text(customer["name"])
    expect(row).not_to_contain_text(customer["userid"])
    link.click()
    expect(page).to_have_url(re.compile(r"/customers/" + customer["customer_id"] + "$"))
    expect(page.get_by_test_id("customer-detail-name")).to_have_text(customer["name"])
    expect(page.get_by_test_id("customer-groups")).to_contain_text(group["name"])

    # somebody who is nobody's customer joins: 「外部联系人」 until the group is read again, then the
    # name the group shows for them
    stranger_name = f"路人{random.randrange(10**6):06d}"
    joined = httpx.post(
        f"{live_server}/_wecom/_emulator/scenarios/customer_joins_group",
        json={"corp_id": corp_id, "chat_id": group["chat_id"], "name": stranger_name},
        timeout=20,
    )
    assert joined.status_code == 200, joined.text
    stranger = joined.json()["external_userid"]
    deadline = time.monotonic() + 30
    while stranger not in {p["userid"] for p in api_get(page, live_server, people_url, limit=5)["items"]}:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    page.goto(f"{live_server}/groups/{group['id']}")
    row = page.get_by_test_id("group-people-table").locator(
        f'[data-testid="person-name"][data-userid="{stranger}"]'
    )
    expect(row).to_have_text("外部联系人")
    expect(row).to_have_attribute("data-source", "none")
    _full_group_sync(page, live_server)
    page.reload()
    expect(row).to_have_text(stranger_name)
    expect(row).to_have_attribute("data-source", "group")
    expect(row.get_by_test_id("person-customer-link")).to_have_count(0)
    _switch_locale(page, "en")
    expect(page.get_by_test_id("group-people-table")).to_contain_text("Not a customer · name in the group")
    _switch_locale(page, "zh-CN")


def test_local_tags_tag_a_group_and_filter(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _groups_synced(page, live_server)
    suffix = f"{random.randrange(10**6):06d}"
    vip, bulk = f"重点{suffix}", f"活动{suffix}"

    page.goto(live_server + "/groups/tags")
    expect(page.get_by_test_id("page-title")).to_have_text("群标签")
    for name in (vip, bulk):
        page.get_by_test_id("group-tag-create").click()
        page.get_by_test_id("group-tag-name-input").fill(name)
        page.get_by_test_id("group-tag-submit").click()
        expect(page.locator(f'[data-testid="group-tag-row-name"][data-name="{name}"]')).to_be_visible()
    # A duplicate name is refused with the server's message by the input.
    page.get_by_test_id("group-tag-create").click()
    page.get_by_test_id("group-tag-name-input").fill(vip)
    page.get_by_test_id("group-tag-submit").click()
    expect(page.get_by_test_id("group-tag-form")).to_contain_text("已有同名的群标签")
    page.keyboard.press("Escape")

    # Tag the first group on its detail page.
    page.goto(live_server + "/groups/list")
    table = page.get_by_test_id("group-table")
    first_name = table.get_by_test_id("group-name").first.inner_text()
    table.get_by_test_id("group-open").first.click()
    expect(page.get_by_test_id("group-detail-name")).to_have_text(first_name)
    page.get_by_test_id("group-edit-tags").click()
    dialog = page.get_by_test_id("group-tag-dialog")
    dialog.locator(f'[data-testid="group-tag-option"][data-tag-name="{vip}"]').click()
    dialog.get_by_test_id("group-tag-save").click()
    expect(page.get_by_test_id("group-detail-tags").get_by_test_id("group-detail-tag")).to_contain_text([vip])

    # Bulk: the first three groups of the list get the other tag.
    page.goto(live_server + "/groups/list")
    checkboxes = table.locator(".el-table__body .el-checkbox")
    for i in range(3):
        checkboxes.nth(i).click()
    page.get_by_test_id("group-bulk-tag").click()
    _pick(page, "group-bulk-add", bulk)
    page.get_by_test_id("group-tag-dialog").get_by_test_id("group-tag-save").click()
    expect(page.locator(".el-message--success")).to_contain_text("已更新 3 个客户群的标签")

    # The tag page counts the uses; its count opens the list filtered by the tag.
    page.goto(live_server + "/groups/tags")
    row = page.locator(
        ".el-table__row", has=page.locator(f'[data-testid="group-tag-row-name"][data-name="{vip}"]')
    )
    expect(row.get_by_test_id("group-tag-usage")).to_have_attribute("data-usage", "1")
    bulk_row = page.locator(
        ".el-table__row", has=page.locator(f'[data-testid="group-tag-row-name"][data-name="{bulk}"]')
    )
    expect(bulk_row.get_by_test_id("group-tag-usage")).to_have_attribute("data-usage", "3")
    row.get_by_test_id("group-tag-usage").click()
    expect(page.get_by_test_id("page-title")).to_have_text("客户群列表")
    expect(page.get_by_test_id("group-total")).to_have_attribute("data-total", "1")
    expect(table.get_by_test_id("group-name")).to_have_text([first_name])
    expect(table.get_by_test_id("group-tag")).to_contain_text([vip])

    # Rename, then delete: the groups lose the tag.
    page.goto(live_server + "/groups/tags")
    row.get_by_test_id("group-tag-rename").click()
    renamed = f"核心{suffix}"
    page.get_by_test_id("group-tag-name-input").fill(renamed)
    page.get_by_test_id("group-tag-submit").click()
    renamed_row = page.locator(
        ".el-table__row", has=page.locator(f'[data-testid="group-tag-row-name"][data-name="{renamed}"]')
    )
    expect(renamed_row).to_be_visible()
    renamed_row.get_by_test_id("group-tag-delete").click()
    expect(page.locator(".el-message-box")).to_contain_text("1 个客户群")
    page.locator(".el-message-box").get_by_role("button").last.click()
    expect(renamed_row).to_have_count(0)
    tags = api_get(page, live_server, "/api/v1/group-chat-tags")["items"]
    assert renamed not in {t["name"] for t in tags}


def test_statistics_after_a_customer_joins(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _groups_synced(page, live_server)
    corp_id = callbacks_to_this_company(page, live_server)
    before = api_get(page, live_server, "/api/v1/group-chats/overview")
    group = api_get(page, live_server, "/api/v1/group-chats", status="normal", limit=1)["items"][0]
    joined = httpx.post(
        f"{live_server}/_wecom/_emulator/scenarios/customer_joins_group",
        json={"corp_id": corp_id, "chat_id": group["chat_id"]},
        timeout=20,
    )
    assert joined.status_code == 200, joined.text
    deadline = time.monotonic() + 30
    while (now := api_get(page, live_server, "/api/v1/group-chats/overview"))["joins_today"] <= before[
        "joins_today"
    ]:
        assert time.monotonic() < deadline, now
        time.sleep(0.5)
    assert now["members"] == before["members"] + 1

    page.goto(live_server + "/groups/stats")
    expect(page.get_by_test_id("page-title")).to_have_text("群统计")
    expect(page.get_by_test_id("kpi-groups")).to_have_attribute("data-value", str(now["groups"]))
    expect(page.get_by_test_id("kpi-members")).to_have_attribute("data-value", str(now["members"]))
    expect(page.get_by_test_id("kpi-joins")).to_have_attribute("data-value", str(now["joins_today"]))
    trend = page.get_by_test_id("group-trend")
    expect(trend).to_have_attribute("data-points", "30")
    expect(trend.locator("canvas").first).to_be_visible()
    expect(trend.get_by_test_id("chart-empty")).to_have_count(0)
    last = page.get_by_test_id("group-stats-table").locator(".el-table__row").first
    expect(last).to_contain_text(str(now["members"]))

    # One owner: the numbers are theirs.
    owner = group["owner"]
    theirs = api_get(page, live_server, "/api/v1/group-chats/overview", owner_userid=owner["userid"])
    _pick(page, "group-stats-owner", owner["name"] or owner["userid"])
    expect(page.get_by_test_id("kpi-groups")).to_have_attribute("data-value", str(theirs["groups"]))
    expect(page.get_by_test_id("kpi-joins")).to_have_attribute("data-value", str(theirs["joins_today"]))

    # The group's own page counts the join too.
    page.goto(f"{live_server}/groups/{group['id']}")
    expect(page.get_by_test_id("group-stat-joins-today")).not_to_contain_text(re.compile(r"^\s*0\s"))
    _switch_locale(page, "en")
    expect(page.get_by_test_id("group-stat-joins-today")).to_contain_text("Joined today")
    _switch_locale(page, "zh-CN")
