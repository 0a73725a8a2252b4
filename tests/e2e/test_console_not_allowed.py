"""Browser test: a member whose role loses the web console app (``app.console``) while they use the
console. Their next page's requests answer 403 ``permission.console_not_allowed``: the console logs
them out (the session ends on the server too), shows the login page and says why, in Chinese and in
English. Once the admin gives the app back, the member logs in again (WeCom QR login on the emulator's
demo corp, played on the emulator's stand-in for the QR page)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, expect

from huike.demo import DEMO_PASSWORD, DEMO_PHONE
from tests.e2e.conftest import VIEWPORT, api_get, csrf_headers

pytestmark = pytest.mark.e2e

SESSION_COOKIE = "huike_session"
CONSOLE = ["app.console", "groups.view"]
GROUP_STATS_EN = "Group statistics"
MESSAGE_ZH = (
    "您的角色已没有“Web 管理后台”应用权限，已为您退出登录。如需继续使用，请联系企业管理员开通后重新登录。"
)
MESSAGE_EN = (
    "Your role no longer includes the Web console app, so you have been logged out. "
    "Ask your company's admin to grant it, then log in again."
)


def _members_synced(admin: APIRequestContext, base: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = admin.get(base + "/api/v1/members?limit=100").json()["items"]
    if members:
        return members
    started = admin.post(base + "/api/v1/members/sync", headers=csrf_headers(admin))
    body = started.json()
    if started.status == 409:  # a sync already queued or running
        body = admin.get(f"{base}/api/v1/jobs/{body['error']['details']['job_id']}").json()
    else:
        assert started.ok, started.text()
    deadline = time.monotonic() + 60
    while body["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
        body = admin.get(f"{base}/api/v1/jobs/{body['id']}").json()
    assert body["status"] == "succeeded", body
    members = admin.get(base + "/api/v1/members?limit=100").json()["items"]
    return members


def _set_permissions(admin: APIRequestContext, base: str, role_id: str, permissions: list[str]) -> None:
    changed = admin.patch(
        f"{base}/api/v1/roles/{role_id}", data={"permissions": permissions}, headers=csrf_headers(admin)
    )
    assert changed.ok, changed.text()


def _wecom_login(page: Page, base: str, corp_id: str, userid: str) -> None:
    """What a member does on the login page: the WeCom tab, the corp id, then (the emulator's stand-in
    for the QR code) their name on WeCom's page."""
    page.get_by_test_id("login-tab-wecom").click()
    page.get_by_test_id("wecom-login-corp").fill(corp_id)
    page.get_by_test_id("wecom-login-go").click()
    name = page.locator("small", has_text=re.compile(f"^{re.escape(userid)}$"))
    page.locator("li a", has=name).click()
    expect(page.get_by_test_id("side-menu")).to_be_visible()
    if api_get(page, base, "/api/v1/auth/me")["policy_acceptance_required"]:  # a first login, maybe
        dialog = page.get_by_test_id("policy-dialog")
        expect(dialog).to_be_visible()
        page.get_by_test_id("policy-dialog-accept").click()
        expect(dialog).to_be_hidden()


@pytest.fixture
def member_page(browser: Browser) -> Iterator[Page]:
    """A fresh zh-CN browser, for the member (no session yet)."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@dataclass
class Company:
    """A company connected to the emulator's demo corp, as its admin sees it."""

    admin: APIRequestContext
    tenant_id: str
    members: list[dict[str, Any]]
    role_id: str = ""


def _company(admin: APIRequestContext, base: str) -> Company:
    tenant_id = str(admin.get(base + "/api/v1/auth/me").json()["tenant"]["id"])
    return Company(admin, tenant_id, _members_synced(admin, base))


