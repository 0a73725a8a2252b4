"""Browser tests of 客户标签: sync from WeCom (the emulator's demo corp), create a group with two tags,
rename, reorder, delete, and translated errors by the input they belong to."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e


def _switch_locale(page: Page, locale: str) -> None:
    page.get_by_test_id("locale-switch").click()
    item = page.get_by_test_id(f"locale-{locale}")
    expect(item).to_be_visible()
    item.click()


def _confirm(page: Page) -> None:
    page.locator(".el-message-box").get_by_role("button").last.click()


def _group(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="tag-group"][data-group-name="{name}"]')


def _tag_names(group: Locator) -> list[str]:
    return group.get_by_test_id("tag-name").all_inner_texts()


def _synced(page: Page, live_server: str) -> None:
    page.goto(live_server + "/customers/tags")
    expect(page.get_by_test_id("page-title")).to_have_text("客户标签")
    count = page.get_by_test_id("tag-count")
    expect(count).to_be_visible()
    if count.get_attribute("data-count") == "0":
        page.get_by_test_id("tag-sync").click()
        progress = page.get_by_test_id("tag-sync-progress")
        expect(progress).to_have_attribute("data-status", "succeeded", timeout=30_000)
        expect(progress).to_contain_text("同步完成")
    expect(count).not_to_have_attribute("data-count", "0")


def test_sync_create_rename_reorder_delete(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _synced(page, live_server)
    count = page.get_by_test_id("tag-count")
    expect(count).to_have_attribute("data-limit", "3000")
    expect(count).to_contain_text("/ 3000")
    before = int(count.get_attribute("data-count") or 0)
    assert page.get_by_test_id("tag-group").count() > 0
    expect(page.get_by_test_id("tag-usage").first).to_be_visible()

    suffix = f"{random.randrange(10**6):06d}"
    name, first, second = f"E2E组{suffix}", f"甲{suffix}", f"乙{suffix}"

    # Create a group with two tags; a missing name is caught in the browser first.
    page.get_by_test_id("group-create").click()
    dialog = page.get_by_test_id("group-create-dialog")
    dialog.get_by_test_id("group-create-tag").nth(0).fill(first)
    dialog.get_by_test_id("group-create-submit").click()
    expect(dialog.locator(".el-form-item__error").first).to_have_text("请输入名称")
    dialog.get_by_test_id("group-create-name").fill(name)
    dialog.get_by_test_id("group-create-tag").nth(1).fill(second)
    dialog.get_by_test_id("group-create-submit").click()
    expect(dialog).to_be_hidden()
    group = _group(page, name)
    expect(group).to_be_visible()
    assert _tag_names(group) == [first, second]
    expect(group.get_by_test_id("group-owner")).to_have_text("汇客创建")
    expect(count).to_have_attribute("data-count", str(before + 2))

    # Rename the second tag in place.
    renamed = f"丙{suffix}"
    group.locator('[data-testid="tag-item"]', has_text=second).get_by_test_id("tag-rename").click()
    group.get_by_test_id("tag-edit-input").fill(renamed)
    group.get_by_test_id("tag-edit-save").click()
    expect(group.get_by_test_id("tag-name").nth(1)).to_have_text(renamed)

    # Reorder: the renamed tag moves before the first; the group moves up one place.
    group.locator('[data-testid="tag-item"]', has_text=renamed).get_by_test_id("tag-move-left").click()
    expect(group.get_by_test_id("tag-name").first).to_have_text(renamed)
    assert _tag_names(group) == [renamed, first]
    names = page.get_by_test_id("group-name")
    index = names.all_inner_texts().index(name)
    assert index > 0
    above = names.nth(index - 1).inner_text()
    group.get_by_test_id("group-move-up").click()
    expect(names.nth(index - 1)).to_have_text(name)
    expect(names.nth(index)).to_have_text(above)

    # A duplicate name: the server's translated error, by the input that caused it.
    group.get_by_test_id("tag-add-input").fill(renamed)
    group.get_by_test_id("tag-add").click()
    expect(group.get_by_test_id("tag-add-error")).to_have_text("同一标签组内已有同名标签。")
    page.get_by_test_id("group-create").click()
    dialog.get_by_test_id("group-create-name").fill(name)
    dialog.get_by_test_id("group-create-tag").nth(0).fill("丁")
    dialog.get_by_test_id("group-create-submit").click()
    name_item = dialog.locator(".el-form-item", has=page.get_by_test_id("group-create-name"))
    expect(name_item.locator(".el-form-item__error")).to_have_text("已有同名的标签组。")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Delete one tag, with a confirmation.
    group.locator('[data-testid="tag-item"]', has_text=first).get_by_test_id("tag-delete").click()
    _confirm(page)
    expect(group.get_by_test_id("tag-name")).to_have_count(1)
    assert _tag_names(group) == [renamed]
    expect(count).to_have_attribute("data-count", str(before + 1))


def test_tag_made_outside_huike_is_explained(live_server: str, wecom_page: Page) -> None:
    page = wecom_page
    _synced(page, live_server)
    group = page.locator('[data-testid="tag-group"][data-owner="unknown"]').first
    tag = group.get_by_test_id("tag-item").first
    tag.get_by_test_id("tag-rename").click()
    group.get_by_test_id("tag-edit-input").fill(f"改名{random.randrange(1000)}")
    group.get_by_test_id("tag-edit-save").click()
    expect(group.get_by_test_id("tag-edit-error")).to_contain_text("汇客无法修改或删除")
    expect(group.get_by_test_id("group-not-app-owned")).to_be_visible()
    group.get_by_test_id("tag-edit-cancel").click()

    _switch_locale(page, "en")
    expect(page.get_by_test_id("page-title")).to_have_text("Customer tags")
    expect(page.get_by_test_id("tag-sync")).to_have_text("Sync from WeCom")
    expect(page.get_by_test_id("tag-count")).to_contain_text(re.compile(r"Tags \d+ / 3000"))
    group.get_by_test_id("tag-add-input").fill("")
    group.get_by_test_id("tag-add").click()
    expect(group.get_by_test_id("tag-add-error")).to_have_text("Enter a name")
    _switch_locale(page, "zh-CN")
