"""R-OTP-1 (§三（一）2, 阿里云 「手机号码」「短信验证码」「登录」): SMS codes go out through the Aliyun adapter
behind the egress client (F2). 6 digits, 300 s, void after 5 wrong entries, 60 s between sends, at most
10 SMS per phone per calendar day (Asia/Shanghai) and 20 requests per IP per hour. Only an HMAC of the
code is stored. The request carries only PhoneNumbers, SignName, TemplateCode and TemplateParam
``{"code"}``. Answers do not reveal whether a number is registered.

Acceptance (frozen clock where time matters): accepted at t+299 s, rejected at t+301 s; the 6th try
fails even with the right code; resend at t+59 s → 429, at t+61 s → sent; 11th SMS of the day → 429,
allowed after local midnight; 21st request from one IP in an hour → 429; payload keys ⊆ the four
above and TemplateParam keys == {code}; logs show no code and only ``138****8000``; known and unknown
numbers get identical responses."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.service import CODE_DIGITS, CODE_LIFETIME, CODE_MAX_WRONG
from huike.account.sms import ALIYUN_ENDPOINT, AliyunSmsProvider, SmsMessage
from huike.config import Settings
from huike.privacy.egress import EgressClient, EgressRecord
from tests.account.conftest import PHONE, Flows
from tests.privacy.test_log_hygiene import IDENTIFIERS, everything_logged

PROTOCOL_KEYS = {
    "AccessKeyId",
    "Action",
    "Format",
    "RegionId",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
    "Signature",
}
MESSAGE_KEYS = {"PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"}


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def ask(flows: Flows, phone: str = PHONE, purpose: str = "register") -> httpx.Response:
    return await flows.client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": purpose})


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


class RecordingAliyun:
    """The Aliyun SMS endpoint as a recording fake behind the egress client (no network)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "dysmsapi.aliyuncs.com"
        self.requests.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json={"Code": "OK", "Message": "OK", "RequestId": "r", "BizId": "b"})

    def provider(self) -> AliyunSmsProvider:
        return AliyunSmsProvider(
            access_key_id="LTAI-test",
            access_key_secret="test-secret",
            sign_name="汇客",
            template_code="SMS_000001",
            egress=EgressClient(transport=httpx.MockTransport(self.handler)),
        )

    def codes(self) -> list[str]:
        return [json.loads(params["TemplateParam"])["code"] for params in self.requests]


@pytest.fixture
def aliyun(app: FastAPI) -> RecordingAliyun:
    fake = RecordingAliyun()
    app.state.huike_sms_provider = fake.provider()
    return fake


# --- lifetime and tries ----------------------------------------------------------------------------


def test_r_otp_1_design_numbers() -> None:
    assert (6, timedelta(seconds=300), 5) == (CODE_DIGITS, CODE_LIFETIME, CODE_MAX_WRONG)
    settings = Settings()
    assert settings.sms_resend_cooldown_s == 60
    assert settings.sms_phone_daily_cap == 10
    assert settings.sms_ip_hourly_cap == 20


async def test_r_otp_1_accepted_at_t_plus_299_s(flows: Flows) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        code = await flows.code()
        assert re.fullmatch(r"\d{6}", code)
        clock.shift(timedelta(seconds=299))
        response = await flows.client.post("/api/v1/auth/register", json=flows.body(code))
    assert response.status_code == 201, response.text


async def test_r_otp_1_rejected_at_t_plus_301_s(flows: Flows) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        code = await flows.code()
        clock.shift(timedelta(seconds=301))
        response = await flows.client.post("/api/v1/auth/register", json=flows.body(code))
    assert response.status_code == 400
    assert code_of(response) == "sms.code_expired"


