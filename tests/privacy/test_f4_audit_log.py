"""F4 audit log: append-only, pseudonymous, hash-chained, one chain per tenant that concurrent writers
cannot fork, verifiable by `huike audit verify`, readable by the tenant's admins only.
Runs on whichever database the suite runs on."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from typer.testing import CliRunner

from huike.cli import app as cli_app
from huike.config import get_settings
from huike.core.db import Database, commit, rollback
from huike.core.errors import Conflict
from huike.core.routing import SessionDep, make_router
from huike.core.tenancy import TenantContext
from huike.privacy.audit.errors import InvalidAuditEvent, PersonalDataInAudit
from huike.privacy.audit.models import (
    GENESIS,
    PLATFORM_CHAIN,
    ActorType,
    AuditChainHead,
    AuditEvent,
    AuditResult,
    drop_audit_guard,
    install_audit_guard,
)
from huike.privacy.audit.service import Actor, hmac_pseudonym, record, verify_chains
from huike.security.sessions import SESSION_COOKIE, CurrentTenant, start_session
from huike.tenant.models import Tenant
from tests.support import add_probe_router

PHONE = re.compile(r"1[3-9]\d{9}")
# values whose format is fixed (ids, digests) may hold an 11-digit run by chance; nothing else may
FIXED_FORMAT = re.compile(
    r"^(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|(?:v[0-9]+:)?[0-9a-f]{64})$"
)


def a_request(ip: str = "203.0.113.7", agent: str = "Mozilla/5.0 (Macintosh) Safari/605") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": [(b"user-agent", agent.encode())],
            "client": (ip, 50000),
        }
    )


async def guard(session: AsyncSession) -> None:
    """The append-only triggers, inside the test's transaction (rolled back with it)."""
    connection = await session.connection()
    await connection.run_sync(install_audit_guard)


async def chain_of(session: AsyncSession, chain: str) -> list[AuditEvent]:
    rows = await session.execute(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq))
    return list(rows.scalars())


