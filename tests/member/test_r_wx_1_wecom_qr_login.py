"""R-WX-1 (§一（一）1a 「企业微信扫码登录」「企业微信 User ID」; §三（一）2 企业微信 「企微名称、企微头像」): a QR
login maps (corp id, UserID) to an account and stores only corp id, UserID, name and avatar (and the
gender WeCom may return, which R-ACC-1 allows for display). The ``state`` is single use, bound to the
browser and lives 300 s. An unknown UserID never creates an account.

Acceptance: stored fields ⊆ {corp id, UserID, name, avatar}; a replayed or expired ``state`` → 400; an
unknown UserID → no account row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import AccountProfile, User
from huike.account.service import WECOM_STATE_LIFETIME
from huike.member.models import Member
from huike.tenant.models import Tenant
from tests.member.conftest import CORP, Emulator, emulator_members, member_by_userid
from tests.member.test_access import activate

pytestmark = pytest.mark.usefixtures("wired", "synced")


def browser_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


async def scan(browser: httpx.AsyncClient, emulator: Emulator, userid: str) -> str:
    """Start a QR login in ``browser`` and scan it as ``userid``: the callback path WeCom sends back."""
    start = await browser.get("/api/v1/auth/wecom/login", params={"corp_id": CORP})
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator[2]), base_url="http://wecom.test"
    ) as wecom:
        page = await wecom.get(f"{start.headers['location']}&userid={userid}")
    assert page.status_code == 302, page.text
    back = urlsplit(page.headers["location"])
    return f"{back.path}?{back.query}"


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_r_wx_1_stored_fields_are_corp_id_userid_name_and_avatar(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    browser = await activate(app, admin, session, tenant_id, emulator, userid)
    member = await member_by_userid(session, tenant_id, userid)
    users_table = User.__table__
    raw = (
        (await session.execute(select(users_table).where(users_table.c.id == member.user_id)))
        .mappings()
        .one()
    )
    filled = {name for name, value in raw.items() if value is not None}
    bookkeeping = {"id", "status", "created_at", "updated_at"}
    assert filled - bookkeeping <= {"wecom_corp_id", "wecom_userid", "wecom_userid_index"}
    assert raw["wecom_corp_id"] == CORP
    assert raw["phone"] is None
    assert raw["password_hash"] is None
    profile = (
        await session.execute(select(AccountProfile).where(AccountProfile.user_id == member.user_id))
    ).scalar_one_or_none()
    if profile is not None:
        kept = {
            column.name
            for column in AccountProfile.__table__.columns
            if getattr(profile, column.key) is not None
        }
        # the avatar (and the gender WeCom returns, shown per R-ACC-1), nothing else from WeCom
        assert kept - {"id", "tenant_id", "user_id", "created_at", "updated_at", "wecom_synced_at"} <= {
            "wecom_avatar_url",
            "wecom_gender",
        }
    # the name is the synced member's (customer usage data); the account keeps no copy of it
    name = emulator_members(state, f"userid = '{userid}'")[0]["name"]
    me = (await browser.get("/api/v1/auth/profile")).json()
    assert me["display_name"] == name
    assert me["display_name_source"] == "wecom"
    await browser.aclose()


async def test_r_wx_1_a_replayed_state_is_400(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    await activate(app, admin, session, tenant_id, emulator, userid)  # an account that may log in
    async with browser_of(app) as browser:
        callback = await scan(browser, emulator, userid)
        first = await browser.get(callback)
        assert first.status_code == 303, first.text
        replayed = await browser.get(callback)
        assert replayed.status_code == 400
        assert code_of(replayed) == "auth.wecom_state_invalid"
        assert replayed.json()["error"]["details"]["reason"] == "unknown_or_used"


async def test_r_wx_1_an_expired_state_is_400(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    await activate(app, admin, session, tenant.id, emulator, userid)
    assert timedelta(seconds=300) == WECOM_STATE_LIFETIME
    start = datetime.now(UTC)
    async with browser_of(app) as browser:
        with time_machine.travel(start, tick=False) as clock:
            callback = await scan(browser, emulator, userid)
            clock.shift(timedelta(seconds=301))
            late = await browser.get(callback)
        assert late.status_code == 400
        assert code_of(late) == "auth.wecom_state_invalid"
        assert late.json()["error"]["details"]["reason"] == "expired"
        with time_machine.travel(start, tick=False) as clock:
            callback = await scan(browser, emulator, userid)
            clock.shift(timedelta(seconds=299))
            assert (await browser.get(callback)).status_code == 303


async def test_r_wx_1_a_state_from_another_browser_is_400(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    await activate(app, admin, session, tenant.id, emulator, userid)
    async with browser_of(app) as mine, browser_of(app) as other:
        callback = await scan(mine, emulator, userid)
        stolen = await other.get(callback)
        assert stolen.status_code == 400
        assert stolen.json()["error"]["details"]["reason"] == "other_browser"


@pytest.mark.parametrize("known_to_huike", [True, False], ids=["synced_not_invited", "not_synced"])
async def test_r_wx_1_an_unknown_userid_creates_no_account(
    app: FastAPI, session: AsyncSession, tenant: Tenant, emulator: Emulator, known_to_huike: bool
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[2]["userid"]
    if not known_to_huike:
        await session.execute(delete(Member).where(Member.tenant_id == tenant_id))
        await session.commit()
    before = await users(session)
    async with browser_of(app) as browser:
        callback = await scan(browser, emulator, userid)
        result = await browser.get(callback)
    assert result.status_code == 401
    assert code_of(result) == "auth.wecom_not_linked"
    assert await users(session) == before
    assert "huike_session" not in result.headers.get("set-cookie", "")


def test_r_wx_1_the_login_steps_take_the_write_lock_although_they_are_gets() -> None:
    """Both steps write (the state row, then its use and the session); on SQLite a GET's deferred
    transaction fails with "database is locked" while a job writes, so they open a write session
    (ADR 0006), as found by the browser crawl of R-CK-1."""
    from types import SimpleNamespace

    from starlette.requests import Request

    from huike.account import router as account_router
    from huike.core import db

    def request_to(endpoint: object) -> Request:
        return Request({"type": "http", "method": "GET", "route": SimpleNamespace(endpoint=endpoint)})

    for endpoint in (account_router.wecom_login, account_router.wecom_callback):
        assert db._route_writes(request_to(endpoint))
    assert not db._route_writes(request_to(account_router.me))