async def test_r_otp_1_sixth_try_fails_even_with_the_right_code(flows: Flows) -> None:
    code = await flows.code()
    for left in (4, 3, 2, 1, 0):
        response = await flows.client.post("/api/v1/auth/register", json=flows.body(wrong_code(code)))
        assert code_of(response) == "sms.code_wrong"
        assert response.json()["error"]["details"]["attempts_left"] == left
    response = await flows.client.post("/api/v1/auth/register", json=flows.body(code))
    assert response.status_code == 400
    assert code_of(response) == "sms.code_exhausted"


async def test_r_otp_1_a_code_works_once_and_for_its_purpose_only(flows: Flows) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        code = await flows.code()
        assert (await flows.client.post("/api/v1/auth/register", json=flows.body(code))).status_code == 201
        flows.client.cookies.clear()
        reused = await flows.client.post("/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": code})
        assert code_of(reused) == "sms.code_missing"
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


# --- rates -----------------------------------------------------------------------------------------


async def test_r_otp_1_resend_at_t_plus_59_s_is_429_and_at_61_s_is_sent(
    flows: Flows, aliyun: RecordingAliyun
) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        assert (await ask(flows)).status_code == 202
        clock.shift(timedelta(seconds=59))
        early = await ask(flows)
        assert early.status_code == 429
        assert early.json()["error"]["details"]["reason"] == "cooldown"
        assert len(aliyun.requests) == 1
        clock.shift(timedelta(seconds=2))
        assert (await ask(flows)).status_code == 202
        assert len(aliyun.requests) == 2
        # only the newest code counts
        first, second = aliyun.codes()
        if first != second:
            stale = await flows.client.post("/api/v1/auth/register", json=flows.body(first))
            assert code_of(stale) == "sms.code_wrong"
        assert (await flows.client.post("/api/v1/auth/register", json=flows.body(second))).status_code == 201