class TestRecord:
    async def test_rows_are_chained_and_pseudonymous(self, session: AsyncSession, tenant: Tenant) -> None:
        user_id = uuid.uuid4()
        ctx = TenantContext(tenant.id, user_id)
        first = await record(
            session, ctx, "auth.login.succeeded", object_type="user", object_id=user_id, request=a_request()
        )
        second = await record(
            session,
            ctx,
            "data.revealed",
            object_type="contact",
            object_id=uuid.uuid4(),
            details={"fields": ["phone"], "phone_masked": "138****8000"},
            ip_region="上海",
        )
        third = await record(
            session, TenantContext.system(tenant.id), "data.deleted", object_type="contact", object_id="c-1"
        )
        rows = await chain_of(session, str(tenant.id))
        assert [row.seq for row in rows] == [1, 2, 3]
        assert rows[0].prev_hash == GENESIS
        assert [row.prev_hash for row in rows[1:]] == [first.hash, second.hash]
        assert all(row.hash == row.compute_hash() for row in rows)
        assert (first.actor_type, first.actor_id) == ("user", user_id)
        assert (third.actor_type, third.actor_id) == ("system", None)
        assert first.ip == "203.0.113.7"
        assert first.user_agent_hash is not None
        assert len(first.user_agent_hash) == 64
        assert "Mozilla" not in json.dumps(first.canonical_fields())
        head = await session.get(AuditChainHead, str(tenant.id))
        assert head is not None
        assert (head.last_seq, head.last_hash) == (3, third.hash)

    async def test_versioned_blind_index_values_are_accepted_as_pseudonyms(
        self, session: AsyncSession, tenant: Tenant
    ) -> None:
        pseudonym = "v1:" + hmac_pseudonym(b"k" * 32, "+8613812345678")
        actor = Actor.pseudonymous(ActorType.user, pseudonym)
        event = await record(
            session,
            TenantContext(tenant.id),
            "auth.login.failed",
            object_type="account",
            object_id=None,
            result="failure",
            actor=actor,
            details={"index": pseudonym},
        )
        assert (event.actor_type, event.actor_id, event.actor_pseudonym) == ("user", None, pseudonym)

    async def test_platform_events_have_their_own_chain(self, session: AsyncSession) -> None:
        before = len(await chain_of(session, PLATFORM_CHAIN))
        event = await record(
            session,
            None,
            "auth.login.failed",
            object_type="account",
            object_id=None,
            result=AuditResult.failure,
            actor=Actor.pseudonymous(ActorType.user, hmac_pseudonym(b"k" * 32, "+8613812345678")),
        )
        assert (event.chain, event.tenant_id, event.seq) == (PLATFORM_CHAIN, None, before + 1)
        assert event.actor_pseudonym is not None
        assert not PHONE.search(event.actor_pseudonym) or FIXED_FORMAT.match(event.actor_pseudonym)

    @pytest.mark.parametrize(
        ("details", "where"),
        [
            ({"note": "call 13812345678"}, "details.note"),
            ({"to": "+86 13912345678"}, "details.to"),
            ({"count": 13812345678}, "details.count"),
            ({"who": "zhang.san@example.com"}, "details.who"),
            ({"phone": "hidden"}, "details.phone"),
            ({"nickname": "小王"}, "details.nickname"),
            ({"code": "123456"}, "details.code"),
            ({"new_value": "x"}, "details.new_value"),
            ({"changes": [{"remark": "VIP"}]}, "details.changes[0].remark"),
            ({"phone_masked": "13812345678"}, "details.phone_masked"),
            ({"13812345678": 1}, "details.<key>"),
        ],
    )
    async def test_personal_data_in_details_is_refused(
        self, session: AsyncSession, tenant: Tenant, details: dict[str, Any], where: str
    ) -> None:
        with pytest.raises(PersonalDataInAudit) as caught:
            await record(
                session,
                TenantContext(tenant.id),
                "data.exported",
                object_type="export",
                object_id="e1",
                details=details,
            )
        assert caught.value.details == {"field": where}
        assert "138" not in caught.value.message()

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"object_id": "13812345678"}, PersonalDataInAudit),
            ({"object_id": "a b"}, InvalidAuditEvent),
            ({"ip_region": "手机13812345678"}, PersonalDataInAudit),
            ({"action": "Login"}, InvalidAuditEvent),
            ({"action": "login"}, InvalidAuditEvent),
            ({"result": "maybe"}, InvalidAuditEvent),
            ({"actor": Actor.pseudonymous(ActorType.user, "+8613812345678")}, InvalidAuditEvent),
            ({"details": {"when": datetime.now(UTC)}}, InvalidAuditEvent),
        ],
    )
    async def test_malformed_events_are_refused(
        self, session: AsyncSession, tenant: Tenant, kwargs: dict[str, Any], error: type[Exception]
    ) -> None:
        values: dict[str, Any] = {"object_type": "user", "object_id": "u1", **kwargs}
        action = values.pop("action", "role.changed")
        with pytest.raises(error):
            await record(session, TenantContext(tenant.id), action, **values)

    async def test_ids_codes_and_field_names_are_accepted(
        self, session: AsyncSession, tenant: Tenant
    ) -> None:
        details = {
            "fields": ["name", "phone", "remark"],
            "exception_code": "i",
            "recipient_count": 120,
            "template_id": str(uuid.uuid4()),
            "role": {"from": "member", "to": "admin"},
            "batch": uuid.uuid4().hex,
        }
        event = await record(
            session,
            TenantContext(tenant.id),
            "role.changed",
            object_type="user",
            object_id=uuid.uuid4(),
            details=details,
        )
        assert event.details == details


class TestAppendOnly:
    async def test_update_and_delete_are_refused(self, session: AsyncSession, tenant: Tenant) -> None:
        await guard(session)
        event = await record(
            session, TenantContext(tenant.id), "role.changed", object_type="user", object_id="u"
        )
        for statement in (
            update(AuditEvent).where(AuditEvent.id == event.id).values(result="denied"),
            delete(AuditEvent).where(AuditEvent.id == event.id),
            text("UPDATE audit_events SET details = '{}'"),
            text("DELETE FROM audit_events"),
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(statement)
        rows = await chain_of(session, str(tenant.id))
        assert [(row.id, row.result) for row in rows] == [(event.id, "success")]

    async def test_postgres_refuses_truncate_and_allows_only_the_retention_path(
        self, session: AsyncSession, tenant: Tenant
    ) -> None:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL semantics")
        await guard(session)
        event = await record(
            session, TenantContext(tenant.id), "role.changed", object_type="user", object_id="u"
        )
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text("TRUNCATE audit_events"))
        async with session.begin_nested():
            await session.execute(text("SET LOCAL huike.audit_retention = 'on'"))
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(update(AuditEvent).values(result="denied"))
            await session.execute(delete(AuditEvent).where(AuditEvent.id == event.id))
            await session.execute(text("SET LOCAL huike.audit_retention = 'off'"))
        assert await chain_of(session, str(tenant.id)) == []


