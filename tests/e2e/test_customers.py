"""Browser tests of 客户列表 / 客户详情 / 流失客户 against the emulator's demo corp: sync from the console,
filters with the total, keyset "load more", a customer's detail with an edited remark and revealed
mobiles, a bulk tag job over ticked rows, CSV and Excel exports of a filtered list, and a customer
lost through a real callback (the lost list and the alert)."""

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

SYNC_TIMEOUT_MS = 180_000


def _wait_job(request: APIRequestContext, base: str, started: Any) -> None:
    body = started.json()
    if started.status == 409:
        body = request.get(f"{base}/api/v1/jobs/{body['error']['details']['job_id']}").json()
    deadline = time.monotonic() + SYNC_TIMEOUT_MS / 1000
    while body["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
        body = request.get(f"{base}/api/v1/jobs/{body['id']}").json()
    assert body["status"] == "succeeded", body


def _directory_synced(page: Page, base: str) -> None:
    """Members (owners' names) and tags (the pickers) come from their own pages: synced over the API."""
    headers = csrf_headers(page.request)
    if not api_get(page, base, "/api/v1/members", limit=1)["items"]:
        _wait_job(
            page.request,
            base,
            page.request.post(base + "/api/v1/members/sync", data={"full": False}, headers=headers),
        )
    if not api_get(page, base, "/api/v1/tag-groups")["items"]:
        _wait_job(page.request, base, page.request.post(base + "/api/v1/tags/sync", headers=headers))


def _customers_synced(page: Page, base: str) -> int:
    """Open 客户列表; sync from WeCom with the page's button when nothing is there yet. Returns the total."""
    _directory_synced(page, base)
    page.goto(base + "/customers/list")
    expect(page.get_by_test_id("page-title")).to_have_text("客户列表")
    total = page.get_by_test_id("customer-total")
    expect(total).not_to_have_attribute("data-total", "")
    if total.get_attribute("data-total") == "0":
        page.get_by_test_id("customer-sync").click()
        progress = page.get_by_test_id("customer-sync-progress")
        expect(progress).to_have_attribute("data-status", "succeeded", timeout=SYNC_TIMEOUT_MS)
        expect(progress).to_contain_text("同步完成")
        expect(total).not_to_have_attribute("data-total", re.compile(r"^0?$"))
    return int(total.get_attribute("data-total") or 0)


def _pick(page: Page, select_testid: str, option: str) -> None:
    """Choose an option of an Element Plus select (its dropdown is teleported to the body)."""
    page.get_by_test_id(select_testid).click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()
    page.keyboard.press("Escape")


def _count(page: Page, base: str, **params: Any) -> int:
    return int(api_get(page, base, "/api/v1/external-contacts/count", **params)["count"])


def _a_tag(page: Page, base: str) -> dict[str, Any]:
    groups = api_get(page, base, "/api/v1/tag-groups")["items"]
    return next(tag for group in groups for tag in group["tags"])


def test_list_filters_total_and_load_more(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    total = _customers_synced(page, live_server)
    assert total == _count(page, live_server)
    expect(page.get_by_test_id("customer-total")).to_contain_text(f"共 {total} 位客户")
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(50)
    page.get_by_test_id("customer-load-more").click()
    expect(rows).to_have_count(100)
    ids = [rows.nth(i).get_attribute("data-id") for i in range(100)]
    assert len(set(ids)) == 100  # keyset paging: no row twice

    # A tag (any of): the total is the server's count for that tag, every row carries it.
    tag = _a_tag(page, live_server)
    _pick(page, "customer-filter-tag-any", tag["name"])
    page.get_by_test_id("customer-search").click()
    tagged = _count(page, live_server, tag_any=tag["id"])
    expect(page.get_by_test_id("customer-total")).to_have_attribute("data-total", str(tagged))
    first_tags = page.get_by_test_id("customer-table").locator(".el-table__row").first
    expect(first_tags).to_be_visible()

    # More filters: WeChat customers in no customer group, combined with the tag.
    page.get_by_test_id("customer-more-filters").click()
    _pick(page, "customer-filter-type", "微信")
    _pick(page, "customer-filter-membership", "未入群")
    page.get_by_test_id("customer-search").click()
    narrowed = _count(page, live_server, tag_any=tag["id"], contact_type="wechat", group_membership="none")
    expect(page.get_by_test_id("customer-total")).to_have_attribute("data-total", str(narrowed))
    assert narrowed <= tagged

    # Keyword: part of a customer's name finds them.
    page.get_by_test_id("customer-reset").click()
    expect(page.get_by_test_id("customer-total")).to_have_attribute("data-total", str(total))
    first = rows.first
    name = first.get_by_test_id("customer-name").inner_text()
    first_id = first.get_attribute("data-id")
    page.get_by_test_id("customer-filter-keyword").fill(name[-2:])
    page.get_by_test_id("customer-search").click()
    expect(page.locator(f'[data-testid="customer-row"][data-id="{first_id}"]')).to_be_visible()
    expect(page.get_by_test_id("customer-total")).to_have_attribute(
        "data-total", str(_count(page, live_server, keyword=name[-2:]))
    )
    page.get_by_test_id("customer-filter-keyword").fill("没有这个客户zzz")
    page.get_by_test_id("customer-search").click()
    expect(page.get_by_test_id("customer-total")).to_have_attribute("data-total", "0")
    expect(page.get_by_test_id("customer-table")).to_contain_text("暂无客户")


def test_detail_remark_edit_reveal_and_tags(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _customers_synced(page, live_server)
    contact = api_get(page, live_server, "/api/v1/external-contacts", status="active", limit=1)["items"][0]
    page.locator(f'[data-testid="customer-row"][data-id="{contact["id"]}"]').click()
    expect(page).to_have_url(re.compile(rf"/customers/{contact['id']}$"))
    expect(page.get_by_test_id("page-title")).to_have_text("客户详情")
    if contact["name"]:
        expect(page.get_by_test_id("customer-detail-name")).to_have_text(contact["name"])
    relation = (
        page.get_by_test_id("follow-relation")
        .filter(has=page.locator('[data-testid="relation-status"][data-status="active"]'))
        .first
    )
    expect(relation.get_by_test_id("relation-member")).to_be_visible()

    # Edit remark, description and a mobile: pushed to WeCom, shown masked, on the timeline.
    remark = f"E2E备注{random.randrange(1000):03d}"
    relation.get_by_test_id("relation-edit").click()
    dialog = page.get_by_test_id("relation-edit-dialog")
    dialog.get_by_test_id("relation-edit-remark").fill(remark)
    dialog.get_by_test_id("relation-edit-description").fill("浏览器测试写入的描述")
    dialog.get_by_test_id("relation-edit-mobile-add").click()
    dialog.get_by_test_id("relation-edit-mobile").last.fill("13800138000")
    dialog.get_by_test_id("relation-edit-save").click()
    expect(dialog).to_be_hidden()
    expect(relation.get_by_test_id("relation-remark")).to_have_text(remark)
    expect(relation.get_by_test_id("relation-description")).to_have_text("浏览器测试写入的描述")
    expect(relation.get_by_test_id("relation-mobiles")).to_contain_text("138****8000")
    expect(relation.get_by_test_id("relation-mobiles")).not_to_contain_text("13800138000")
    expect(page.locator('[data-testid="timeline-item"][data-kind="remark_changed"]').first).to_be_visible()

    # Reveal: confirmed, then the full number (the server audits it).
    page.get_by_test_id("customer-reveal").click()
    page.locator(".el-message-box").get_by_role("button").last.click()
    expect(relation.get_by_test_id("relation-mobiles")).to_have_attribute("data-revealed", "yes")
    expect(relation.get_by_test_id("relation-mobiles")).to_contain_text("13800138000")
    expect(page.get_by_test_id("customer-reveal")).to_be_disabled()

    # Tags of this relation: add one through WeCom.
    tag = _a_tag(page, live_server)
    relation.get_by_test_id("relation-tags-edit").click()
    picker = relation.get_by_test_id("relation-tags-picker")
    expect(picker).to_be_visible()
    chosen = picker.locator(".el-tag", has_text=tag["name"])
    if chosen.count() == 0:
        picker.click()
        page.locator(".el-select-dropdown__item:visible", has_text=tag["name"]).first.click()
        page.keyboard.press("Escape")
    expect(picker.locator(".el-tag", has_text=tag["name"])).to_have_count(1)
    expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)  # not over the buttons
    relation.get_by_test_id("relation-tags-save").click()
    expect(relation.get_by_test_id("relation-tags-picker")).to_have_count(0)  # saved: back to the tags
    expect(relation.get_by_test_id("relation-tag").filter(has_text=tag["name"])).to_have_count(1)
    detail = api_get(page, live_server, f"/api/v1/external-contacts/{contact['id']}")
    assert any(t["id"] == tag["id"] for r in detail["follow_relations"] for t in r["tags"])

    # The keyword search finds the customer by the new remark.
    page.goto(live_server + "/customers/list")
    page.get_by_test_id("customer-filter-keyword").fill(remark)
    page.get_by_test_id("customer-search").click()
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customer-row").first).to_have_attribute("data-id", contact["id"])


def test_bulk_tag_ticked_rows_as_a_job(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _customers_synced(page, live_server)
    groups = api_get(page, live_server, "/api/v1/tag-groups")["items"]
    tag = [t for g in groups for t in g["tags"]][-1]
    untagged = api_get(
        page, live_server, "/api/v1/external-contacts", tag_none=tag["id"], status="active", limit=2
    )["items"]
    assert len(untagged) == 2
    page.get_by_test_id("customer-more-filters").click()
    _pick(page, "customer-filter-tag-none", tag["name"])
    _pick(page, "customer-filter-status", "正常")
    page.get_by_test_id("customer-search").click()
    rows = page.get_by_test_id("customer-table").locator(".el-table__body .el-table__row")
    for contact in untagged:
        row = rows.filter(has=page.locator(f'[data-testid="customer-row"][data-id="{contact["id"]}"]'))
        row.locator(".el-checkbox").click()
    expect(page.get_by_test_id("customer-total")).to_contain_text("已选 2 位")
    expect(page).to_have_url(re.compile(r"/customers/list$"))

    page.get_by_test_id("customer-bulk-tag").click()
    dialog = page.get_by_test_id("bulk-tag-dialog")
    expect(dialog.get_by_test_id("bulk-tag-scope-selected")).to_contain_text("已勾选的 2 位客户")
    dialog.get_by_test_id("bulk-tag-submit").click()
    expect(dialog.get_by_test_id("bulk-tag-problem")).to_have_text("请至少选择一个要添加或移除的标签")
    _pick(page, "bulk-tag-add", tag["name"])
    dialog.get_by_test_id("bulk-tag-submit").click()
    progress = dialog.get_by_test_id("bulk-tag-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(progress).to_contain_text("批量打标签完成")
    expect(dialog.get_by_test_id("bulk-tag-result")).to_contain_text("共处理 2 位客户")
    for contact in untagged:
        detail = api_get(page, live_server, f"/api/v1/external-contacts/{contact['id']}")
        assert any(t["id"] == tag["id"] for t in detail["tags"]), detail["id"]
    dialog.get_by_test_id("bulk-tag-close").click()
    # the list was reloaded: the two customers no longer match "not tagged"
    for contact in untagged:
        expect(page.locator(f'[data-testid="customer-row"][data-id="{contact["id"]}"]')).to_have_count(0)


def test_export_csv_and_xlsx_of_the_filtered_list(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _customers_synced(page, live_server)
    tag = _a_tag(page, live_server)
    _pick(page, "customer-filter-tag-any", tag["name"])
    page.get_by_test_id("customer-search").click()
    expected = _count(page, live_server, tag_any=tag["id"])
    expect(page.get_by_test_id("customer-total")).to_have_attribute("data-total", str(expected))

    with page.expect_download() as caught:
        page.get_by_test_id("customer-export-csv").click()
    download = caught.value
    assert download.suggested_filename.endswith(".csv")
    content = open(download.path(), "rb").read()  # noqa: SIM115 - a temporary file of Playwright's
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("客户ID,昵称")
    assert len(lines) == expected + 1
    assert all(tag["name"] in line for line in lines[1:])

    with page.expect_download() as caught:
        page.get_by_test_id("customer-export-xlsx").click()
    workbook = caught.value
    assert workbook.suggested_filename.endswith(".xlsx")
    assert open(workbook.path(), "rb").read(2) == b"PK"  # noqa: SIM115 - an Office Open XML zip


def test_a_member_deleting_a_customer_shows_in_lost_and_alerts(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _customers_synced(page, live_server)
    corp_id = callbacks_to_this_company(page, live_server)
    before = _count(page, live_server, status="lost")
    candidates = api_get(page, live_server, "/api/v1/external-contacts", status="active", limit=100)["items"]
    contact = next(c for c in candidates if len(c["owners"]) == 1 and c["name"])
    deleted = httpx.post(
        f"{live_server}/_wecom/_emulator/scenarios/member_deletes_customer",
        json={
            "corp_id": corp_id,
            "userid": contact["owners"][0]["wecom_userid"],
            "external_userid": contact["external_userid"],
        },
        timeout=20,
    )
    assert deleted.status_code == 200, deleted.text
    deadline = time.monotonic() + 30
    while _count(page, live_server, status="lost") <= before:
        assert time.monotonic() < deadline, "the callback did not arrive"
        time.sleep(0.5)

    page.goto(live_server + "/customers/lost")
    expect(page.get_by_test_id("page-title")).to_have_text("流失客户")
    expect(page.get_by_test_id("lost-total")).to_have_attribute("data-total", str(before + 1))
    first = page.get_by_test_id("customer-row").first
    expect(first).to_have_attribute("data-id", contact["id"])  # latest lost first
    expect(page.get_by_test_id("customer-lost-at").first).not_to_have_text("—")

    page.get_by_test_id("alerts-tab").click()
    alert = page.get_by_test_id("alert-table").locator(".el-table__row", has_text=contact["name"]).first
    expect(alert.get_by_test_id("alert-reason")).to_have_text("成员删除了客户")
    expect(alert.get_by_test_id("alert-unread")).to_be_visible()
    expect(page.get_by_test_id("alerts-unread")).to_be_visible()
    alert.get_by_test_id("alert-read").click()
    expect(alert.get_by_test_id("alert-unread")).to_have_count(0)

    # The alert opens the customer, whose timeline shows the loss.
    alert.get_by_test_id("alert-contact").click()
    expect(page).to_have_url(re.compile(rf"/customers/{contact['id']}$"))
    expect(page.get_by_test_id("customer-detail-status")).to_have_attribute("data-status", "lost")
    expect(page.locator('[data-testid="timeline-item"][data-kind="deleted_by_member"]')).to_have_count(1)