async def test_r_otp_1_eleventh_sms_of_the_day_is_429_until_local_midnight(flows: Flows) -> None:
    start = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    with time_machine.travel(start, tick=False) as clock:
        await flows.code()
        for _ in range(9):
            clock.shift(timedelta(seconds=61))
            await flows.code()
        clock.shift(timedelta(seconds=61))
        capped = await ask(flows)
        assert capped.status_code == 429
        assert capped.json()["error"]["details"]["reason"] == "phone_daily_cap"
        clock.move_to(datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
        assert (await ask(flows)).status_code == 429
        clock.move_to(datetime(2026, 11, 29, 16, 0, 1, tzinfo=UTC))  # 00:00:01 the next day
        assert (await ask(flows)).status_code == 202


async def test_r_otp_1_twenty_first_request_from_one_ip_in_an_hour_is_429(flows: Flows) -> None:
    start = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for n in range(20):
            response = await ask(flows, phone=f"1380013{n:04d}", purpose="login")
            assert response.status_code == 202, (n, response.text)
            clock.shift(timedelta(seconds=60))  # 20 requests within 20 minutes
        capped = await ask(flows, phone="13900139000", purpose="login")
        assert capped.status_code == 429
        assert capped.json()["error"]["details"]["reason"] == "ip_hourly_cap"
        clock.move_to(start + timedelta(hours=1, seconds=1))  # the first request left the hour
        assert (await ask(flows, phone="13900139000", purpose="login")).status_code == 202


# --- what is sent, stored and logged ---------------------------------------------------------------


def test_r_otp_1_aliyun_request_carries_only_the_four_message_keys() -> None:
    fake = RecordingAliyun()
    params = fake.provider().request_params(
        SmsMessage("+8613800138000", "482913", "login"), nonce="n", timestamp=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert set(params) - PROTOCOL_KEYS <= MESSAGE_KEYS
    assert set(json.loads(params["TemplateParam"])) == {"code"}
    assert params["PhoneNumbers"] == "13800138000"


async def test_r_otp_1_payload_keys_through_the_egress_client(
    flows: Flows, aliyun: RecordingAliyun, session: AsyncSession
) -> None:
    assert (await ask(flows)).status_code == 202
    assert len(aliyun.requests) == 1
    sent = aliyun.requests[0]
    assert set(sent) - PROTOCOL_KEYS <= MESSAGE_KEYS
    assert set(sent) >= MESSAGE_KEYS
    assert set(json.loads(sent["TemplateParam"])) == {"code"}
    assert re.fullmatch(r"\d{6}", aliyun.codes()[0])
    assert ALIYUN_ENDPOINT.startswith("https://")
    # the transfer is recorded, without values
    record = (await session.execute(select(EgressRecord))).scalar_one()
    assert (record.recipient, record.subject_count) == ("aliyun_sms", 1)
    assert PHONE not in str(record.categories)


async def test_r_otp_1_only_an_hmac_of_the_code_is_stored(
    flows: Flows, aliyun: RecordingAliyun, session: AsyncSession
) -> None:
    assert (await ask(flows)).status_code == 202
    code = aliyun.codes()[0]
    row = (await session.execute(text("SELECT * FROM sms_codes"))).mappings().one()
    assert code not in " ".join(str(value) for value in row.values())
    assert row["code_hmac"].startswith("v1:")
    assert PHONE not in row["phone"]


async def test_r_otp_1_logs_show_no_code_and_only_the_masked_phone(
    flows: Flows, aliyun: RecordingAliyun, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock,
        everything_logged(settings, json_logs=True) as buffer,
    ):
        assert (await ask(flows)).status_code == 202
        code = aliyun.codes()[-1]
        wrong = await flows.client.post("/api/v1/auth/register", json=flows.body(wrong_code(code)))
        assert code_of(wrong) == "sms.code_wrong"
        assert (await flows.client.post("/api/v1/auth/register", json=flows.body(code))).status_code == 201
        flows.client.cookies.clear()
        clock.shift(timedelta(seconds=61))
        assert (await ask(flows, purpose="login")).status_code == 202
        login_code = aliyun.codes()[-1]
        login = await flows.client.post(
            "/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": login_code}
        )
        assert login.status_code == 200
    captured = buffer.getvalue() + "\n" + caplog.text
    assert "sms.code_issued" in captured  # the flow did log
    for secret in (code, login_code, PHONE, "+86" + PHONE):
        assert secret not in captured
    phone_like = re.findall(
        r"(?<![0-9A-Za-z])1\d\d(?:\*{4}|\d{4})\d{4}(?![0-9A-Za-z])", IDENTIFIERS.sub("", captured)
    )
    assert set(phone_like) <= {"138****8000"}  # if the phone shows at all, then masked


async def test_r_otp_1_known_and_unknown_numbers_get_identical_responses(flows: Flows, app: FastAPI) -> None:
    with time_machine.travel(datetime(2026, 11, 29, 2, 0, tzinfo=UTC), tick=False) as clock:
        assert (await flows.register()).status_code == 201
        flows.client.cookies.clear()
        aliyun = RecordingAliyun()
        app.state.huike_sms_provider = aliyun.provider()
        clock.shift(timedelta(seconds=61))
        known = await ask(flows, phone=PHONE, purpose="login")
        unknown = await ask(flows, phone="13800138001", purpose="login")
        assert known.status_code == unknown.status_code == 202
        assert known.json() == {**unknown.json(), "phone_masked": "138****8000"}
        assert unknown.json()["phone_masked"] == "138****8001"
        assert {k for k in known.headers if k.lower() != "content-length"} == {
            k for k in unknown.headers if k.lower() != "content-length"
        }
        # both count alike: the unknown number is also in its cooldown
        clock.shift(timedelta(seconds=30))
        assert (await ask(flows, phone=PHONE, purpose="login")).status_code == 429
        assert (await ask(flows, phone="13800138001", purpose="login")).status_code == 429
        # and only the registered number was really sent an SMS
        assert [params["PhoneNumbers"] for params in aliyun.requests] == ["13800138000"]