class TestSweep:
    async def test_no_phone_number_in_any_row(self, session: AsyncSession, tenant: Tenant) -> None:
        """F4: a scan of all rows finds no mainland mobile number (ids and digests aside)."""
        phone = "13812345678"
        key = b"blind-index-key-for-tests-000000"
        ctx = TenantContext(tenant.id, uuid.uuid4())
        await record(
            session,
            ctx,
            "auth.login.succeeded",
            object_type="user",
            object_id=ctx.user_id,
            request=a_request(agent=f"Mozilla/5.0 phone {phone}"),
        )
        await record(
            session,
            None,
            "auth.login.failed",
            object_type="account",
            object_id=None,
            result="failure",
            actor=Actor.pseudonymous(ActorType.user, hmac_pseudonym(key, phone)),
            request=a_request(),
        )
        await record(
            session,
            ctx,
            "data.revealed",
            object_type="contact",
            object_id=uuid.uuid4(),
            details={"fields": ["phone"], "phone_masked": "138****5678"},
        )
        await record(
            session,
            ctx,
            "admin.viewed_member_data",
            object_type="member",
            object_id=uuid.uuid4(),
            details={"view": "group_list"},
        )
        with pytest.raises(PersonalDataInAudit):
            await record(
                session, ctx, "data.exported", object_type="export", object_id="x", details={"to": phone}
            )
        rows = (await session.execute(text("SELECT * FROM audit_events"))).mappings().all()
        assert len(rows) >= 4
        for row in rows:
            for column, value in row.items():
                if column == "details" and isinstance(value, str):  # SQLite hands back the JSON text
                    value = json.loads(value)
                leaves = _leaves(value)
                found = [
                    leaf for leaf in leaves if PHONE.search(leaf) and not FIXED_FORMAT.match(leaf.lower())
                ]
                assert not found, (column, found)


def _leaves(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in [str(k), *_leaves(v)]]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [str(value)]


# --- committed work: verification, concurrency ------------------------------------------------------


@pytest_asyncio.fixture
async def audit_db(clean_db: Database) -> AsyncIterator[Database]:
    async with clean_db.sessionmaker() as session:
        session.add(Tenant(id=TENANT, name="审计租户"))
        await commit(session)
    yield clean_db
    async with clean_db.engine.begin() as conn:  # the next test's clean-up deletes rows
        await conn.run_sync(drop_audit_guard)


TENANT = uuid.UUID("00000000-0000-4000-8000-00000000a0d1")


async def write_events(db: Database, count: int, tenant_id: uuid.UUID | None = TENANT) -> list[AuditEvent]:
    events = []
    async with db.sessionmaker() as session:
        ctx = TenantContext(tenant_id, uuid.uuid4()) if tenant_id else None
        for i in range(count):
            events.append(
                await record(session, ctx, "data.exported", object_type="export", object_id=f"e{i}")
            )
        await commit(session)
    return events


async def tamper(db: Database, statement: Any) -> None:
    """What someone with SQL access could do: drop the guard, change rows."""
    async with db.engine.begin() as conn:
        await conn.run_sync(drop_audit_guard)
        await conn.execute(statement)


def run_cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HUIKE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, ["audit", "verify", "--batch-size", "3"])
    finally:
        get_settings.cache_clear()


