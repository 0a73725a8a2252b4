"""R-MIN-1 (§七 1 「不满 18 周岁的未成年人…父母或其他监护人监护、指导下共同阅读并同意」): registration
requires a statement that the registrant is 18 or older (or read and agreed with a guardian).

Acceptance: no statement → 400. A minor without guardian consent → ``pending_guardian``, and cannot log
in. With consent (an SMS code sent to the guardian's phone) → a consent row holding the guardian
reference and the policy hash; the guardian's name and phone are stored encrypted only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Registration, User
from huike.privacy.policy.models import GuardianConsent, PolicyAcceptance, PolicyVersion
from huike.tenant.models import Tenant
from tests.account.conftest import PASSWORD, PHONE, Flows
from tests.account.test_f3_no_plaintext import dump

GUARDIAN_PHONE = "13912345678"
GUARDIAN_NAME = "王监护"


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("statement", [False, None], ids=["false", "missing"])
async def test_r_min_1_no_adult_statement_is_400_and_creates_nothing(
    flows: Flows, session: AsyncSession, statement: bool | None
) -> None:
    code = await flows.code()
    body = flows.body(code)
    if statement is None:
        del body["adult_or_guardian"]
    else:
        body["adult_or_guardian"] = statement
    response = await flows.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 400, response.text
    assert code_of(response) == "account.adult_statement_required"
    for model in (Tenant, User, Registration, PolicyAcceptance):
        assert await count(session, model) == 0
    # the code was not spent: the registrant can tick the statement and go on
    body["adult_or_guardian"] = True
    assert (await flows.client.post("/api/v1/auth/register", json=body)).status_code == 201


async def test_r_min_1_the_statement_is_stored_with_the_policy_version(
    flows: Flows, session: AsyncSession
) -> None:
    assert (await flows.register()).status_code == 201
    registration = (await session.execute(select(Registration))).scalar_one()
    assert registration.adult_or_guardian is True
    assert registration.policy_version == flows.version


async def test_r_min_1_the_refusal_explains_itself_in_both_languages(flows: Flows) -> None:
    zh = await flows.register(adult_or_guardian=False)
    en = await flows.client.post(
        "/api/v1/auth/register",
        json=flows.body("000000", adult_or_guardian=False),
        headers={"accept-language": "en"},
    )
    assert "18" in zh.json()["error"]["message"]
    assert "18 or older" in en.json()["error"]["message"]


async def register_minor(flows: Flows, guardian_code: str | None, **changes: object) -> httpx.Response:
    """A minor's registration naming a guardian; ``guardian_code`` None sends no guardian code."""
    code = await flows.code()
    body = flows.body(code, minor=True, guardian_name=GUARDIAN_NAME, guardian_phone=GUARDIAN_PHONE)
    if guardian_code is not None:
        body["guardian_sms_code"] = guardian_code
    return await flows.client.post("/api/v1/auth/register", json={**body, **changes})


async def guardian_acceptances(session: AsyncSession) -> list[PolicyAcceptance]:
    statement = select(PolicyAcceptance).where(PolicyAcceptance.subject_type == "guardian")
    return list((await session.execute(statement)).scalars().all())


@pytest.mark.parametrize("guardian_code", ["missing", "wrong"])
async def test_r_min_1_minor_without_guardian_consent_is_pending_and_cannot_log_in(
    flows: Flows, session: AsyncSession, guardian_code: str
) -> None:
    code = None
    if guardian_code == "wrong":
        right = await flows.code(GUARDIAN_PHONE, purpose="guardian")
        code = "000000" if right != "000000" else "111111"
    response = await register_minor(flows, code)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending_guardian"
    assert response.json()["guardian_phone_masked"] == "139****5678"
    expected = "sms.code_missing" if guardian_code == "missing" else "sms.code_wrong"
    assert response.json()["reason"] == expected
    # no session was started
    assert (await flows.client.get("/api/v1/auth/me")).status_code == 401
    user = (await session.execute(select(User))).scalar_one()
    assert user.status == "pending_guardian"
    guardian = (await session.execute(select(GuardianConsent))).scalar_one()
    assert (guardian.minor_id, guardian.status, guardian.acceptance_id) == (user.id, "pending", None)
    assert await guardian_acceptances(session) == []

    login = {"phone": PHONE, "password": PASSWORD}
    zh = await flows.client.post("/api/v1/auth/login/password", json=login)
    en = await flows.client.post("/api/v1/auth/login/password", json=login, headers={"accept-language": "en"})
    assert zh.status_code == en.status_code == 403, zh.text
    assert code_of(zh) == code_of(en) == "auth.pending_guardian"
    assert "监护人" in zh.json()["error"]["message"]
    assert "guardian has consented" in en.json()["error"]["message"]


async def test_r_min_1_with_guardian_consent_the_account_is_active_with_the_policy_hash(
    flows: Flows, session: AsyncSession
) -> None:
    guardian_code = await flows.code(GUARDIAN_PHONE, purpose="guardian")
    response = await register_minor(flows, guardian_code)
    assert response.status_code == 201, response.text
    assert (await flows.client.get("/api/v1/auth/me")).status_code == 200
    user = (await session.execute(select(User))).scalar_one()
    assert user.status == "active"
    guardian = (await session.execute(select(GuardianConsent))).scalar_one()
    assert (guardian.minor_id, guardian.status) == (user.id, "granted")
    assert guardian.guardian_name == GUARDIAN_NAME  # decrypted by the application only
    [consent] = await guardian_acceptances(session)
    version = (await session.execute(select(PolicyVersion))).scalar_one()
    assert consent.id == guardian.acceptance_id
    assert consent.subject_id == guardian.id  # the guardian reference
    assert (consent.version, consent.policy_hash) == (version.version, version.text_hash)
    # the minor's own acceptance is there too
    assert await count(session, PolicyAcceptance) == 2


