"""Trial registration end to end: the happy path, a stale policy version, a duplicate, a failure half
way. The privacy rows have their own modules (test_r_reg_1_*, test_r_reg_2_*, test_r_otp_1_*, ...)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import service
from huike.account.models import Membership, Registration, SalesLead, SmsCode, User
from huike.privacy.policy.models import ChangeClass, PolicyAcceptance
from huike.privacy.policy.service import publish_version
from huike.security.sessions import CSRF_COOKIE, SESSION_COOKIE
from huike.tenant.models import Tenant
from tests.account.conftest import Flows


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def counts(session: AsyncSession) -> tuple[int, ...]:
    found = []
    for model in (Tenant, User, Membership, PolicyAcceptance, Registration, SalesLead):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


class TestRegistration:
    async def test_registration_creates_tenant_with_creator_and_logs_in(
        self, flows: Flows, session: AsyncSession
    ) -> None:
        response = await flows.register()
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["role"] == {"id": "creator", "name": "创建者", "builtin": True}
        assert body["phone_masked"] == "138****8000"
        assert body["tenant"]["name"] == "杭州汇客测试有限公司"
        assert body["policy_acceptance_required"] is None
        cookies = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in session_cookie
        assert "samesite=lax" in session_cookie.lower()
        csrf_cookie = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
        assert "HttpOnly" not in csrf_cookie
        me = await flows.client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["user_id"] == body["user_id"]

    async def test_registration_row_consent_and_lead(self, flows: Flows, session: AsyncSession) -> None:
        response = await flows.register()
        assert response.status_code == 201, response.text
        acceptance = (await session.execute(select(PolicyAcceptance))).scalar_one()
        assert acceptance.version == flows.version
        assert acceptance.ip_region == "中国 浙江省 杭州市"
        registration = (await session.execute(select(Registration))).scalar_one()
        assert (registration.os_family, registration.browser_family, registration.device_type) == (
            "Windows",
            "Chrome",
            "desktop",
        )
        assert registration.ip_region == "中国 浙江省 杭州市"
        raw_ip = (await session.execute(text("SELECT ip FROM account_registrations"))).scalar_one()
        assert raw_ip.startswith("v1:")
        lead = (await session.execute(select(SalesLead))).scalar_one()
        assert (lead.province, lead.city, lead.salesperson) == ("浙江省", "杭州市", "sales-zhejiang")
        assert "ip" not in SalesLead.__table__.columns  # R-GEO-1: the lead has no IP
        member = (await session.execute(select(Membership))).scalar_one()
        assert member.role == "creator"

    async def test_an_unknown_policy_version_is_refused(self, flows: Flows, session: AsyncSession) -> None:
        response = await flows.register(policy_version="1999-01-01")
        assert response.status_code == 404, response.text
        assert code_of(response) == "privacy.policy_version_not_found"
        assert await counts(session) == (0, 0, 0, 0, 0, 0)

    async def test_a_stale_policy_version_is_refused(self, flows: Flows, session: AsyncSession) -> None:
        await publish_version(
            session,
            version="2024-01-01",
            text_zh="新版本",
            effective_date=date(2024, 1, 1),
            change_class=ChangeClass.material,
            now=datetime(2023, 12, 1, tzinfo=UTC),
        )
        await session.commit()
        response = await flows.register(policy_version=flows.version)
        assert response.status_code == 409
        assert code_of(response) == "privacy.policy_version_stale"
        assert await counts(session) == (0, 0, 0, 0, 0, 0)

    async def test_a_duplicate_registration(self, flows: Flows, session: AsyncSession) -> None:
        assert (await flows.register()).status_code == 201
        before = await counts(session)
        flows.client.cookies.clear()
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
            again = await flows.register(company_name="另一家公司")
        assert again.status_code == 409
        assert code_of(again) == "account.phone_registered"
        assert await counts(session) == before

    async def test_a_failure_after_the_tenant_was_made_leaves_nothing(
        self, flows: Flows, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("consent ledger down")

        monkeypatch.setattr(service.policy, "accept_policy", broken)
        response = await flows.register()
        assert response.status_code == 500
        assert await counts(session) == (0, 0, 0, 0, 0, 0)
        used = (await session.execute(select(SmsCode.status))).scalars().all()
        assert used == ["active"]  # the code was not spent either
