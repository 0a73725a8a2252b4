"""The group list reads only (ADR 0010): on a database where work really commits, listing groups while a
sync holds SQLite's write lock answers at once with what is committed, and writes nothing. Only the
first page of a list filtered by owner (``owner_id``, or ``owner_userid`` as the console's owner filter
sends it) gets a write session: it audits a view of another member's group list (R-ADM-1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from starlette.requests import Request
from structlog.testing import capture_logs

from huike.app import create_app
from huike.config import Settings
from huike.core import db
from huike.core.db import Database, commit
from huike.core.tenancy import TenantContext
from huike.group_chat import router as group_router
from huike.group_chat import service
from huike.group_chat.models import GroupChat, GroupChatMember, MemberType
from huike.member.models import Member
from huike.privacy.audit.models import AuditEvent
from huike.security.sessions import SESSION_COOKIE, start_session
from huike.tenant.models import Tenant
from tests.conftest import user_with_role

GROUPS = 5


@dataclass
class Live:
    client: httpx.AsyncClient
    db: Database
    tenant_id: uuid.UUID
    chat_ids: list[str]


@pytest_asyncio.fixture
async def live(settings: Settings, clean_db: Database) -> AsyncIterator[Live]:
    """An app on the module's committed database (GETs get real read sessions), a tenant with groups
    and an admin's session."""
    app: FastAPI = create_app(settings.model_copy(update={"database_url": clean_db.url}), database=clean_db)
    async with app.router.lifespan_context(app):
        created = datetime(2026, 1, 1, tzinfo=UTC)
        async with clean_db.sessionmaker() as session:
            tenant = Tenant(name=f"群列表只读 {uuid.uuid4().hex[:6]}")
            session.add(tenant)
            await session.flush()
            user_id = await user_with_role(session, tenant.id, "admin")
            chat_ids = [f"wr-readonly-{n}" for n in range(GROUPS)]
            for n, chat_id in enumerate(chat_ids):
                group = GroupChat(
                    tenant_id=tenant.id,
                    chat_id=chat_id,
                    name=f"只读群{n}",
                    owner_userid="owner-a",
                    wecom_created_at=created + timedelta(days=n),
                    member_count=1,
                )
                session.add(group)
                await session.flush()
                session.add(
                    GroupChatMember(
                        tenant_id=tenant.id,
                        group_chat_id=group.id,
                        userid=f"wm-readonly-{n}",
                        member_type=MemberType.external,
                        display_name=f"路人{n}",
                    )
                )
            _, token = await start_session(session, tenant.id, user_id)
            tenant_id = tenant.id
            await commit(session)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.cookies.set(SESSION_COOKIE, token)
            yield Live(client, clean_db, tenant_id, chat_ids)


async def test_listing_groups_while_a_sync_writes_answers_from_what_is_committed(live: Live) -> None:
    before = await live.client.get("/api/v1/group-chats")
    assert before.status_code == 200, before.text
    assert before.json()["total"] == GROUPS
    gone = live.chat_ids[0]
    # a sync's transaction (here: a dismiss callback) that has written and not committed yet: on SQLite
    # it holds the write lock, which a GET with a write session would wait for and then fail on
    async with live.db.sessionmaker() as job:
        event = {
            "ChatId": gone,
            "ChangeType": "dismiss",
            "CreateTime": str(int(datetime.now(UTC).timestamp())),
        }
        await service.on_chat_event(job, TenantContext.system(live.tenant_id), event)
        await job.flush()
        with capture_logs() as logs:
            during = await live.client.get("/api/v1/group-chats")
            page = await live.client.get("/api/v1/group-chats", params={"limit": 2})
            following = await live.client.get(
                "/api/v1/group-chats", params={"limit": 2, "cursor": page.json()["next_cursor"]}
            )
        assert during.status_code == 200, during.text
        assert during.json() == before.json()  # the uncommitted dismissal is not seen
        assert page.status_code == following.status_code == 200
        assert [e for e in logs if e["event"] == "db.write_in_read_session"] == []
        await commit(job)
    after = (await live.client.get("/api/v1/group-chats")).json()
    assert {g["chat_id"]: g["status"] for g in after["items"]}[gone] == "dismissed"
    dismissed = await live.client.get("/api/v1/group-chats", params={"status": "dismissed"})
    assert [g["chat_id"] for g in dismissed.json()["items"]] == [gone]


def _request(query: bytes) -> Request:
    route = next(r for r in group_router.router.routes if getattr(r, "path", "") == "/api/v1/group-chats")
    return Request({"type": "http", "method": "GET", "route": route, "query_string": query})


def test_only_the_audited_first_page_of_a_list_by_owner_gets_a_write_session() -> None:
    owner = str(uuid.uuid4())
    assert not db._route_writes(_request(b""))
    assert not db._route_writes(_request(b"keyword=VIP&status=normal&tag_id=" + owner.encode()))
    assert db._route_writes(_request(f"owner_id={owner}".encode()))
    assert not db._route_writes(_request(f"owner_id={owner}&cursor=abc".encode()))
    # the console's owner filter: by UserID, audited the same way
    assert db._route_writes(_request(b"keyword=VIP&status=normal&owner_userid=zhangsan"))
    assert not db._route_writes(_request(b"owner_userid=zhangsan&cursor=abc"))


async def test_the_owner_filter_audits_its_first_page_and_only_it_writes(live: Live) -> None:
    """On a database where work really commits: the console's owner filter (``owner_userid``) on
    another member commits one F4 row for the first page, none for the next pages, and no request
    writes in a read session."""
    async with live.db.sessionmaker() as session:
        owner = Member(tenant_id=live.tenant_id, wecom_userid="owner-a", name=None)
        session.add(owner)
        await session.flush()
        owner_id = owner.id
        await commit(session)

    async def views() -> list[AuditEvent]:
        async with live.db.read_sessionmaker() as session:
            statement = select(AuditEvent).where(
                AuditEvent.tenant_id == live.tenant_id, AuditEvent.action == "member.groups_viewed"
            )
            return list((await session.execute(statement)).scalars())

    with capture_logs() as logs:
        first = await live.client.get("/api/v1/group-chats", params={"owner_userid": "owner-a", "limit": 2})
        assert first.status_code == 200, first.text
        assert first.json()["total"] == GROUPS
        cursor = first.json()["next_cursor"]
        while cursor:
            following = await live.client.get(
                "/api/v1/group-chats", params={"owner_userid": "owner-a", "limit": 2, "cursor": cursor}
            )
            assert following.status_code == 200, following.text
            cursor = following.json()["next_cursor"]
    assert [e for e in logs if e["event"] == "db.write_in_read_session"] == []
    rows = await views()
    assert [(r.object_id, r.details) for r in rows] == [(str(owner_id), {"members": [str(owner_id)]})]
    # the same view again is another view
    again = await live.client.get("/api/v1/group-chats", params={"owner_userid": "owner-a"})
    assert again.status_code == 200
    assert len(await views()) == 2