class TestVerify:
    async def test_intact_chains_verify(self, audit_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        await write_events(audit_db, 7)
        await write_events(audit_db, 2, tenant_id=None)
        report = await verify_chains(audit_db.read_sessionmaker, batch_size=3)
        assert report.ok, report.broken
        assert (report.checked, report.chains) == (9, 2)
        result = await asyncio.to_thread(run_cli, audit_db, monkeypatch)
        assert result.exit_code == 0, result.output
        assert "9 events" in result.output

    async def test_a_modified_row_is_flagged(
        self, audit_db: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events = await write_events(audit_db, 5)
        async with audit_db.engine.begin() as conn:
            await conn.run_sync(install_audit_guard)
        target = events[2]
        with pytest.raises(DBAPIError):
            async with audit_db.engine.begin() as conn:
                await conn.execute(
                    update(AuditEvent).where(AuditEvent.id == target.id).values(result="denied")
                )
        await tamper(audit_db, update(AuditEvent).where(AuditEvent.id == target.id).values(result="denied"))
        report = await verify_chains(audit_db.read_sessionmaker, batch_size=2)
        [broken] = report.broken
        assert (broken.seq, broken.event_id, broken.problem) == (3, target.id, "hash")
        assert broken.stored == target.hash
        assert broken.expected != target.hash
        result = await asyncio.to_thread(run_cli, audit_db, monkeypatch)
        assert result.exit_code == 1
        assert str(target.id) in result.output
        assert target.hash in result.output

    async def test_a_rehashed_row_breaks_the_next_link(self, audit_db: Database) -> None:
        events = await write_events(audit_db, 4)
        async with audit_db.sessionmaker() as session:
            row = await session.get(AuditEvent, events[1].id)
            assert row is not None
            row.result = "denied"
            forged = row.compute_hash()
        await tamper(
            audit_db,
            update(AuditEvent).where(AuditEvent.id == events[1].id).values(result="denied", hash=forged),
        )
        [broken] = (await verify_chains(audit_db.read_sessionmaker)).broken
        assert (broken.seq, broken.problem, broken.expected, broken.stored) == (
            3,
            "link",
            forged,
            events[1].hash,
        )

    @pytest.mark.parametrize(("index", "problem"), [(0, "gap"), (2, "gap"), (4, "head")])
    async def test_a_deleted_row_is_flagged(self, audit_db: Database, index: int, problem: str) -> None:
        events = await write_events(audit_db, 5)
        await tamper(audit_db, delete(AuditEvent).where(AuditEvent.id == events[index].id))
        [broken] = (await verify_chains(audit_db.read_sessionmaker, batch_size=2)).broken
        assert broken.problem == problem
        assert broken.seq == (index + 2 if problem == "gap" else 5)


class TestConcurrency:
    async def test_parallel_writers_keep_one_chain(self, audit_db: Database) -> None:
        async def writer(i: int) -> int:
            async with audit_db.sessionmaker() as session:
                event = await record(
                    session, TenantContext(TENANT), "data.exported", object_type="export", object_id=f"w{i}"
                )
                await asyncio.sleep(0.01)  # hold the chain head a while
                await commit(session)
                return event.seq

        seqs = await asyncio.gather(*(writer(i) for i in range(8)))
        assert sorted(seqs) == list(range(1, 9))
        report = await verify_chains(audit_db.read_sessionmaker)
        assert report.ok, report.broken
        assert report.checked == 8

    async def test_second_writer_waits_for_the_first_and_follows_its_outcome(
        self, audit_db: Database
    ) -> None:
        ctx = TenantContext(TENANT)
        for outcome in ("commit", "rollback"):
            first = audit_db.sessionmaker()
            event = await record(first, ctx, "role.changed", object_type="user", object_id="first")

            async def second() -> AuditEvent:
                async with audit_db.sessionmaker() as session:
                    row = await record(session, ctx, "role.changed", object_type="user", object_id="second")
                    await commit(session)
                    return row

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second writer must wait for the chain head"
            if outcome == "commit":
                await commit(first)
            else:
                await rollback(first)
            await first.close()
            follower = await asyncio.wait_for(waiting, 30)
            if outcome == "commit":
                assert (follower.seq, follower.prev_hash) == (event.seq + 1, event.hash)
            else:
                assert follower.seq == event.seq
        report = await verify_chains(audit_db.read_sessionmaker)
        assert report.ok, report.broken
        assert report.checked == 3


# --- API -------------------------------------------------------------------------------------------


async def seed(session: AsyncSession, tenant: Tenant, actor: uuid.UUID) -> list[AuditEvent]:
    ctx = TenantContext(tenant.id, actor)
    other = TenantContext(tenant.id, uuid.uuid4())
    events = [
        await record(session, ctx, "auth.login.succeeded", object_type="user", object_id=actor),
        await record(
            session, other, "auth.login.failed", object_type="user", object_id=other.user_id, result="failure"
        ),
        await record(session, ctx, "authz.probe", object_type="user", object_id=actor),
        await record(
            session,
            ctx,
            "role.changed",
            object_type="user",
            object_id=other.user_id,
            details={"role": {"to": "admin"}},
        ),
        await record(
            session, other, "data.revealed", object_type="contact", object_id="c-9", result="denied"
        ),
    ]
    await session.commit()
    return events


async def login(client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> None:
    from tests.conftest import user_with_role  # the audit log needs audit.view (huike.permission)

    _, token = await start_session(session, tenant.id, await user_with_role(session, tenant.id, "admin"))
    await session.commit()
    client.cookies.set(SESSION_COOKIE, token)


class TestApi:
    async def test_requires_a_session(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/audit-events")).status_code == 401

    async def test_filters(self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> None:
        actor = uuid.uuid4()
        events = await seed(session, tenant, actor)

        async def ids(**params: str) -> list[str]:
            response = await logged_in.get("/api/v1/audit-events", params=params)
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        everything = [str(e.id) for e in reversed(events)]
        assert await ids() == everything
        assert await ids(action="auth") == [str(events[1].id), str(events[0].id)]
        assert await ids(action="auth.") == [str(events[1].id), str(events[0].id)]
        assert await ids(action="auth.login.failed") == [str(events[1].id)]
        assert await ids(action="authz") == [str(events[2].id)]
        assert await ids(actor_id=str(actor)) == [str(events[3].id), str(events[2].id), str(events[0].id)]
        assert await ids(object_type="contact", object_id="c-9") == [str(events[4].id)]
        assert await ids(result="failure") == [str(events[1].id)]
        assert await ids(since=events[3].occurred_at.isoformat()) == [str(events[4].id), str(events[3].id)]
        assert await ids(until=events[1].occurred_at.isoformat()) == [str(events[0].id)]
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert await ids(since=future) == []
        bad = await logged_in.get("/api/v1/audit-events", params={"action": "auth%"})
        assert bad.status_code == 422
        naive = await logged_in.get("/api/v1/audit-events", params={"since": "2026-01-01T00:00:00"})
        assert naive.status_code == 422

    async def test_keyset_pagination(
        self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        events = await seed(session, tenant, uuid.uuid4())
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await logged_in.get("/api/v1/audit-events", params=params)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [str(e.id) for e in reversed(events)]
        bad = await logged_in.get("/api/v1/audit-events", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400

    async def test_one_event_and_tenant_isolation(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        other_tenant: Tenant,
    ) -> None:
        events = await seed(session, tenant, uuid.uuid4())
        await login(client, session, tenant)
        response = await client.get(f"/api/v1/audit-events/{events[3].id}")
        assert response.status_code == 200
        body = response.json()
        assert (body["action"], body["seq"], body["hash"], body["details"]) == (
            "role.changed",
            events[3].seq,
            events[3].hash,
            {"role": {"to": "admin"}},
        )
        await login(client, session, other_tenant)
        assert (await client.get("/api/v1/audit-events")).json()["items"] == []
        foreign = await client.get(f"/api/v1/audit-events/{events[3].id}")
        missing = await client.get(f"/api/v1/audit-events/{uuid.uuid4()}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json()

    async def test_platform_events_are_not_shown_to_tenants(
        self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        await record(
            session,
            None,
            "auth.login.failed",
            object_type="account",
            object_id=None,
            result="failure",
            tenant_id=None,
        )
        await session.commit()
        assert (await logged_in.get("/api/v1/audit-events")).json()["items"] == []


# --- the audit row shares the action's fate ---------------------------------------------------------

probe = make_router(prefix="/api/v1/_probe_audit", tag="probe")


@probe.post("/roles/{outcome}")
async def change_role(
    session: SessionDep, ctx: CurrentTenant, outcome: str, request: Request
) -> dict[str, str]:
    details = {"role": {"to": "admin"}} if outcome != "leaky" else {"to": "13812345678"}
    event = await record(
        session, ctx, "role.changed", object_type="user", object_id="u-1", request=request, details=details
    )
    if outcome == "fail":
        raise Conflict()
    return {"id": str(event.id)}


class TestTransaction:
    @pytest_asyncio.fixture
    async def probe_client(self, app: FastAPI, logged_in: httpx.AsyncClient) -> httpx.AsyncClient:
        add_probe_router(app, probe)
        return logged_in

    async def count(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        statement = select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        return int((await session.execute(statement)).scalar_one())

    async def test_audit_row_rolls_back_with_a_failed_action(
        self, probe_client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        tenant_id = tenant.id  # a rolled-back request expires the loaded rows
        failed = await probe_client.post("/api/v1/_probe_audit/roles/fail")
        assert failed.status_code == 409
        assert await self.count(session, tenant_id) == 0
        leaky = await probe_client.post("/api/v1/_probe_audit/roles/leaky")
        assert leaky.status_code == 500
        assert leaky.json()["error"]["code"] == "audit.personal_data"
        assert "13812345678" not in leaky.text
        assert await self.count(session, tenant_id) == 0
        done = await probe_client.post("/api/v1/_probe_audit/roles/ok")
        assert done.status_code == 200
        rows = await chain_of(session, str(tenant_id))
        assert [(str(row.id), row.seq) for row in rows] == [(done.json()["id"], 1)]
        assert rows[0].ip == "127.0.0.1"
        assert rows[0].request_id is not None
