"""F6 consent ledger (R-POL-2, R-PUR-2, R-RT-5, R-LANG-1) and the consent API."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.routing import make_router
from huike.privacy.policy import service
from huike.privacy.policy.errors import (
    ConsentNotGranted,
    ConsentRequired,
    ConsentWithdrawn,
    PolicyVersionStale,
    UnknownConsentPurpose,
)
from huike.privacy.policy.models import ChangeClass, ConsentEvent, PolicyAcceptance, PolicyVersion
from huike.privacy.policy.router import PolicyAccepted
from huike.security.sessions import SESSION_COOKIE, start_session
from huike.tenant.models import Tenant
from tests.conftest import user_with_role
from tests.support import add_probe_router

PURPOSES = service.initial_purposes()
MARKETING = "marketing.product_introduction"
SALES = "sales.region_assignment"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"


async def publish_next(
    session: AsyncSession,
    label: str,
    change_class: ChangeClass,
    *,
    purposes: list[dict[str, str]] | None = None,
) -> PolicyVersion:
    """A version already in effect: published 7 days before its effective date."""
    effective = date.fromisoformat(label)
    return await service.publish_version(
        session,
        version=label,
        text_zh=f"iCCSaaS 隐私政策\n\n更新日期：{label}\n\n一、修订\n\n{change_class} 版本。",
        effective_date=effective,
        change_class=change_class,
        purposes=PURPOSES if purposes is None else purposes,
        now=datetime(effective.year, effective.month, effective.day, tzinfo=UTC) - timedelta(days=7),
    )


@pytest_asyncio.fixture
async def v1(session: AsyncSession) -> PolicyVersion:
    version = await service.ensure_initial_policy(session)
    await session.commit()
    return version


@pytest.fixture
def subject() -> service.ConsentSubject:
    return service.ConsentSubject.account_holder(uuid.uuid4())


async def accept(
    session: AsyncSession, subject: service.ConsentSubject, version: str, purposes: tuple[str, ...] = ()
) -> PolicyAcceptance:
    return await service.accept_policy(
        session, subject, version=version, purposes=purposes, method="agreement", channel="web"
    )


class TestChangeClasses:
    async def test_first_acceptance_is_required(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        assert (await service.requires_acceptance(session, subject)) == v1
        assert await service.effective_version_for(session, subject) is None
        await accept(session, subject, "2023-02-22")
        assert await service.requires_acceptance(session, subject) is None
        assert await service.effective_version_for(session, subject) == v1

    async def test_material_change_must_be_accepted(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        await accept(session, subject, "2023-02-22")
        v2 = await publish_next(session, "2024-05-01", ChangeClass.material)
        assert await service.requires_acceptance(session, subject) == v2
        assert await service.pending_acceptance(session, subject) == v2
        with pytest.raises(PolicyVersionStale):
            await accept(session, subject, "2023-02-22")
        await accept(session, subject, "2024-05-01")
        assert await service.requires_acceptance(session, subject) is None
        assert await service.effective_version_for(session, subject) == v2

    async def test_minor_change_needs_no_acceptance(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        await accept(session, subject, "2023-02-22")
        v2 = await publish_next(session, "2024-05-01", ChangeClass.minor)
        assert await service.requires_acceptance(session, subject) is None
        assert await service.pending_acceptance(session, subject) is None
        assert await service.effective_version_for(session, subject) == v2  # continued use, §八 2
        rows = (await session.execute(select(PolicyAcceptance))).scalars().all()
        assert [r.version for r in rows] == ["2023-02-22"]

    async def test_rights_reducing_change_keeps_the_old_version(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        """R-POL-2: continued use is not acceptance; processing stays under the previous version."""
        await accept(session, subject, "2023-02-22")
        minor = await publish_next(session, "2024-02-01", ChangeClass.minor)
        reducing = await publish_next(session, "2024-05-01", ChangeClass.reduces_rights)
        assert await service.current_version(session) == reducing
        assert await service.effective_version_for(session, subject) == minor
        assert await service.requires_acceptance(session, subject) is None  # not locked out
        assert await service.pending_acceptance(session, subject) == reducing  # but asked
        other = service.ConsentSubject.account_holder(uuid.uuid4())
        await accept(session, other, "2024-05-01")
        assert await service.effective_version_for(session, other) == reducing
        await accept(session, subject, "2024-05-01")
        assert await service.effective_version_for(session, subject) == reducing
        assert await service.pending_acceptance(session, subject) is None


class TestPurposes:
    async def test_withdrawal_is_honoured_at_the_next_check(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        await accept(session, subject, "2023-02-22", (MARKETING, SALES))
        state = await service.check_consent(session, subject, MARKETING)
        assert (state.version, state.policy_hash) == ("2023-02-22", v1.text_hash)
        await service.withdraw_consent(session, subject, MARKETING, channel="web")
        with pytest.raises(ConsentWithdrawn) as caught:
            await service.check_consent(session, subject, MARKETING)
        assert caught.value.status_code == 403
        assert (await service.check_consent(session, subject, SALES)).purpose == SALES
        with pytest.raises(ConsentNotGranted):
            await service.withdraw_consent(session, subject, MARKETING, channel="web")
        # granting again (a new acceptance) restores it; the history keeps grant, withdrawal, grant
        await accept(session, subject, "2023-02-22", (MARKETING,))
        assert (await service.check_consent(session, subject, MARKETING)).purpose == MARKETING
        events = (
            (
                await session.execute(
                    select(ConsentEvent)
                    .where(ConsentEvent.purpose == MARKETING, ConsentEvent.subject_id == subject.id)
                    .order_by(ConsentEvent.occurred_at)
                )
            )
            .scalars()
            .all()
        )
        assert [e.action for e in events] == ["grant", "withdraw", "grant"]

    async def test_never_granted_purpose_is_required(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        with pytest.raises(ConsentRequired):
            await service.check_consent(session, subject, MARKETING)
        await accept(session, subject, "2023-02-22")  # the policy, without optional purposes
        with pytest.raises(ConsentRequired):
            await service.check_consent(session, subject, MARKETING)

    async def test_new_purpose_of_a_later_version(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        """R-PUR-2: a purpose v2 introduces is blocked until accepted; v1 purposes keep running."""
        await accept(session, subject, "2023-02-22", (MARKETING,))
        new = {"code": "analytics.feature_usage", "section": "一（二）1", "zh": "功能使用分析", "en": "Usage"}
        v2 = await publish_next(session, "2024-05-01", ChangeClass.material, purposes=[*PURPOSES, new])
        with pytest.raises(ConsentRequired):
            await service.check_consent(session, subject, "analytics.feature_usage")
        assert (await service.check_consent(session, subject, MARKETING)).version == "2023-02-22"
        await accept(session, subject, "2024-05-01", ("analytics.feature_usage",))
        state = await service.check_consent(session, subject, "analytics.feature_usage")
        assert state.policy_hash == v2.text_hash

    async def test_unknown_purpose(
        self, session: AsyncSession, v1: PolicyVersion, subject: service.ConsentSubject
    ) -> None:
        with pytest.raises(UnknownConsentPurpose):
            await accept(session, subject, "2023-02-22", ("marketing.telepathy",))
        with pytest.raises(UnknownConsentPurpose):
            await service.withdraw_consent(session, subject, "marketing.telepathy", channel="web")


class TestAcceptanceRow:
    async def test_every_field_and_no_raw_user_agent(
        self, session: AsyncSession, v1: PolicyVersion, tenant: Tenant
    ) -> None:
        subject = service.ConsentSubject.account_holder(uuid.uuid4(), tenant.id)
        row = await service.accept_policy(
            session,
            subject,
            version="2023-02-22",
            purposes=(MARKETING, MARKETING, SALES),
            method="interactive_flow",
            channel="wecom",
            ip="203.0.113.77",
            ip_region="中国|广东省|深圳市",
            user_agent=UA,
        )
        await session.commit()
        stored = (
            await session.execute(select(PolicyAcceptance).where(PolicyAcceptance.id == row.id))
        ).scalar_one()
        values: dict[str, Any] = {
            c.key: getattr(stored, c.key) for c in inspect(PolicyAcceptance).column_attrs
        }
        assert all(value is not None for value in values.values()), values
        assert values["subject_type"] == "account_holder"
        assert values["subject_id"] == subject.id
        assert values["tenant_id"] == tenant.id
        assert values["version"] == "2023-02-22"
        assert values["version_id"] == v1.id
        assert values["policy_hash"] == v1.text_hash  # the zh-CN hash (R-LANG-1)
        assert values["purposes"] == [MARKETING, SALES]
        assert values["method"] == "interactive_flow"
        assert values["channel"] == "wecom"
        assert values["accepted_at"].tzinfo is not None
        assert values["ip_region"] == "中国|广东省|深圳市"
        assert values["ip_prefix"] == "203.0.113.0/24"  # truncated: the full IP is not kept
        assert values["user_agent_hash"] == hashlib.sha256(UA.encode()).hexdigest()
        for value in values.values():
            assert "Mozilla" not in str(value)
            assert "203.0.113.77" not in str(value)

    def test_ip_truncation(self) -> None:
        assert service.truncate_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
        assert service.truncate_ip("not an ip") is None
        assert service.truncate_ip(None) is None

    def test_subject_types(self) -> None:
        with pytest.raises(ValueError, match="subject"):
            service.ConsentSubject("tenant", uuid.uuid4())


# --- the HTTP API ----------------------------------------------------------------------------------


async def login(client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> uuid.UUID:
    # a member of the tenant: a session's role must hold the web console app (app.console)
    user_id = await user_with_role(session, tenant.id, "member")
    _, token = await start_session(session, tenant.id, user_id)
    await session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    return user_id


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


class TestConsentApi:
    async def test_requires_login(self, client: httpx.AsyncClient, v1: PolicyVersion) -> None:
        assert (await client.get("/api/v1/privacy/consents")).status_code == 401
        response = await client.post(
            "/api/v1/privacy/consents", json={"version": "2023-02-22", "purposes": [], "method": "agreement"}
        )
        assert response.status_code == 401

    async def test_accept_list_withdraw(
        self, client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, v1: PolicyVersion
    ) -> None:
        user_id = await login(client, session, tenant)
        before = (await client.get("/api/v1/privacy/consents")).json()
        assert before["acceptance_required"] == "2023-02-22"
        assert before["acceptances"] == []
        response = await client.post(
            "/api/v1/privacy/consents",
            json={"version": "2023-02-22", "purposes": [MARKETING], "method": "page_notice"},
            headers={"User-Agent": UA, "Accept-Language": "en"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["acceptance_required"] is None
        assert body["effective_version"] == "2023-02-22"
        (acceptance,) = body["acceptances"]
        assert acceptance["policy_hash"] == v1.text_hash  # zh-CN hash though the UI was English
        assert acceptance["method"] == "page_notice"
        assert acceptance["channel"] == "web"
        states = {p["purpose"]: p["state"] for p in body["purposes"]}
        assert states == {MARKETING: "granted", SALES: "none", "wecom.profile_display": "none"}
        row = (await session.execute(select(PolicyAcceptance))).scalar_one()
        assert (row.subject_id, row.tenant_id) == (user_id, tenant.id)
        assert row.user_agent_hash == hashlib.sha256(UA.encode()).hexdigest()

        withdrawn = await client.post("/api/v1/privacy/consents/withdraw", json={"purpose": MARKETING})
        assert withdrawn.status_code == 200
        assert {p["purpose"]: p["state"] for p in withdrawn.json()["purposes"]}[MARKETING] == "withdrawn"
        assert [e["action"] for e in withdrawn.json()["events"]] == ["withdraw", "grant"]
        with pytest.raises(ConsentWithdrawn):
            await service.check_consent(session, service.ConsentSubject.account_holder(user_id), MARKETING)
        again = await client.post("/api/v1/privacy/consents/withdraw", json={"purpose": MARKETING})
        assert again.status_code == 409
        assert code(again) == "privacy.consent_not_granted"

    async def test_stale_and_future_versions(
        self, client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, v1: PolicyVersion
    ) -> None:
        await login(client, session, tenant)
        await publish_next(session, "2024-05-01", ChangeClass.material)
        await service.create_draft(
            session,
            version="2099-01-01",
            text_zh="未来",
            effective_date=date(2099, 1, 1),
            change_class=ChangeClass.material,
        )
        await service.publish(session, "2099-01-01")
        await session.commit()
        stale = await client.post(
            "/api/v1/privacy/consents", json={"version": "2023-02-22", "purposes": [], "method": "agreement"}
        )
        assert stale.status_code == 409
        assert code(stale) == "privacy.policy_version_stale"
        assert stale.json()["error"]["details"] == {"version": "2023-02-22", "current": "2024-05-01"}
        future = await client.post(
            "/api/v1/privacy/consents", json={"version": "2099-01-01", "purposes": [], "method": "agreement"}
        )
        assert future.status_code == 409
        assert code(future) == "privacy.policy_version_not_current"

    @pytest.mark.parametrize(
        ("body", "status", "error"),
        [
            (
                {"version": "1999-01-01", "purposes": [], "method": "agreement"},
                404,
                "privacy.policy_version_not_found",
            ),
            (
                {"version": "2023-02-22", "purposes": ["marketing.telepathy"], "method": "agreement"},
                422,
                "privacy.consent_unknown_purpose",
            ),
            ({"version": "2023-02-22", "purposes": [], "method": "nodded"}, 422, "validation_error"),
            ({"version": "latest", "purposes": [], "method": "agreement"}, 422, "validation_error"),
            (
                {"version": "2023-02-22", "purposes": ["Bad Code"], "method": "agreement"},
                422,
                "validation_error",
            ),
            ({"version": "2023-02-22", "method": "agreement"}, 422, "validation_error"),
            (
                {"version": "2023-02-22", "purposes": [], "method": "agreement", "channel": "web"},
                422,
                "validation_error",
            ),
        ],
    )
    async def test_bad_acceptances(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        v1: PolicyVersion,
        body: dict[str, Any],
        status: int,
        error: str,
    ) -> None:
        await login(client, session, tenant)
        response = await client.post("/api/v1/privacy/consents", json=body)
        assert response.status_code == status, response.text
        assert code(response) == error
        assert (await session.execute(select(PolicyAcceptance))).scalars().all() == []

    async def test_bad_withdrawals(
        self, client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, v1: PolicyVersion
    ) -> None:
        await login(client, session, tenant)
        never = await client.post("/api/v1/privacy/consents/withdraw", json={"purpose": MARKETING})
        assert (never.status_code, code(never)) == (409, "privacy.consent_not_granted")
        unknown = await client.post(
            "/api/v1/privacy/consents/withdraw", json={"purpose": "marketing.telepathy"}
        )
        assert (unknown.status_code, code(unknown)) == (422, "privacy.consent_unknown_purpose")
        extra = await client.post(
            "/api/v1/privacy/consents/withdraw", json={"purpose": MARKETING, "all": True}
        )
        assert extra.status_code == 422
        assert extra.json()["error"]["details"]["fields"][0]["type"] == "extra_forbidden"
        malformed = await client.post(
            "/api/v1/privacy/consents/withdraw", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert code(malformed) == "request.malformed_json"

    async def test_tenant_isolation(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        other_tenant: Tenant,
        v1: PolicyVersion,
    ) -> None:
        alice = await login(client, session, tenant)
        accepted = await client.post(
            "/api/v1/privacy/consents",
            json={"version": "2023-02-22", "purposes": [MARKETING], "method": "agreement"},
        )
        assert accepted.status_code == 201
        await login(client, session, other_tenant)  # Bob, of another tenant
        mine = (await client.get("/api/v1/privacy/consents")).json()
        assert mine["acceptances"] == []
        assert mine["events"] == []
        assert mine["acceptance_required"] == "2023-02-22"
        withdraw = await client.post("/api/v1/privacy/consents/withdraw", json={"purpose": MARKETING})
        assert withdraw.status_code == 409  # Bob cannot touch Alice's consent
        state = await service.check_consent(session, service.ConsentSubject.account_holder(alice), MARKETING)
        assert state.purpose == MARKETING


@pytest_asyncio.fixture
async def gated_app(app: FastAPI) -> AsyncIterator[FastAPI]:
    probe = make_router(prefix="/api/v1/test-policy-gate", tag="test")

    @probe.get("")
    async def gated(ctx: PolicyAccepted) -> dict[str, str]:
        return {"tenant": str(ctx.tenant_id)}

    add_probe_router(app, probe)
    yield app


class TestAcceptanceGate:
    async def test_material_change_blocks_until_accepted(
        self,
        gated_app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        v1: PolicyVersion,
    ) -> None:
        text_hash, tenant_id = v1.text_hash, tenant.id  # a refused request expires the session's objects
        user_id = await login(client, session, tenant)
        blocked = await client.get("/api/v1/test-policy-gate")
        assert blocked.status_code == 403
        error = blocked.json()["error"]
        assert error["code"] == "privacy.policy_acceptance_required"
        assert error["details"]["version"] == "2023-02-22"
        assert error["details"]["policy_hash"] == text_hash
        await client.post(
            "/api/v1/privacy/consents", json={"version": "2023-02-22", "purposes": [], "method": "agreement"}
        )
        assert (await client.get("/api/v1/test-policy-gate")).status_code == 200
        await publish_next(session, "2024-02-01", ChangeClass.minor)
        await session.commit()
        assert (await client.get("/api/v1/test-policy-gate")).status_code == 200
        await publish_next(session, "2024-05-01", ChangeClass.material)
        await session.commit()
        again = await client.get("/api/v1/test-policy-gate")
        assert again.status_code == 403
        assert again.json()["error"]["details"]["version"] == "2024-05-01"
        # logging in again does not count as acceptance (R-POL-2)
        _, token = await start_session(session, tenant_id, user_id)
        await session.commit()
        client.cookies.set(SESSION_COOKIE, token)
        assert (await client.get("/api/v1/test-policy-gate")).status_code == 403
        assert len((await session.execute(select(PolicyAcceptance))).scalars().all()) == 1
