"""An account made by WeCom QR login or an invitation has neither password nor phone: it sets a first
password without a current one and binds a first phone with that phone's code alone, then logs in by
phone and password. A phone change starts with a code sent to the known current phone (nothing typed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
import time_machine
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Membership, User
from huike.privacy.audit.models import AuditEvent
from huike.security.sessions import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for, start_session
from tests.account.conftest import HANGZHOU_IP, PHONE, Flows, csrf

WECOM_PASSWORD = "Wecom-First-Pass-2026"
BOUND_PHONE = "13900139002"


@pytest_asyncio.fixture
async def wecom_account(
    app: FastAPI, flows: Flows, session: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as a member of the registered company whose account WeCom made."""
    registered = await flows.register()
    assert registered.status_code == 201, registered.text
    tenant_id = uuid.UUID(registered.json()["tenant"]["id"])
    user = User(phone=None, status="active", wecom_corp_id="wwcorp", wecom_userid="zhangsan")
    session.add(user)
    await session.flush()
    session.add(Membership(tenant_id=tenant_id, user_id=user.id, role="member"))
    _, token = await start_session(session, tenant_id, user.id)
    await session.commit()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HANGZHOU_IP, 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.cookies.set(SESSION_COOKIE, token)
        client.cookies.set(CSRF_COOKIE, csrf_token_for(token))
        yield client


def later(seconds: int = 61) -> time_machine.travel:
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


async def set_password(client: httpx.AsyncClient, body: dict[str, str]) -> httpx.Response:
    return await client.post("/api/v1/auth/password", json=body, headers=csrf(client))


async def audit_details(session: AsyncSession, action: str) -> list[dict[str, object]]:
    rows = await session.execute(
        select(AuditEvent.details).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    )
    return list(rows.scalars())


async def test_a_wecom_account_sets_a_first_password_and_binds_a_first_phone(
    wecom_account: httpx.AsyncClient, flows: Flows, session: AsyncSession
) -> None:
    client = wecom_account
    profile = (await client.get("/api/v1/auth/profile")).json()
    assert (profile["has_password"], profile["phone_masked"]) == (False, None)

    first = await set_password(client, {"new_password": WECOM_PASSWORD})
    assert first.status_code == 200, first.text
    assert (await client.get("/api/v1/auth/profile")).json()["has_password"] is True
    assert (await audit_details(session, "auth.password_changed"))[-1]["first"] is True
    # from now on the current password is asked for
    again = await set_password(client, {"new_password": "Another-Pass-2027"})
    assert (again.status_code, again.json()["error"]["code"]) == (400, "account.current_password_required")
    wrong = await set_password(
        client, {"current_password": "Not-It-2027!", "new_password": "Another-Pass-2027"}
    )
    assert wrong.json()["error"]["code"] == "account.wrong_password"

    # no phone yet: nothing to send a code to; the new phone's code alone binds one
    no_phone = await client.post("/api/v1/auth/phone/current-code", headers=csrf(client))
    assert (no_phone.status_code, no_phone.json()["error"]["code"]) == (400, "account.no_phone")
    with later():
        code = await flows.code(BOUND_PHONE, "change_phone")
        bound = await client.post(
            "/api/v1/auth/phone", json={"new_phone": BOUND_PHONE, "sms_code": code}, headers=csrf(client)
        )
    assert bound.status_code == 200, bound.text
    assert bound.json()["phone_masked"] == "139****9002"
    details = (await audit_details(session, "account.phone_changed"))[-1]
    assert details["first"] is True
    assert "old_phone_masked" not in details

    # now a change needs the ticket of the current phone
    with later(130):
        code = await flows.code(PHONE, "change_phone")
        unticketed = await client.post(
            "/api/v1/auth/phone", json={"new_phone": PHONE, "sms_code": code}, headers=csrf(client)
        )
    assert unticketed.json()["error"]["code"] == "account.phone_ticket_invalid"

    flows.client.cookies.clear()
    login = await flows.client.post(
        "/api/v1/auth/login/password", json={"phone": BOUND_PHONE, "password": WECOM_PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert login.json()["role"]["id"] == "member"


async def test_the_first_step_sends_a_code_to_the_known_phone(flows: Flows) -> None:
    registered = await flows.register()
    assert registered.status_code == 201, registered.text
    client = flows.client
    with later():
        sent = await client.post("/api/v1/auth/phone/current-code", headers=csrf(client))
        assert sent.status_code == 202, sent.text
        assert sent.json()["phone_masked"] == "138****8000"
        # the development banner finds the code of the signed-in user's own phone without the number
        latest = (await client.get("/api/v1/dev/sms-codes/latest")).json()
        assert (latest["purpose"], latest["phone_masked"]) == ("change_phone", "138****8000")
        ticket = await client.post(
            "/api/v1/auth/phone/verify-current", json={"sms_code": latest["code"]}, headers=csrf(client)
        )
        assert ticket.status_code == 200, ticket.text
        # the resend cooldown applies as to any code
        again = await client.post("/api/v1/auth/phone/current-code", headers=csrf(client))
        assert (again.status_code, again.json()["error"]["code"]) == (429, "sms.rate_limited")
    client.cookies.clear()
    assert (await client.post("/api/v1/auth/phone/current-code")).status_code == 401
    assert (await client.get("/api/v1/dev/sms-codes/latest")).status_code == 404
