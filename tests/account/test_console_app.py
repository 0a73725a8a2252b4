"""App permissions at login: the web console is the app ``app.console``; a member whose role lacks it is
refused at login (password, SMS) with a message that says why, in the caller's language, and the refusal
is audited. The login answer carries the effective role and permissions the console starts from."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import passwords
from huike.account.models import Membership, User
from huike.member.models import Member
from huike.privacy.audit.models import AuditEvent
from tests.account.conftest import PASSWORD, Flows
from tests.permission.conftest import assign, custom_role
from tests.permission.conftest import member as wecom_member

MEMBER_PHONE = "13900139001"


async def colleague(session: AsyncSession, flows: Flows, permissions: list[str]) -> uuid.UUID:
    """A member of the registered company with a phone and a password, holding a custom role."""
    registered = await flows.register()
    assert registered.status_code == 201, registered.text
    tenant_id = uuid.UUID(registered.json()["tenant"]["id"])
    user = User(phone="+86" + MEMBER_PHONE, status="active", password_hash=passwords.hash_password(PASSWORD))
    session.add(user)
    await session.flush()
    session.add(Membership(tenant_id=tenant_id, user_id=user.id, role="member"))
    member_id, _ = await wecom_member(session, tenant_id)
    await session.flush()
    row = await session.get(Member, member_id)
    assert row is not None
    row.user_id = user.id
    role_id = await custom_role(session, tenant_id, permissions, name="仅侧边栏")
    await assign(session, tenant_id, member_id, role_id)
    await session.commit()
    flows.client.cookies.clear()
    return role_id


async def password_login(client: httpx.AsyncClient, language: str = "zh-CN") -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login/password",
        json={"phone": MEMBER_PHONE, "password": PASSWORD},
        headers={"Accept-Language": language},
    )


async def test_a_role_without_the_console_app_cannot_log_in(flows: Flows, session: AsyncSession) -> None:
    await colleague(session, flows, ["app.sidebar", "customers.view"])

    refused = await password_login(flows.client)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "auth.console_not_allowed"
    assert "Web 管理后台" in error["message"]
    assert "set-cookie" not in refused.headers
    english = (await password_login(flows.client, "en")).json()["error"]["message"]
    assert "Web console" in english
    assert (await flows.client.get("/api/v1/auth/me")).status_code == 401

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        code = await flows.code(MEMBER_PHONE, "login")
        by_sms = await flows.client.post(
            "/api/v1/auth/login/sms", json={"phone": MEMBER_PHONE, "sms_code": code}
        )
    assert (by_sms.status_code, by_sms.json()["error"]["code"]) == (403, "auth.console_not_allowed")

    rows = await session.execute(
        select(AuditEvent.details).where(AuditEvent.action == "auth.login.failed").order_by(AuditEvent.seq)
    )
    reasons = [details["reason"] for details in rows.scalars()]
    assert reasons == ["console_not_allowed"] * 3
    # the refusal is not a wrong password: it does not count toward the lockout (five would lock)
    for _ in range(5):
        assert (await password_login(flows.client)).json()["error"]["code"] == "auth.console_not_allowed"


async def test_with_the_console_app_the_login_answers_the_effective_role(
    flows: Flows, session: AsyncSession
) -> None:
    role_id = await colleague(session, flows, ["app.console", "customers.view"])

    response = await password_login(flows.client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == {"id": str(role_id), "name": "仅侧边栏", "builtin": False}
    assert body["permissions"] == ["app.console", "customers.view"]
    assert (await flows.client.get("/api/v1/auth/me")).json()["permissions"] == body["permissions"]