async def test_r_min_1_the_guardian_consents_later_and_the_account_can_log_in(
    flows: Flows, session: AsyncSession
) -> None:
    assert (await register_minor(flows, None)).status_code == 202
    wrong = await flows.client.post(
        "/api/v1/auth/guardian-consent", json={"phone": PHONE, "guardian_sms_code": "123456"}
    )
    assert (wrong.status_code, code_of(wrong)) == (400, "account.guardian_consent_failed")  # none sent
    guardian_code = await flows.code(GUARDIAN_PHONE, purpose="guardian")
    done = await flows.client.post(
        "/api/v1/auth/guardian-consent", json={"phone": PHONE, "guardian_sms_code": guardian_code}
    )
    assert done.status_code == 204, done.text
    assert len(await guardian_acceptances(session)) == 1
    login = await flows.client.post(
        "/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    again = await flows.client.post(
        "/api/v1/auth/guardian-consent", json={"phone": PHONE, "guardian_sms_code": guardian_code}
    )
    assert (again.status_code, code_of(again)) == (400, "account.guardian_consent_failed")


async def guardian_consent(flows: Flows, phone: str, code: str, language: str = "zh-CN") -> httpx.Response:
    return await flows.client.post(
        "/api/v1/auth/guardian-consent",
        json={"phone": phone, "guardian_sms_code": code},
        headers={"accept-language": language},
    )


async def test_r_min_1_guardian_consent_does_not_tell_which_phones_have_an_account_waiting(
    flows: Flows, session: AsyncSession
) -> None:
    """Unknown phones, phones whose account is not waiting for a guardian and phones whose account is
    waiting get the same answer until the guardian's code is right: same status, body and code."""
    active_phone, unknown_phone = "13900139002", "13700137000"
    assert (await flows.register(phone=active_phone)).status_code == 201
    flows.client.cookies.clear()
    assert (await register_minor(flows, None)).status_code == 202
    right = await flows.code(GUARDIAN_PHONE, purpose="guardian")
    wrong = "000000" if right != "000000" else "111111"

    refusal: dict[str, object] = {}
    for language in ("zh-CN", "en"):
        answers = [
            await guardian_consent(flows, unknown_phone, wrong, language),
            await guardian_consent(flows, active_phone, wrong, language),
            await guardian_consent(flows, PHONE, wrong, language),  # waiting, wrong code
            await guardian_consent(flows, active_phone, right, language),  # the right code, wrong phone
        ]
        assert {a.status_code for a in answers} == {400}
        assert {a.headers["content-type"] for a in answers} == {"application/json"}
        bodies = [a.json() for a in answers]
        assert all(body == bodies[0] for body in bodies), bodies
        assert bodies[0]["error"]["code"] == "account.guardian_consent_failed"
        assert bodies[0]["error"]["details"] == {}
        assert ("监护人" if language == "zh-CN" else "guardian") in bodies[0]["error"]["message"]
        refusal[language] = bodies[0]

    # the wrong tries still count against the guardian's code: after five, the right one is refused
    # with the same answer, and the account keeps waiting
    for _ in range(3):
        await guardian_consent(flows, PHONE, wrong)
    exhausted = await guardian_consent(flows, PHONE, right)
    assert (exhausted.status_code, exhausted.json()) == (400, refusal["zh-CN"])
    user = (await session.execute(select(User).where(User.status == "pending_guardian"))).scalar_one()
    assert user.status == "pending_guardian"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        fresh = await flows.code(GUARDIAN_PHONE, purpose="guardian")
        assert (await guardian_consent(flows, PHONE, fresh)).status_code == 204


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"guardian_name": " "}, 400, "account.guardian_details_required"),
        ({"guardian_phone": ""}, 400, "account.guardian_details_required"),
        ({"guardian_phone": "02112345678"}, 422, "account.invalid_guardian_phone"),
        ({"guardian_phone": PHONE}, 400, "account.guardian_phone_same"),
    ],
    ids=["no_name", "no_phone", "landline", "own_phone"],
)
async def test_r_min_1_the_guardian_details_are_checked_before_anything_is_created(
    flows: Flows, session: AsyncSession, changes: dict[str, object], status: int, error: str
) -> None:
    response = await register_minor(flows, None, **changes)
    assert (response.status_code, code_of(response)) == (status, error), response.text
    for model in (Tenant, User, Registration, PolicyAcceptance, GuardianConsent):
        assert await count(session, model) == 0


async def test_r_min_1_the_guardian_phone_and_name_are_not_stored_in_plaintext(
    flows: Flows, session: AsyncSession
) -> None:
    guardian_code = await flows.code(GUARDIAN_PHONE, purpose="guardian")
    assert (await register_minor(flows, guardian_code)).status_code == 201
    everything = await dump(session)
    for needle in (GUARDIAN_PHONE, "+86" + GUARDIAN_PHONE, GUARDIAN_NAME, guardian_code):
        assert needle not in everything
    row = (
        await session.execute(
            text("SELECT guardian_name, guardian_phone, guardian_phone_index FROM guardian_consents")
        )
    ).one()
    assert row[0].startswith("v1:")
    assert row[1].startswith("v1:")
    assert row[2]  # the blind index finds the guardian's rows (access and erasure requests)
