"""Trial registration (R-REG-1, R-REG-2, R-GEO-1, R-LOG-1 event row, R-MIN-1 statement) and SMS codes
(R-OTP-1): every bad input of issue 5 gets a precise code, and nothing is half-created."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import service
from huike.account.models import Membership, Registration, SalesLead, SmsCode, User
from huike.privacy.policy.models import ChangeClass, PolicyAcceptance
from huike.privacy.policy.service import publish_version
from huike.security.sessions import CSRF_COOKIE, SESSION_COOKIE
from huike.tenant.models import Tenant
from tests.account.conftest import PASSWORD, PHONE, Flows


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def counts(session: AsyncSession) -> tuple[int, ...]:
    found = []
    for model in (Tenant, User, Membership, PolicyAcceptance, Registration, SalesLead):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


class TestRegistration:
    async def test_R_REG_1_creates_tenant_with_creator_and_logs_in(
        self, flows: Flows, session: AsyncSession
    ) -> None:
        response = await flows.register()
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["role"] == "creator"
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
        raw = (await session.execute(text("SELECT phone, phone_index, password_hash FROM users"))).one()
        assert raw[0].startswith("v1:")
        assert "13800138000" not in raw[0]
        assert raw[1].startswith("v1:")
        assert raw[2].startswith("$argon2id$")

    async def test_R_REG_2_consent_registration_row_and_lead(
        self, flows: Flows, session: AsyncSession
    ) -> None:
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

    @pytest.mark.parametrize("phone", ["+86 138 0013 8000", "+8613800138000", "138-0013-8000"])
    async def test_R_REG_1_phone_formats_find_the_same_account(self, flows: Flows, phone: str) -> None:
        assert (await flows.register()).status_code == 201
        flows.client.cookies.clear()
        response = await flows.client.post(
            "/api/v1/auth/login/password", json={"phone": phone, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize("phone", ["12345678901", "010 6552 9988", "not a phone", "+1 650 253 0000"])
    async def test_R_REG_1_invalid_phones(self, flows: Flows, phone: str) -> None:
        response = await flows.client.post(
            "/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"}
        )
        assert response.status_code == 422
        assert code_of(response) == "account.invalid_phone"

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("Ab1!", "too_short"),
            ("alllowercase1", "too_few_classes"),
            ("Pass13800138000", "contains_phone"),
            ("P@ssw0rd", "too_common"),
            ("A" * 100 + "a1!" * 10, "too_long"),
        ],
    )
    async def test_R_REG_1_weak_passwords(
        self, flows: Flows, session: AsyncSession, password: str, reason: str
    ) -> None:
        response = await flows.register(password=password)
        assert response.status_code == 422
        assert code_of(response) == "account.weak_password"
        assert response.json()["error"]["details"]["reason"] == reason
        assert await counts(session) == (0, 0, 0, 0, 0, 0)

    @pytest.mark.parametrize(
        ("changes", "status", "error"),
        [
            ({"industry": "mining"}, 422, "account.unknown_industry"),
            ({"company_name": "   "}, 422, "account.company_name_required"),
            ({"adult_or_guardian": False}, 422, "account.adult_statement_required"),
            ({"policy_version": "1999-01-01"}, 404, "privacy.policy_version_not_found"),
        ],
    )
    async def test_R_REG_2_bad_input_creates_nothing(
        self, flows: Flows, session: AsyncSession, changes: dict[str, object], status: int, error: str
    ) -> None:
        response = await flows.register(**changes)
        assert response.status_code == status, response.text
        assert code_of(response) == error
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


class TestSmsCodes:
    async def test_R_OTP_1_wrong_expired_reused_and_exhausted(
        self, flows: Flows, session: AsyncSession
    ) -> None:
        start = datetime.now(UTC)
        with time_machine.travel(start, tick=False) as clock:
            code = await flows.code()
            wrong = "000000" if code != "000000" else "111111"
            response = await flows.client.post("/api/v1/auth/register", json=flows.body(wrong))
            assert code_of(response) == "sms.code_wrong"
            assert response.json()["error"]["details"]["attempts_left"] == 4
            clock.shift(timedelta(seconds=301))
            response = await flows.client.post("/api/v1/auth/register", json=flows.body(code))
            assert code_of(response) == "sms.code_expired"
            clock.shift(timedelta(seconds=61))
            code = await flows.code()
            clock.shift(timedelta(seconds=299))
            assert (
                await flows.client.post("/api/v1/auth/register", json=flows.body(code))
            ).status_code == 201
            flows.client.cookies.clear()
            reused = await flows.client.post(
                "/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": code}
            )
            assert code_of(reused) == "sms.code_missing"  # a code is for one purpose only
            clock.shift(timedelta(seconds=61))
            login_code = await flows.code(purpose="login")
            first = await flows.client.post(
                "/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": login_code}
            )
            assert first.status_code == 200
            again = await flows.client.post(
                "/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": login_code}
            )
            assert code_of(again) == "sms.code_used"

    async def test_R_OTP_1_sixth_try_fails_even_with_the_right_code(self, flows: Flows) -> None:
        code = await flows.code()
        wrong = "000000" if code != "000000" else "111111"
        for left in (4, 3, 2, 1, 0):
            response = await flows.client.post("/api/v1/auth/register", json=flows.body(wrong))
            assert code_of(response) == "sms.code_wrong"
            assert response.json()["error"]["details"]["attempts_left"] == left
        response = await flows.client.post("/api/v1/auth/register", json=flows.body(code))
        assert code_of(response) == "sms.code_exhausted"

    async def test_R_OTP_1_cooldown_and_daily_cap(self, flows: Flows) -> None:
        start = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
        with time_machine.travel(start, tick=False) as clock:
            await flows.code()
            clock.shift(timedelta(seconds=59))
            early = await flows.client.post(
                "/api/v1/auth/sms-codes", json={"phone": PHONE, "purpose": "register"}
            )
            assert early.status_code == 429
            assert early.json()["error"]["details"]["reason"] == "cooldown"
            for _ in range(9):
                clock.shift(timedelta(seconds=61))
                await flows.code()
            clock.shift(timedelta(seconds=61))
            capped = await flows.client.post(
                "/api/v1/auth/sms-codes", json={"phone": PHONE, "purpose": "register"}
            )
            assert capped.status_code == 429
            assert capped.json()["error"]["details"]["reason"] == "phone_daily_cap"
            clock.move_to(datetime(2026, 11, 29, 16, 0, 1, tzinfo=UTC))  # just after midnight in Shanghai
            await flows.code()

    async def test_R_OTP_1_ip_caps(self, flows: Flows, app: FastAPI) -> None:
        app.state.settings = app.state.settings.model_copy(update={"sms_ip_hourly_cap": 3})
        phones = ["13800138001", "13800138002", "13800138003", "13800138004"]
        for phone in phones[:3]:
            await flows.code(phone)
        response = await flows.client.post(
            "/api/v1/auth/sms-codes", json={"phone": phones[3], "purpose": "login"}
        )
        assert response.status_code == 429
        assert response.json()["error"]["details"]["reason"] == "ip_hourly_cap"

    async def test_R_OTP_1_known_and_unknown_numbers_answer_alike(self, flows: Flows) -> None:
        assert (await flows.register()).status_code == 201
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
            known = await flows.client.post(
                "/api/v1/auth/sms-codes", json={"phone": PHONE, "purpose": "login"}
            )
            unknown = await flows.client.post(
                "/api/v1/auth/sms-codes", json={"phone": "13900139001", "purpose": "login"}
            )
        assert known.status_code == unknown.status_code == 202
        assert set(known.json()) == set(unknown.json())
        # only the known number was really sent an SMS
        banner = await flows.client.get("/api/v1/dev/sms-codes/latest", params={"phone": "13900139001"})
        assert banner.status_code == 404

    async def test_only_an_hmac_of_the_code_is_stored(self, flows: Flows, session: AsyncSession) -> None:
        code = await flows.code()
        row = (await session.execute(text("SELECT phone, code_hmac FROM sms_codes"))).one()
        assert row[0].startswith("v1:")
        assert code not in row[1]
        assert row[1].startswith("v1:")
