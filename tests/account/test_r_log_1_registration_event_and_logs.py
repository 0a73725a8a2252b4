"""R-LOG-1 (§一（二）2 「注册设备信息、IP 地址、操作系统信息，以分析注册效果」「操作日志、服务日志信息」):
registration writes one event row (device type, OS and browser from the user agent, and the IP);
operation logs record actor, action, object and the *names* of changed fields; a log processor masks
phone numbers, e-mails, names, tokens and codes (tests/privacy/test_log_hygiene.py covers the
processor on its own).

Acceptance: one registration → exactly one event row; captured logs of the registration and login
flows contain no ``1\\d{10}``, no code and no password, and a hypothesis fuzz over request bodies
confirms it; an operation row for a profile edit lists field names only."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Registration
from huike.account.sms import ConsoleSmsProvider, SmsMessage
from huike.config import Settings
from huike.privacy.audit.models import AuditEvent
from tests.account.conftest import PASSWORD, PHONE, Flows, csrf
from tests.privacy.test_log_hygiene import IDENTIFIERS, everything_logged


class ProductionConsole(ConsoleSmsProvider):
    """The console SMS provider as in production: the code is logged under a masked key."""

    def __init__(self) -> None:
        super().__init__(production=True)
        self.codes: list[str] = []

    async def send(self, message: SmsMessage, *, session: object = None) -> None:
        self.codes.append(message.code)
        await super().send(message)


ANY_MOBILE = re.compile(r"(?<![0-9])1\d{10}(?![0-9])")


def scrubbed(text: str) -> str:
    """The captured logs without uuids and hex digests (they may hold digit runs by chance)."""
    return IDENTIFIERS.sub("", text)


async def registrations(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Registration)) or 0)


async def test_r_log_1_one_registration_writes_exactly_one_event_row(
    flows: Flows, session: AsyncSession
) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        refused = await flows.register(industry="mining")
        assert refused.status_code == 400
        assert await registrations(session) == 0
        clock.shift(timedelta(seconds=61))
        assert (await flows.register()).status_code == 201
        flows.client.cookies.clear()
        login = await flows.client.post(
            "/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD}
        )
        assert login.status_code == 200
    assert await registrations(session) == 1
    row = (await session.execute(select(Registration))).scalar_one()
    assert (row.device_type, row.os_family, row.browser_family) == ("desktop", "Windows", "Chrome")
    assert row.ip == "223.5.5.5"  # decrypted; stored encrypted (tests/account/test_f3_no_plaintext.py)
    assert row.ip_region == "中国 浙江省 杭州市"


async def test_r_log_1_registration_and_login_logs_hold_no_phone_code_or_password(
    flows: Flows, app: FastAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ProductionConsole()  # logs the code as production does (masked); the test keeps it
    app.state.huike_sms_provider = provider
    caplog.set_level(logging.DEBUG)

    async def send(purpose: str) -> str:
        sent = await flows.client.post("/api/v1/auth/sms-codes", json={"phone": PHONE, "purpose": purpose})
        assert sent.status_code == 202, sent.text
        return provider.codes[-1]

    with (
        time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock,
        everything_logged(settings, json_logs=True) as buffer,
    ):
        code = await send("register")
        assert (await flows.client.post("/api/v1/auth/register", json=flows.body(code))).status_code == 201
        flows.client.cookies.clear()
        wrong = await flows.client.post(
            "/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD + "x"}
        )
        assert wrong.status_code == 401
        right = await flows.client.post(
            "/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD}
        )
        assert right.status_code == 200
        flows.client.cookies.clear()
        clock.shift(timedelta(seconds=61))
        code = await send("login")
        sms = await flows.client.post("/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": code})
        assert sms.status_code == 200
    captured = scrubbed(buffer.getvalue() + "\n" + caplog.text)
    assert "account.registered" in captured
    assert "auth.login_succeeded" in captured
    assert "sms.console_delivery" in captured  # the codes reached the logs, masked
    assert not ANY_MOBILE.findall(captured)
    assert PASSWORD not in captured
    for code in provider.codes:
        found = re.search(rf"(?<![\d.]){code}(?!\d)", captured)
        assert not found, captured[max(0, found.start() - 300) : found.end() + 100]


phones = st.builds(
    lambda prefix, rest, style: style.format(f"1{prefix}{rest}"),
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["{}", "+86{}", "+86 {}", "0086{}"]),
)
secrets_ = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S"]), min_size=12, max_size=40
).filter(lambda value: re.search(r"[A-Za-z]", value) is not None)
codes_ = st.text("0123456789", min_size=6, max_size=6)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"path": st.just("sms-codes"), "phone": phones, "purpose": st.sampled_from(["register", "login"])}
    ),
    st.fixed_dictionaries({"path": st.just("login/password"), "phone": phones, "password": secrets_}),
    st.fixed_dictionaries({"path": st.just("login/sms"), "phone": phones, "sms_code": codes_}),
    st.fixed_dictionaries(
        {
            "path": st.just("register"),
            "phone": phones,
            "sms_code": codes_,
            "password": secrets_,
            "company_name": st.text(min_size=0, max_size=30),
            "industry": st.sampled_from(["retail", "mining"]),
            "adult_or_guardian": st.booleans(),
            "company_authorised": st.booleans(),
            "policy_version": st.just("2023-02-22"),
        }
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
async def test_r_log_1_fuzzed_request_bodies_leave_no_personal_data_in_logs(
    flows: Flows, app: FastAPI, settings: Settings, body: dict[str, object]
) -> None:
    provider = ProductionConsole()
    app.state.huike_sms_provider = provider
    path = str(body.pop("path"))
    with everything_logged(settings.model_copy(update={"env": "production"}), json_logs=True) as buffer:
        response = await flows.client.post(f"/api/v1/auth/{path}", json=body)
    assert response.status_code < 500, response.text
    captured = scrubbed(buffer.getvalue())
    digits = re.sub(r"\D", "", str(body["phone"]))[-11:]
    assert digits not in captured
    assert not ANY_MOBILE.findall(captured)
    for key in ("password",):
        if key in body:
            assert str(body[key]) not in captured
    for code in [*provider.codes, *([body["sms_code"]] if "sms_code" in body else [])]:
        assert not re.search(rf"(?<![\d.]){code}(?!\d)", captured)


async def test_r_log_1_profile_edit_operation_row_lists_field_names_only(
    flows: Flows, session: AsyncSession
) -> None:
    registered = await flows.register()
    assert registered.status_code == 201
    response = await flows.client.patch(
        "/api/v1/auth/profile", json={"display_name": "王小明"}, headers=csrf(flows.client)
    )
    assert response.status_code == 200, response.text
    row = (
        await session.execute(select(AuditEvent).where(AuditEvent.action == "account.profile_updated"))
    ).scalar_one()
    assert str(row.actor_id) == registered.json()["user_id"]
    assert (row.object_type, str(row.object_id)) == ("user", registered.json()["user_id"])
    assert row.details["fields"] == ["display_name"]
    assert all(isinstance(value, bool) for key, value in row.details.items() if key != "fields")
    assert "王小明" not in str(row.details)
