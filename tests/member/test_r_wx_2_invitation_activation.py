"""R-WX-2 (§一（一）1b 「已经向 iCC 提供了企业微信 UserID」「完成账户激活」): an invitation records tenant,
UserID and inviter and expires after 7 days; the member stays invited until a QR login with the same
corp and UserID.

Acceptance: matching corp and UserID → active, plus one F4 row; the same UserID from another corp →
still invited; an expired invitation → no activation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Membership, User
from huike.member.models import InvitationStatus, MemberInvitation
from huike.member.service import INVITATION_LIFETIME
from huike.privacy.audit.models import AuditEvent
from huike.security.sessions import start_session
from huike.tenant.models import Tenant
from tests.member.conftest import Emulator, emulator_members, login_client, make_admin, member_by_userid, sync
from tests.member.test_access import qr_login
from tests.member.test_r_wx_1_wecom_qr_login import browser_of, scan
from tests.wecom.test_connection_and_callbacks import connect_and_register_callback
from wecom_emulator.seed import seed_company

pytestmark = pytest.mark.usefixtures("wired", "synced")

OTHER_CORP = "ww5e1f0c0ffee0other0"


async def invitation_of(session: AsyncSession, member_id: uuid.UUID) -> MemberInvitation:
    return (
        await session.execute(
            select(MemberInvitation)
            .where(MemberInvitation.member_id == member_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def invite(admin: httpx.AsyncClient, session: AsyncSession, tenant_id: uuid.UUID, userid: str) -> Any:
    member = await member_by_userid(session, tenant_id, userid)
    invited = await admin.post(f"/api/v1/members/{member.id}/invite")
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "pending"
    return member


async def test_r_wx_2_the_invitation_records_tenant_userid_inviter_and_7_days(
    admin: httpx.AsyncClient, admin_user: User, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    before = datetime.now(UTC)
    member = await invite(admin, session, tenant.id, userid)
    invitation = await invitation_of(session, member.id)
    assert invitation.tenant_id == tenant.id
    assert member.wecom_userid == userid
    assert invitation.invited_by == admin_user.id
    assert timedelta(days=7) == INVITATION_LIFETIME
    expires = (
        invitation.expires_at.replace(tzinfo=UTC)
        if invitation.expires_at.tzinfo is None
        else invitation.expires_at
    )
    assert (
        before + timedelta(days=7) - timedelta(minutes=1) <= expires <= datetime.now(UTC) + timedelta(days=7)
    )


async def test_r_wx_2_matching_corp_and_userid_activates_with_one_f4_row(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    member = await invite(admin, session, tenant_id, userid)
    browser, result = await qr_login(app, emulator, userid)
    assert result.status_code == 303, result.text
    invitation = await invitation_of(session, member.id)
    assert invitation.status == InvitationStatus.accepted
    member = await member_by_userid(session, tenant_id, userid)
    assert member.user_id is not None
    assert (await browser.get("/api/v1/auth/me")).json()["user_id"] == str(member.user_id)
    rows = (
        (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant_id, AuditEvent.action == "member.activated"
                )
            )
        )
        .scalars()
        .all()
    )
    assert len(rows) == 1
    assert rows[0].object_id == str(member.id)
    # a second login does not activate again
    again, second = await qr_login(app, emulator, userid)
    assert second.status_code == 303
    assert (
        await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "member.activated")
        )
    ) == 1
    await browser.aclose()
    await again.aclose()


async def test_r_wx_2_the_same_userid_from_another_corp_stays_invited(
    app: FastAPI,
    admin: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    emulator: Emulator,
) -> None:
    state, _, _ = emulator
    tenant_id, other_id = tenant.id, other_tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    member = await invite(admin, session, tenant_id, userid)
    # a second corp, connected to another tenant, has a member with the same UserID
    report = seed_company(state, OTHER_CORP, members=3, external_contacts=0, groups=0, tags=0, seed=11)
    other_pk = state.store.scalar(
        "SELECT min(m.pk) FROM member m JOIN corp c ON c.pk = m.corp_pk WHERE c.corp_id = ?", (OTHER_CORP,)
    )
    state.store.conn.execute(
        "UPDATE member SET userid = ?, visible = 1, status = 1 WHERE pk = ?", (userid, other_pk)
    )
    other_admin = await make_admin(session, other_tenant, phone="+8613900000002")
    _, token = await start_session(session, other_id, other_admin.id)
    await session.commit()
    async with browser_of(app) as other_admin_client:
        await connect_and_register_callback(login_client(other_admin_client, token), state, report)
    await sync(session, other_id)
    users_before = await session.scalar(select(func.count()).select_from(User))
    async with browser_of(app) as browser:
        start = await browser.get("/api/v1/auth/wecom/login", params={"corp_id": OTHER_CORP})
        assert start.status_code == 302, start.text
        callback = await scan_corp(browser, emulator, start.headers["location"], userid)
        result = await browser.get(callback)
    assert result.status_code == 401
    assert result.json()["error"]["code"] == "auth.wecom_not_linked"
    assert (await invitation_of(session, member.id)).status == InvitationStatus.pending
    assert (await member_by_userid(session, tenant_id, userid)).user_id is None
    assert await session.scalar(select(func.count()).select_from(User)) == users_before
    assert (
        not (
            await session.execute(
                select(Membership).where(Membership.tenant_id == tenant_id, Membership.role == "member")
            )
        )
        .scalars()
        .all()
    )


async def scan_corp(browser: httpx.AsyncClient, emulator: Emulator, location: str, userid: str) -> str:
    from urllib.parse import urlsplit

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator[2]), base_url="http://wecom.test"
    ) as wecom:
        page = await wecom.get(f"{location}&userid={userid}")
    assert page.status_code == 302, page.text
    back = urlsplit(page.headers["location"])
    return f"{back.path}?{back.query}"


async def test_r_wx_2_an_expired_invitation_does_not_activate(
    app: FastAPI, admin: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    tenant_id = tenant.id
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    member = await invite(admin, session, tenant_id, userid)
    invitation = await invitation_of(session, member.id)
    expires = invitation.expires_at
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        async with browser_of(app) as browser:
            callback = await scan(browser, emulator, userid)
            result = await browser.get(callback)
    assert 400 <= result.status_code < 500
    assert result.json()["error"]["code"] == "auth.invitation_expired"
    assert (await invitation_of(session, member.id)).status == InvitationStatus.pending
    assert (await member_by_userid(session, tenant_id, userid)).user_id is None
    assert (
        await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "member.activated")
        )
    ) == 0