def _give_the_member_a_role(company: Company, base: str, member: dict[str, Any]) -> None:
    """A role with the web console app and the group pages, given to the member, and an invitation."""
    admin = company.admin
    role = admin.post(
        base + "/api/v1/roles",
        data={"name": f"群运营{random.randrange(10**4):04d}", "permissions": CONSOLE, "data_scope": "self"},
        headers=csrf_headers(admin),
    )
    assert role.status == 201, role.text()
    company.role_id = role.json()["id"]
    assigned = admin.put(
        f"{base}/api/v1/members/{member['id']}/role",
        data={"role": company.role_id},
        headers=csrf_headers(admin),
    )
    assert assigned.ok, assigned.text()
    invited = admin.post(f"{base}/api/v1/members/{member['id']}/invite", headers=csrf_headers(admin))
    assert invited.status == 201, invited.text()


@pytest.fixture
def demo_admin(browser: Browser, live_server: str) -> Iterator[APIRequestContext]:
    """The admin of the demo company that ``huike run`` seeds on the same corp (its published login)."""
    context = browser.new_context(locale="zh-CN")
    answer = context.request.post(
        live_server + "/api/v1/auth/login/password", data={"phone": DEMO_PHONE, "password": DEMO_PASSWORD}
    )
    assert answer.ok, answer.text()
    yield context.request
    context.close()


def test_a_member_whose_role_loses_the_console_is_logged_out_and_told_why(
    live_server: str, wecom_page: Page, demo_admin: APIRequestContext, member_page: Page
) -> None:
    corp_id = str(httpx.get(live_server + "/_wecom/_emulator/corps").json()[0]["corp_id"])
    # Two companies connected the corp (this session's and the seeded demo): a QR login reaches one of
    # them, so the member gets the role and an invitation in both. The member is one nobody else's test
    # signs in as: the last of the directory who is active in neither yet.
    companies = [_company(wecom_page.request, live_server), _company(demo_admin, live_server)]
    free = [
        {
            m["wecom_userid"]
            for m in c.members
            if m["status"] == "active" and m["in_scope"] and not m["activated"]
        }
        for c in companies
    ]
    userid = [m["wecom_userid"] for m in companies[0].members if m["wecom_userid"] in free[0] & free[1]][-1]
    for company in companies:
        _give_the_member_a_role(
            company, live_server, next(m for m in company.members if m["wecom_userid"] == userid)
        )

    # The member logs in and works on the group list.
    page = member_page
    page.goto(live_server + "/login")
    _wecom_login(page, live_server, corp_id, userid)
    tenant_id = str(api_get(page, live_server, "/api/v1/auth/me")["tenant"]["id"])
    company = next(c for c in companies if c.tenant_id == tenant_id)
    page.goto(live_server + "/groups/list")
    expect(page.get_by_test_id("page-title")).to_have_text("客户群列表")

    # The admin takes the console app away; the member's next page logs them out and says why.
    _set_permissions(company.admin, live_server, company.role_id, ["groups.view"])
    with page.expect_response(re.compile(r"/api/v1/auth/logout$")) as logout:
        page.get_by_test_id("menu-item-groups.stats").click()
    assert logout.value.status == 204
    expect(page.get_by_test_id("page-title")).to_have_text("登录汇客")
    expect(page).to_have_url(re.compile(r"/login\?redirect=(%2F|/)groups(%2F|/)stats$"))
    expect(page.get_by_test_id("login-signed-out")).to_have_text(MESSAGE_ZH)
    expect(page.locator(".el-message--error")).to_have_count(0)  # said once, on the login page
    # the session is over on the server too, not only forgotten by the console
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.get_by_test_id("locale-switch").click()
    page.get_by_test_id("locale-en").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Log in to Huike")
    expect(page.get_by_test_id("login-signed-out")).to_have_text(MESSAGE_EN)

    # Given the app back, the member logs in again.
    _set_permissions(company.admin, live_server, company.role_id, CONSOLE)
    _wecom_login(page, live_server, corp_id, userid)
    assert "app.console" in api_get(page, live_server, "/api/v1/auth/me")["permissions"]
    page.goto(live_server + "/groups/stats")
    expect(page.get_by_test_id("page-title")).to_have_text(GROUP_STATS_EN)
