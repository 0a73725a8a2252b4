"""R-LOG-1 log hygiene: flows that handle phone numbers, codes, tokens, secrets and names write none of
them to any log (structlog, stdlib logging, stdout, stderr), in JSON and console rendering.

To cover a new flow (registration, login, ...), add a :class:`Flow` to ``FLOWS``: a coroutine that
drives it through a :class:`Kit`, the raw values that must never appear and the masked forms that
prove the values did reach the logs.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import structlog
from fastapi import FastAPI, Request

from huike.account.sms import ConsoleSmsProvider, SmsMessage
from huike.config import Settings
from huike.core.db import Database, commit, get_session
from huike.core.logging import configure_logging, mask_personal_data, mask_text
from huike.core.routing import make_router
from huike.core.tasks import JobContext, JobRuntime, enqueue, execute, task
from huike.privacy.policy.service import ensure_initial_policy
from huike.security.sessions import SESSION_COOKIE
from tests.support import RecordingDispatcher, add_probe_router

log = structlog.get_logger("tests.log_hygiene")

PHONE = "13812345678"
PHONE_E164 = "+86 139 1234 5678"
JOB_PHONE = "13912345600"
ERROR_PHONE = "13712345699"
NAME = "张三丰"
SMS_CODE = "482913"
PASSWORD = "Tr0ub4dor&3-horse"
EMAIL = "zhang.sanfeng@example.com"
ACCESS_TOKEN = "Xq8vT2mN4pL6rS0uW3yZ5aB7cD9eF1gH2iJ4kL6mN8oP0qR2sT4uV6wX8yZ0aB2cD4e"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like an EncodingAESKey


@dataclass
class Kit:
    client: httpx.AsyncClient  # signed in to a tenant, with its session cookie
    session_token: str
    app: FastAPI
    db: Database  # a database where jobs really commit


@dataclass(frozen=True)
class Flow:
    name: str
    run: Callable[[Kit], Awaitable[Any]]
    raw: tuple[str, ...]  # must not appear anywhere in the logs
    masked: tuple[str, ...]  # must appear: the values were logged, masked


# --- flow 1: a request carrying a phone in the query and the body, with a session cookie ----------

probe = make_router(prefix="/api/v1/_probe_logs", tag="probe")


@probe.post("/echo")
async def echo(request: Request) -> dict[str, str]:
    body = await request.json()
    log.info(
        "probe.request",
        query=dict(request.query_params),
        body=body,
        headers=dict(request.headers),
        cookies=dict(request.cookies),
    )
    logging.getLogger("tests.probe").info("query string was %s", request.url.query)
    return {"status": "ok"}


@probe.get("/boom")
async def boom() -> None:
    raise RuntimeError(f"lookup failed for {ERROR_PHONE} <{EMAIL}>")


async def request_flow(kit: Kit) -> None:
    response = await kit.client.post(
        "/api/v1/_probe_logs/echo",
        params={"phone": PHONE, "note": "call me"},
        json={
            "mobile": PHONE_E164,
            "name": NAME,
            "sms_code": SMS_CODE,
            "password": PASSWORD,
            "email": EMAIL,
            "corp": {"encoding_aes_key": AES_KEY, "remark": NAME},
        },
    )
    assert response.status_code == 200


# --- flow 2: jobs whose payload carries a token and a phone; one fails with the phone in its error --


@task("test.log_hygiene.send", max_attempts=1)
async def send_message(ctx: JobContext, to: str, access_token: str) -> None:
    log.info("probe.job_payload", payload={"access_token": access_token, "mobile": to})
    logging.getLogger("tests.sdk").info(
        "POST /cgi-bin/message/send?access_token=%s touser=%s", access_token, to
    )


@task("test.log_hygiene.fail", max_attempts=1)
async def fail_message(ctx: JobContext, to: str) -> None:
    raise ValueError(f"recipient {to} refused the message")


async def job_flow(kit: Kit) -> None:
    runtime = JobRuntime(kit.db.sessionmaker, RecordingDispatcher(), visibility_timeout=timedelta(seconds=60))
    async with kit.db.sessionmaker() as session:
        sent = await enqueue(session, "test.log_hygiene.send", to=JOB_PHONE, access_token=ACCESS_TOKEN)
        failed = await enqueue(session, "test.log_hygiene.fail", to=JOB_PHONE)
        await commit(session)
    assert sent is not None
    assert failed is not None
    assert await execute(runtime, sent) == "succeeded"
    assert await execute(runtime, failed) == "failed"


# --- flow 3: an unhandled exception whose message holds a phone (the 500 path, uvicorn's log) -------


async def exception_flow(kit: Kit) -> None:
    response = await kit.client.get("/api/v1/_probe_logs/boom")
    assert response.status_code == 500
    assert ERROR_PHONE not in response.text
    try:  # what uvicorn writes when an exception escapes the application
        raise RuntimeError(f"lookup failed for {ERROR_PHONE} <{EMAIL}>")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")


# --- flow 4: SMS code, trial registration and password login (console SMS provider as in production) -

REG_PHONE = "13912348765"
REG_PASSWORD = "Hk-Reg1stration-Pass"


class _ProductionConsole(ConsoleSmsProvider):
    """The console provider as in production (the code is logged masked); the test keeps the code."""

    def __init__(self) -> None:
        super().__init__(production=True)
        self.codes: list[str] = []

    async def send(self, message: SmsMessage, *, session: Any = None) -> None:
        self.codes.append(message.code)
        await super().send(message, session=session)


async def registration_flow(kit: Kit) -> None:
    override = kit.app.dependency_overrides[get_session]
    sessions = override()
    session = await anext(sessions)
    version = await ensure_initial_policy(session)
    await session.commit()
    provider = _ProductionConsole()
    kit.app.state.huike_sms_provider = provider
    client = kit.client
    sent = await client.post("/api/v1/auth/sms-codes", json={"phone": REG_PHONE, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    KIT_SECRETS.append(provider.codes[-1])
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "phone": REG_PHONE,
            "sms_code": provider.codes[-1],
            "password": REG_PASSWORD,
            "company_name": "日志卫生测试公司",
            "industry": "retail",
            "adult_or_guardian": True,
            "company_authorised": True,
            "policy_version": version.version,
        },
    )
    assert response.status_code == 201, response.text
    wrong = await client.post(
        "/api/v1/auth/login/password", json={"phone": REG_PHONE, "password": "Wrong-Pass-123"}
    )
    assert wrong.status_code == 401
    right = await client.post(
        "/api/v1/auth/login/password", json={"phone": REG_PHONE, "password": REG_PASSWORD}
    )
    assert right.status_code == 200


KIT_SECRETS: list[str] = []  # values only known while a flow runs (the SMS code)


FLOWS: list[Flow] = [
    Flow(
        "request_with_cookie_query_and_body",
        request_flow,
        raw=(PHONE, "139 1234 5678", NAME, SMS_CODE, PASSWORD, EMAIL, AES_KEY, "{session_token}"),
        masked=("138******78", "+86139******78", "张*", "******", "[REDACTED]", "z***@example.com"),
    ),
    Flow(
        "job_payload_and_failure",
        job_flow,
        raw=(JOB_PHONE, ACCESS_TOKEN),
        masked=("139******00", "[REDACTED]", "jobs.failed"),
    ),
    Flow(
        "unhandled_exception",
        exception_flow,
        raw=(ERROR_PHONE, EMAIL),
        masked=("137******99", "request.unhandled_error", "Exception in ASGI application"),
    ),
    Flow(
        "sms_registration_and_login",
        registration_flow,
        raw=(REG_PHONE, REG_PASSWORD, "{sms_code}"),
        masked=(
            "139****8765",
            "sms.console_delivery",
            "******",
            "account.registered",
            "auth.login_succeeded",
        ),
    ),
]


# --- capture -------------------------------------------------------------------------------------

ANY_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
IDENTIFIERS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{32}"
)


@contextmanager
def everything_logged(settings: Settings, *, json_logs: bool) -> Iterator[io.StringIO]:
    """Route structlog, stdlib logging, stdout and stderr into one buffer, at DEBUG."""
    buffer = io.StringIO()
    saved = structlog.get_config()
    saved_streams = sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_level = root.level
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    sys.stdout = sys.stderr = buffer
    try:
        configure_logging(settings.model_copy(update={"log_level": "DEBUG", "log_json": json_logs}))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        sys.stdout, sys.stderr = saved_streams
        structlog.configure(**saved)


@pytest_asyncio.fixture
async def kit(app: FastAPI, logged_in: httpx.AsyncClient, clean_db: Database) -> Kit:
    add_probe_router(app, probe)
    token = logged_in.cookies.get(SESSION_COOKIE)
    assert token
    return Kit(logged_in, token, app, clean_db)


@pytest.mark.parametrize("json_logs", [True, False], ids=["json", "console"])
@pytest.mark.parametrize("flow", FLOWS, ids=[flow.name for flow in FLOWS])
async def test_flow_logs_no_personal_data(
    flow: Flow, json_logs: bool, kit: Kit, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with everything_logged(settings, json_logs=json_logs) as buffer:
        await flow.run(kit)
    captured = buffer.getvalue() + "\n" + caplog.text
    for raw in flow.raw:
        value = raw.format(session_token=kit.session_token, sms_code=KIT_SECRETS[-1] if KIT_SECRETS else "")
        assert value not in captured, f"{flow.name} leaked {value!r}"
    for masked in flow.masked:
        assert masked in captured, f"{flow.name}: {masked!r} missing: the flow did not log what it handles"
    assert not ANY_MOBILE.findall(IDENTIFIERS.sub("", captured))


# --- the processor on its own ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call 138******78 now"),
        ("+8613812345678", "+86138******78"),
        ("+86 138 1234 5678", "+86138******78"),
        ("0086-138-1234-5678", "0086138******78"),
        ("电话13812345678。", "电话138******78。"),
        ("order 213812345678", "order 213812345678"),  # 12 digits: not a mobile number
        ("li.lei@example.cn", "l***@example.cn"),
        (f"aes={AES_KEY}", "aes=[REDACTED]"),
        (f"Bearer {ACCESS_TOKEN}", "Bearer [REDACTED]"),
        ("sha=" + "ab12" * 16, "sha=[REDACTED]"),
        ("request 0f0a2b7c13812345678aa9b8c7d6e5f4", "request 0f0a2b7c13812345678aa9b8c7d6e5f4"),
        ("id 1f3b5c2e-1381-2345-6789-aabbccddeeff", "id 1f3b5c2e-1381-2345-6789-aabbccddeeff"),
        ("jobs.attempt_failed", "jobs.attempt_failed"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_processor_masks_by_key_recursively() -> None:
    event = mask_personal_data(
        None,
        "info",
        {
            "event": "user.updated",
            "request_id": "abc",
            "user": {"real_name": "李雷", "nickname": "Lei", "remark": "大客户", "phone": 13812345678},
            "verification_code": 4829,
            "otp": "code 482913 sent",
            "status_code": 500,
            "error_code": "job.not_retryable",
            "task_name": "jobs.prune_outbox",
            "headers": [("Authorization", "Bearer x"), ("Cookie", "a=b")],
            "auth": {"Authorization": "Bearer x", "set-cookie": "huike_session=abc", "corp_secret": "s"},
            "encoding_aes_key": "short",
            "password": "",
        },
    )
    assert event["user"] == {"real_name": "李*", "nickname": "L*", "remark": "大*", "phone": "138******78"}
    assert (event["verification_code"], event["otp"]) == ("****", "code ****** sent")
    assert (event["status_code"], event["error_code"], event["task_name"]) == (
        500,
        "job.not_retryable",
        "jobs.prune_outbox",
    )
    assert event["auth"] == {
        "Authorization": "[REDACTED]",
        "set-cookie": "[REDACTED]",
        "corp_secret": "[REDACTED]",
    }
    assert event["headers"] == [["Authorization", "[REDACTED]"], ["Cookie", "[REDACTED]"]]
    assert event["encoding_aes_key"] == "[REDACTED]"
    assert event["password"] == ""
    assert (event["event"], event["request_id"]) == ("user.updated", "abc")
