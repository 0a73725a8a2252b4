"""The WeCom connection and the callback pipeline end to end, against the bundled emulator over HTTP
(ASGI transports, no sockets): connect with the corp's secrets, pass WeCom's URL handshake, receive
encrypted events into the inbox exactly once, refuse forgeries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.tenant.models import Tenant
from huike.wecom import service
from huike.wecom.models import InboxEvent, WeComConnection
from tests.support import RecordingDispatcher, wait_until
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


def secrets_of(report: SeedReport, **changes: Any) -> dict[str, Any]:
    body = {
        "corp_id": report.corp_id,
        "agent_id": report.agent_id,
        "app_secret": report.app_secret,
        "contact_secret": report.contact_secret,
    }
    return {**body, **changes}


@pytest.mark.usefixtures("wired")
class TestConnection:
    async def test_connect_verifies_both_secrets_and_never_returns_them(
        self, logged_in: httpx.AsyncClient, emulator: tuple[EmulatorState, SeedReport, FastAPI]
    ) -> None:
        _, report, _ = emulator
        response = await logged_in.put("/api/v1/wecom/connection", json=secrets_of(report))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "connected"
        assert body["last_error_code"] is None
        assert (body["app_secret_set"], body["contact_secret_set"]) == (True, True)
        assert report.app_secret not in response.text
        assert report.contact_secret not in response.text
        assert body["callback_url"].startswith("http://127.0.0.1:8000/wecom/callback/")
        assert len(body["encoding_aes_key"]) == 43
        again = await logged_in.get("/api/v1/wecom/connection")
        assert again.json()["status"] == "connected"
        assert report.app_secret not in again.text

    async def test_secrets_are_encrypted_at_rest(
        self,
        logged_in: httpx.AsyncClient,
        session: AsyncSession,
        emulator: tuple[EmulatorState, SeedReport, FastAPI],
    ) -> None:
        _, report, _ = emulator
        await logged_in.put("/api/v1/wecom/connection", json=secrets_of(report))
        row = (
            await session.execute(
                text("SELECT app_secret, contact_secret, callback_token FROM wecom_connections")
            )
        ).one()
        for value in row:
            assert value.startswith("v1:")
        assert report.app_secret not in row[0]
        assert report.contact_secret not in row[1]

    async def test_a_wrong_secret_is_explained(
        self, logged_in: httpx.AsyncClient, emulator: tuple[EmulatorState, SeedReport, FastAPI]
    ) -> None:
        _, report, _ = emulator
        response = await logged_in.put(
            "/api/v1/wecom/connection",
            json=secrets_of(report, contact_secret="wrong-secret-123"),
            headers={"accept-language": "en"},
        )
        body = response.json()
        assert body["status"] == "failed"
        assert body["last_error_code"] == "wecom.invalid_secret"
        assert "secret is invalid" in body["last_error_message"]

    async def test_a_wrong_corp_id_is_explained(
        self, logged_in: httpx.AsyncClient, emulator: tuple[EmulatorState, SeedReport, FastAPI]
    ) -> None:
        _, report, _ = emulator
        response = await logged_in.put(
            "/api/v1/wecom/connection", json=secrets_of(report, corp_id="ww0000000000000000")
        )
        assert response.json()["last_error_code"] == "wecom.invalid_corp_id"
        assert "企业 ID" in response.json()["last_error_message"]

    async def test_first_connection_needs_both_secrets(
        self,
        logged_in: httpx.AsyncClient,
        session: AsyncSession,
        emulator: tuple[EmulatorState, SeedReport, FastAPI],
    ) -> None:
        _, report, _ = emulator
        response = await logged_in.put(
            "/api/v1/wecom/connection", json=secrets_of(report, contact_secret=None)
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "wecom.secrets_required"
        assert response.json()["error"]["details"] == {"missing": ["contact_secret"]}
        assert (await session.execute(select(WeComConnection))).first() is None

    async def test_bad_input_is_refused_precisely(self, logged_in: httpx.AsyncClient) -> None:
        response = await logged_in.put(
            "/api/v1/wecom/connection", json={"corp_id": "ww 1", "agent_id": 0, "app_secret": "x", "extra": 1}
        )
        assert response.status_code == 422
        fields = {tuple(f["location"]) for f in response.json()["error"]["details"]["fields"]}
        assert fields == {
            ("body", "corp_id"),
            ("body", "agent_id"),
            ("body", "app_secret"),
            ("body", "extra"),
        }

    async def test_keeping_stored_secrets_on_update(
        self, logged_in: httpx.AsyncClient, emulator: tuple[EmulatorState, SeedReport, FastAPI]
    ) -> None:
        _, report, _ = emulator
        await logged_in.put("/api/v1/wecom/connection", json=secrets_of(report))
        response = await logged_in.put(
            "/api/v1/wecom/connection", json=secrets_of(report, app_secret=None, contact_secret=None)
        )
        assert response.json()["status"] == "connected"

    async def test_no_connection_yet(self, logged_in: httpx.AsyncClient) -> None:
        assert (await logged_in.get("/api/v1/wecom/connection")).json() is None
        response = await logged_in.post("/api/v1/wecom/connection/verify")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "wecom.connection_missing"


async def connect_and_register_callback(
    logged_in: httpx.AsyncClient, state: EmulatorState, report: SeedReport
) -> dict[str, Any]:
    body = (await logged_in.put("/api/v1/wecom/connection", json=secrets_of(report))).json()
    url = body["callback_url"].replace("http://127.0.0.1:8000", "http://testserver")
    saved, reason = await state.deliveries.configure(
        report.corp_id, url, body["callback_token"], body["encoding_aes_key"]
    )
    assert saved, reason
    return body


@pytest.mark.usefixtures("wired")
class TestCallbacks:
    async def test_handshake_marks_the_callback_verified(
        self, logged_in: httpx.AsyncClient, emulator: tuple[EmulatorState, SeedReport, FastAPI]
    ) -> None:
        state, report, _ = emulator
        await connect_and_register_callback(logged_in, state, report)
        assert (await logged_in.get("/api/v1/wecom/connection")).json()["callback_verified_at"] is not None

    async def test_event_lands_in_the_inbox_once_despite_duplicates(
        self,
        logged_in: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        dispatcher: RecordingDispatcher,
        emulator: tuple[EmulatorState, SeedReport, FastAPI],
    ) -> None:
        state, report, _ = emulator
        await connect_and_register_callback(logged_in, state, report)
        state.deliveries.switches.duplicate = True
        userid = state.store.one("SELECT userid FROM member ORDER BY pk LIMIT 1")["userid"]
        outcome = scenarios.customer_adds_member(
            state, report.corp_id, userid, contact_way_state="spring-fair", name="王小明"
        )
        deliveries = await state.deliveries.drain()
        assert len(deliveries) == 2
        assert all(d.delivered for d in deliveries)
        rows = (
            (await session.execute(select(InboxEvent).where(InboxEvent.tenant_id == tenant.id)))
            .scalars()
            .all()
        )
        assert len(rows) == 1
        event = rows[0]
        assert (event.event, event.change_type) == ("change_external_contact", "add_external_contact")
        assert event.payload["ExternalUserID"] == outcome.data["external_userid"]
        assert event.payload["State"] == "spring-fair"
        assert "王小明" not in str(event.payload)
        await wait_until(
            lambda: len(dispatcher.dispatched) == 1
        )  # one processing job, dispatched after commit
        assert len(dispatcher.dispatched) == 1

        processed = await service.process_event(session, TenantContext.system(tenant.id), event.id)
        assert processed == "processed"  # the customer domain (external_contact) handles it
        assert await service.process_event(session, TenantContext.system(tenant.id), event.id) == "skipped"

    async def test_forged_or_unknown_callbacks_are_refused(
        self,
        logged_in: httpx.AsyncClient,
        session: AsyncSession,
        emulator: tuple[EmulatorState, SeedReport, FastAPI],
    ) -> None:
        state, report, _ = emulator
        body = await connect_and_register_callback(logged_in, state, report)
        path = "/wecom/callback/" + body["callback_url"].rsplit("/", 1)[1]
        xml = "<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
        forged = await logged_in.post(
            path, params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2"}, content=xml
        )
        assert forged.status_code == 400
        assert forged.json()["error"]["code"] == "wecom.callback_rejected"
        unknown = await logged_in.get(
            "/wecom/callback/" + "f" * 32,
            params={"msg_signature": "0", "timestamp": "1", "nonce": "2", "echostr": "x"},
        )
        assert unknown.status_code == 400
        assert (await session.execute(select(InboxEvent))).first() is None


@pytest.mark.usefixtures("wired")
async def test_customer_scans_a_contact_way_code_end_to_end(
    logged_in: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: tuple[EmulatorState, SeedReport, FastAPI],
) -> None:
    """Issue 3's acceptance path, driven through the emulator's HTTP scenario API: the callback is
    verified, stored once despite a duplicate delivery, processed, and the customer appears in Huike
    with the channel (state) of the code they scanned."""
    from huike.external_contact.models import ExternalContact, FollowRelation

    state, report, emulator_app = emulator
    await connect_and_register_callback(logged_in, state, report)
    state.deliveries.switches.duplicate = True
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator_app), base_url="http://wecom.test"
    ) as wecom:
        token = (
            await wecom.get(
                "/cgi-bin/gettoken", params={"corpid": report.corp_id, "corpsecret": report.contact_secret}
            )
        ).json()["access_token"]
        userid = state.store.one("SELECT userid FROM member ORDER BY pk LIMIT 1")["userid"]
        way = await wecom.post(
            "/cgi-bin/externalcontact/add_contact_way",
            params={"access_token": token},
            json={"type": 1, "scene": 2, "user": [userid], "state": "spring-fair", "skip_verify": True},
        )
        config_id = way.json()["config_id"]
        scanned = await wecom.post(
            "/_emulator/scenarios/customer_scans_contact_way",
            json={"corp_id": report.corp_id, "config_id": config_id},
        )
        assert scanned.status_code == 200, scanned.text
        external_userid = scanned.json()["external_userid"]
        drained = await wecom.post("/_emulator/deliveries/drain")
        assert drained.status_code == 200

    events = (
        (await session.execute(select(InboxEvent).where(InboxEvent.tenant_id == tenant.id))).scalars().all()
    )
    assert [(e.event, e.payload["State"]) for e in events] == [("change_external_contact", "spring-fair")]
    assert await service.process_event(session, TenantContext.system(tenant.id), events[0].id) == "processed"
    contact = (
        await session.execute(
            select(ExternalContact).where(ExternalContact.external_userid == external_userid)
        )
    ).scalar_one()
    follow = (
        await session.execute(select(FollowRelation).where(FollowRelation.contact_id == contact.id))
    ).scalar_one()
    assert (follow.state, follow.add_way) == ("spring-fair", 1)
