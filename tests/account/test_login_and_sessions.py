"""Login, lockout, password reset, sessions, CSRF and the policy gate (F4 audit). Cookie flags and
session timeouts (R-CK-1) are in test_r_ck_1_sessions_and_cookies.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.privacy.audit.models import AuditEvent
from huike.privacy.policy.models import ChangeClass
from huike.privacy.policy.service import publish_version
from huike.security.sessions import SESSION_COOKIE
from tests.account.conftest import PASSWORD, PHONE, Flows, csrf


async def me_with(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    return await client.get("/api/v1/auth/me", headers={"cookie": f"{SESSION_COOKIE}={token}"})


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def login(client: httpx.AsyncClient, password: str = PASSWORD, phone: str = PHONE) -> httpx.Response:
    return await client.post("/api/v1/auth/login/password", json={"phone": phone, "password": password})


@pytest.fixture
async def registered(flows: Flows) -> Flows:
    assert (await flows.register()).status_code == 201
    flows.client.cookies.clear()
    return flows


class TestLogin:
    async def test_password_login_rotates_the_session(self, registered: Flows) -> None:
        client = registered.client
        first = await login(client)
        assert first.status_code == 200, first.text
        old = client.cookies.get(SESSION_COOKIE)
        second = await login(client)
        assert second.status_code == 200
        assert second.json()["session_id"] != first.json()["session_id"]
        assert (await me_with(client, old)).status_code == 401

    async def test_no_enumeration(self, registered: Flows) -> None:
        wrong = await login(registered.client, password="Wrong-Password-1")
        unknown = await login(registered.client, phone="13900139999")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert code_of(wrong) == "auth.invalid_credentials"

    async def test_lockout_with_backoff_and_audit(self, registered: Flows, session: AsyncSession) -> None:
        start = datetime.now(UTC)
        with time_machine.travel(start, tick=False) as clock:
            for _ in range(5):
                assert (await login(registered.client, password="Wrong-Password-1")).status_code == 401
            locked = await login(registered.client)
            assert locked.status_code == 429
            assert code_of(locked) == "auth.locked"
            assert 0 < locked.json()["error"]["details"]["retry_after_s"] <= 61
            clock.shift(timedelta(seconds=61))
            assert (await login(registered.client, password="Wrong-Password-1")).status_code == 401
            clock.shift(timedelta(seconds=61))  # the sixth failure doubled the lock to 2 minutes
            assert (await login(registered.client)).status_code == 429
            clock.shift(timedelta(seconds=61))
            assert (await login(registered.client)).status_code == 200
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
        assert actions.count("auth.login.failed") == 6
        assert actions.count("auth.login.locked") >= 3
        assert actions.count("auth.login.succeeded") == 1

    async def test_sms_login(self, registered: Flows) -> None:
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
            code = await registered.code(purpose="login")
            response = await registered.client.post(
                "/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": code}
            )
        assert response.status_code == 200, response.text

    async def test_password_reset_revokes_every_session(self, registered: Flows) -> None:
        client = registered.client
        assert (await login(client)).status_code == 200
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
            code = await registered.code(purpose="reset_password")
            old = client.cookies.get(SESSION_COOKIE)
            reset = await client.post(
                "/api/v1/auth/password/reset",
                json={"phone": PHONE, "sms_code": code, "new_password": "Another-Pass-2027"},
            )
            assert reset.status_code == 204, reset.text
            assert (await me_with(client, old)).status_code == 401
            assert (await login(client)).status_code == 401
            assert (await login(client, password="Another-Pass-2027")).status_code == 200


class TestSessions:
    async def test_csrf_on_unsafe_methods(self, registered: Flows) -> None:
        client = registered.client
        assert (await login(client)).status_code == 200
        missing = await client.post("/api/v1/auth/logout")
        assert missing.status_code == 403
        assert code_of(missing) == "auth.csrf_failed"
        wrong = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "0" * 64})
        assert code_of(wrong) == "auth.csrf_failed"
        ok = await client.post("/api/v1/auth/logout", headers=csrf(client))
        assert ok.status_code == 204
        assert (await client.get("/api/v1/auth/me")).status_code == 401

    async def test_list_revoke_and_logout_everywhere(self, registered: Flows, api: httpx.AsyncClient) -> None:
        client = registered.client
        first = (await login(client)).json()["session_id"]
        first_token = client.cookies.get(SESSION_COOKIE)
        client.cookies.clear()
        second = (await login(client)).json()["session_id"]
        listed = await client.get("/api/v1/auth/sessions")
        items = listed.json()["items"]
        assert {first, second} <= {i["id"] for i in items}
        assert all(i["ip_region"] == "中国 浙江省 杭州市" for i in items)
        assert "223.5.5.5" not in listed.text
        revoked = await client.delete(f"/api/v1/auth/sessions/{first}", headers=csrf(client))
        assert revoked.status_code == 204
        assert (await me_with(client, first_token)).status_code == 401
        third = await login(client)
        assert third.status_code == 200
        everywhere = await client.post("/api/v1/auth/logout-everywhere", headers=csrf(client))
        assert everywhere.status_code == 204
        assert (await client.get("/api/v1/auth/me")).status_code == 401

    async def test_policy_gate_after_a_material_change(
        self, registered: Flows, session: AsyncSession
    ) -> None:
        client = registered.client
        assert (await login(client)).status_code == 200
        assert (await client.get("/api/v1/jobs")).status_code == 200
        await publish_version(
            session,
            version="2024-01-01",
            text_zh="新版本",
            effective_date=date(2024, 1, 1),
            change_class=ChangeClass.material,
            now=datetime(2023, 12, 1, tzinfo=UTC),
        )
        await session.commit()
        blocked = await client.get("/api/v1/jobs")
        assert blocked.status_code == 403
        assert code_of(blocked) == "privacy.policy_acceptance_required"
        me = await client.get("/api/v1/auth/me")
        assert me.json()["policy_acceptance_required"] == "2024-01-01"
        accepted = await client.post(
            "/api/v1/privacy/consents",
            json={"version": "2024-01-01", "purposes": [], "method": "agreement"},
            headers=csrf(client),
        )
        assert accepted.status_code == 201, accepted.text
        assert (await client.get("/api/v1/jobs")).status_code == 200
