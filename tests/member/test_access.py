"""Invited members activate by WeCom QR login (the emulator's login page, in process); a member
out of the app's visibility scope is refused. Removal by callback and by reconciliation (R-WX-3) is in
test_r_wx_3_removal_and_reconciliation.py; activation (R-WX-2) in test_r_wx_2_invitation_activation.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Membership, User
from huike.member.models import Member
from huike.privacy.audit.models import AuditEvent
from huike.tenant.models import Tenant
from tests.member.conftest import CORP, Emulator, emulator_members, member_by_userid, sync

pytestmark = pytest.mark.usefixtures("wired", "synced")


async def qr_login(app: FastAPI, emulator: Emulator, userid: str) -> tuple[httpx.AsyncClient, httpx.Response]:
    """A browser: Huike's login redirect → the emulator's page (``&userid=`` logs in at once) →
    back to Huike's callback with the code."""
    browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )
    start = await browser.get("/api/v1/auth/wecom/login", params={"corp_id": CORP})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith("http://wecom.test/wwlogin/sso/login?")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator[2]), base_url="http://wecom.test"
    ) as wecom:
        page = await wecom.get(f"{location}&userid={userid}")
    assert page.status_code == 302, page.text
    back = urlsplit(page.headers["location"])
    return browser, await browser.get(f"{back.path}?{back.query}")


async def audit_actions(session: AsyncSession, tenant_id: object) -> list[str]:
    rows = await session.execute(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant_id))
    return list(rows.scalars())


async def activate(
    app: FastAPI,
    admin: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Any,
    emulator: Emulator,
    userid: str,
) -> httpx.AsyncClient:
    member = await member_by_userid(session, tenant, userid)
    invited = await admin.post(f"/api/v1/members/{member.id}/invite")
    assert invited.status_code == 201, invited.text
    assert (invited.json()["status"], invited.json()["role"]) == ("pending", "member")
    browser, result = await qr_login(app, emulator, userid)
    assert result.status_code == 303, result.text
    return browser


async def test_invite_and_activate_by_qr_login(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    tenant_id = tenant.id
    tenant = tenant_id  # type: ignore[assignment]  # a failed request rolls the session back: keep the id
    browser = await activate(app, admin, session, tenant, emulator, userid)
    me = (await browser.get("/api/v1/auth/me")).json()
    assert (me["role"]["id"], me["wecom_linked"], me["phone_masked"]) == ("member", True, None)
    member = await member_by_userid(session, tenant, userid)
    assert member.user_id == me["user_id"] or str(member.user_id) == me["user_id"]
    user = await session.get(User, member.user_id)
    assert user is not None
    assert user.phone is None
    assert user.wecom_corp_id == CORP
    roles = (
        await session.execute(select(Membership.role).where(Membership.user_id == member.user_id))
    ).scalars()
    assert list(roles) == ["member"]
    assert (await browser.get("/api/v1/members", params={"limit": 1})).status_code == 200
    assert "member.activated" in await audit_actions(session, tenant)
    # a second login just logs in; the invitation is used
    again_browser, again = await qr_login(app, emulator, userid)
    assert again.status_code == 303
    assert len((await session.execute(select(User).where(User.wecom_corp_id == CORP))).scalars().all()) == 1
    # an invited member cannot be invited twice once active
    assert (await admin.post(f"/api/v1/members/{member.id}/invite")).json()["error"][
        "code"
    ] == "member.not_invitable"
    await browser.aclose()
    await again_browser.aclose()


async def test_uninvited_member_is_not_linked(app: FastAPI, emulator: Emulator) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[2]["userid"]
    browser, result = await qr_login(app, emulator, userid)
    assert result.status_code == 401
    assert result.json()["error"]["code"] == "auth.wecom_not_linked"
    await browser.aclose()


async def test_member_out_of_scope_is_refused_with_a_precise_code(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant = tenant.id  # type: ignore[assignment]  # a failed request rolls the session back
    row = emulator_members(state, "visible = 1 AND status = 1")[1]
    member = await member_by_userid(session, tenant, row["userid"])
    assert (await admin.post(f"/api/v1/members/{member.id}/invite")).status_code == 201
    state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (row["pk"],))
    await sync(session, tenant)
    browser, result = await qr_login(app, emulator, row["userid"])
    assert result.status_code == 401
    assert result.json()["error"]["code"] == "auth.member_out_of_scope"
    await browser.aclose()
    refused = await admin.post(f"/api/v1/members/{member.id}/invite")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"reason": "out_of_scope"}


async def test_session_dependency_refuses_a_member_marked_out_of_scope(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant = tenant.id  # type: ignore[assignment]  # a failed request rolls the session back
    row = emulator_members(state, "visible = 1 AND status = 1")[1]
    browser = await activate(app, admin, session, tenant, emulator, row["userid"])
    # marked out of scope without the revocation (say, by hand): the next request is refused all the same
    await session.execute(update(Member).where(Member.wecom_userid == row["userid"]).values(in_scope=False))
    await session.commit()
    response = await browser.get("/api/v1/members")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.member_out_of_scope"
    assert (await admin.get("/api/v1/members")).status_code == 200  # an admin without a member row
    await browser.aclose()
