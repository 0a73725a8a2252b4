"""R-MIN-1 in the browser: a registrant under 18 names a guardian; without the guardian's SMS code the
account waits for the guardian, who consents later on the same page; then the account can log in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, latest_sms_code, new_phone

pytestmark = pytest.mark.e2e


def test_r_min_1_minor_registers_and_the_guardian_consents_later(live_server: str, page: Page) -> None:
    phone, guardian_phone = new_phone(), new_phone()
    page.goto(live_server + "/register")
    expect(page.get_by_test_id("reg-guardian-name")).to_have_count(0)
    page.get_by_test_id("reg-phone").fill(phone)
    page.get_by_test_id("reg-send").click()
    expect(page.get_by_test_id("reg-send")).to_be_disabled()
    page.get_by_test_id("reg-code").fill(latest_sms_code(page.request, live_server, phone))
    page.get_by_test_id("reg-password").fill(PASSWORD)
    page.get_by_test_id("reg-company").fill("未成年注册测试公司")
    page.get_by_test_id("reg-industry").click()
    page.get_by_role("option", name="零售/电商").click()
    page.get_by_test_id("reg-adult").locator(".el-checkbox__inner").click()
    page.get_by_test_id("reg-authorised").locator(".el-checkbox__inner").click()
    page.get_by_test_id("reg-policy").locator(".el-checkbox__inner").click()

    page.get_by_test_id("reg-minor").locator(".el-checkbox__inner").click()
    expect(page.get_by_test_id("reg-minor")).to_contain_text("我未满 18 周岁，已由监护人陪同阅读并同意")
    page.get_by_test_id("reg-submit").click()
    name_item = page.locator(".el-form-item", has=page.get_by_test_id("reg-guardian-name"))
    expect(name_item.locator(".el-form-item__error")).to_have_text("请填写监护人姓名")
    page.get_by_test_id("reg-guardian-name").fill("王监护")
    page.get_by_test_id("reg-guardian-phone").fill(guardian_phone)
    page.get_by_test_id("reg-submit").click()

    pending = page.get_by_test_id("guardian-pending")
    expect(pending).to_contain_text("注册已提交，等待监护人同意")
    expect(pending).to_contain_text(guardian_phone[:3] + "****" + guardian_phone[-4:])
    page.get_by_test_id("guardian-later-send").click()
    expect(page.get_by_test_id("guardian-later-send")).to_be_disabled()
    page.get_by_test_id("guardian-later-code").fill(
        latest_sms_code(page.request, live_server, guardian_phone)
    )
    page.get_by_test_id("guardian-submit").click()

    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    page.get_by_test_id("login-phone").fill(phone)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("page-title")).to_have_text("工作台")
