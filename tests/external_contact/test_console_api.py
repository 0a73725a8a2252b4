"""What the console's customer pages rely on: the customer-group filter (list, count, export, bulk
tag), the joined / left group entries of the timeline and the customer's groups, the lost order,
setting a relation's tags through WeCom, and alerts that name the customer."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact.models import BulkTagOperation, ExternalContact
from huike.group_chat import service as group_chat
from huike.group_chat.models import GroupChat
from huike.tag.models import Tag
from tests.external_contact.conftest import CORP, count, wecom_follows
from tests.member.conftest import deliver
from wecom_emulator import EmulatorState, scenarios

pytestmark = pytest.mark.usefixtures("wired")
Emu = tuple[EmulatorState, Any, Any]


@dataclass(frozen=True)
class Group:
    id: uuid.UUID
    chat_id: str
    name: str


async def _groups_synced(session: AsyncSession, tenant_id: uuid.UUID) -> Group:
    await group_chat.sync_from_wecom(session, TenantContext.system(tenant_id), uuid.uuid4())
    await session.commit()
    row = (await session.execute(select(GroupChat).where(GroupChat.tenant_id == tenant_id))).scalars().one()
    return Group(row.id, row.chat_id, row.name)


async def _ids(admin: httpx.AsyncClient, **params: Any) -> set[str]:
    response = await admin.get("/api/v1/external-contacts", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _count(admin: httpx.AsyncClient, **params: Any) -> int:
    response = await admin.get("/api/v1/external-contacts/count", params=params)
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


async def test_group_filter_on_list_count_export_and_bulk_tag(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    group = await _groups_synced(session, customers)
    # two known customers join the group; one of them leaves again
    follows = wecom_follows(state)
    joiner, leaver = follows[0]["external_userid"], follows[1]["external_userid"]
    for external_userid in (joiner, leaver):
        if not state.store.one("SELECT 1 FROM groupchat_member WHERE userid = ?", (external_userid,)):
            scenarios.customer_joins_group(state, CORP, group.chat_id, external_userid=external_userid)
    state.clock.advance(60)
    scenarios.customer_quits_group(state, CORP, group.chat_id, leaver)
    await deliver(session, customers, state)

    in_wecom = {
        row["userid"]
        for row in state.store.all(
            "SELECT m.userid FROM groupchat_member m JOIN groupchat g ON g.pk = m.chat_pk"
            " WHERE g.chat_id = ? AND m.type = 2",
            (group.chat_id,),
        )
    }
    by_userid = {
        c.external_userid: str(c.id)
        for c in (
            await session.execute(select(ExternalContact).where(ExternalContact.tenant_id == customers))
        ).scalars()
    }
    expected = {by_userid[u] for u in in_wecom if u in by_userid}
    assert by_userid[joiner] in expected
    assert by_userid[leaver] not in expected

    total = await _count(admin)
    members = await _ids(admin, group_membership="in", group_chat_id=str(group.id))
    assert members == expected
    assert await _ids(admin, group_chat_id=str(group.id)) == expected  # "in" is the default
    outside = await _ids(admin, group_membership="not_in", group_chat_id=str(group.id))
    assert outside == set(by_userid.values()) - expected
    assert await _ids(admin, group_membership="any") == expected  # the corp has one group
    assert await _count(admin, group_membership="none") == total - len(expected)
    assert await _count(admin, group_membership="in", group_chat_id=str(group.id)) == len(expected)
    # combined with another filter
    wechat = await _ids(admin, contact_type="wechat", group_membership="in", group_chat_id=str(group.id))
    assert wechat <= expected

    missing = await admin.get("/api/v1/external-contacts", params={"group_membership": "in"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "external_contact.group_required")
    unknown = await admin.get("/api/v1/external-contacts/count", params={"group_chat_id": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "external_contact.unknown_group")

    exported = await admin.get(
        "/api/v1/external-contacts/export.csv",
        params={"group_membership": "in", "group_chat_id": str(group.id)},
    )
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == len(expected) + 1

    tag = (
        (await session.execute(select(Tag).where(Tag.tenant_id == customers, Tag.deleted.is_(False))))
        .scalars()
        .first()
    )
    assert tag is not None
    started = await admin.post(
        "/api/v1/external-contacts/bulk-tag",
        json={
            "filters": {"group_membership": "in", "group_chat_id": str(group.id)},
            "add_tag_ids": [str(tag.id)],
        },
    )
    assert started.status_code == 202, started.text
    operation = (await session.execute(select(BulkTagOperation))).scalars().one()
    from huike.external_contact import service

    result = await service.run_bulk_tag(session, customers, operation.id, page_size=2)
    await session.commit()
    assert result["contacts"] == len(expected)
    tagged = await _ids(admin, tag_any=str(tag.id))
    assert expected <= tagged
    refused = await admin.post(
        "/api/v1/external-contacts/bulk-tag",
        json={"filters": {"group_membership": "not_in"}, "add_tag_ids": [str(tag.id)]},
    )
    assert refused.status_code == 422


async def test_timeline_shows_group_joins_and_quits_and_current_groups(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    group = await _groups_synced(session, customers)
    follows = wecom_follows(state)
    external_userid = next(
        f["external_userid"]
        for f in follows
        if not state.store.one("SELECT 1 FROM groupchat_member WHERE userid = ?", (f["external_userid"],))
    )
    contact = (
        await session.execute(
            select(ExternalContact).where(ExternalContact.external_userid == external_userid)
        )
    ).scalar_one()
    state.clock.advance(10)
    scenarios.customer_joins_group(state, CORP, group.chat_id, external_userid=external_userid)
    await deliver(session, customers, state)
    detail = (await admin.get(f"/api/v1/external-contacts/{contact.id}")).json()
    assert [g["id"] for g in detail["groups"]] == [str(group.id)]
    assert detail["groups"][0]["name"] == group.name
    joined = [i for i in detail["timeline"] if i["kind"] == "joined_group"]
    assert len(joined) == 1
    assert (joined[0]["group_chat_id"], joined[0]["group_name"]) == (str(group.id), group.name)

    state.clock.advance(3600)
    scenarios.customer_quits_group(state, CORP, group.chat_id, external_userid)
    await deliver(session, customers, state)
    detail = (await admin.get(f"/api/v1/external-contacts/{contact.id}")).json()
    assert detail["groups"] == []
    kinds = [i["kind"] for i in detail["timeline"]]
    assert kinds.count("joined_group") == 1
    assert kinds.count("left_group") == 1
    assert kinds.index("left_group") < kinds.index("joined_group")  # newest first
    stamps = [i["occurred_at"] for i in detail["timeline"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_lost_order_set_tags_and_named_alerts(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    ascending = (
        await admin.get("/api/v1/external-contacts", params={"order": "added_at", "limit": 200})
    ).json()
    stamps = [i["added_at"] for i in ascending["items"]]
    assert stamps == sorted(stamps)
    assert (await admin.get("/api/v1/external-contacts", params={"order": "name"})).status_code == 422

    follows = wecom_follows(state)
    lost_first, lost_second = follows[3], follows[4]
    scenarios.member_deletes_customer(state, CORP, lost_first["userid"], lost_first["external_userid"])
    await deliver(session, customers, state)
    state.clock.advance(60)
    scenarios.customer_deletes_member(state, CORP, lost_second["userid"], lost_second["external_userid"])
    await deliver(session, customers, state)
    lost = (
        await admin.get(
            "/api/v1/external-contacts", params={"order": "-lost_at", "status": "lost", "limit": 1}
        )
    ).json()
    assert len(lost["items"]) == 1
    assert lost["next_cursor"]
    rest = (
        await admin.get(
            "/api/v1/external-contacts",
            params={"order": "-lost_at", "status": "lost", "limit": 1, "cursor": lost["next_cursor"]},
        )
    ).json()
    page = lost["items"] + rest["items"]
    lost_count = await _count(admin, status="lost")
    assert len(page) == min(2, lost_count)
    assert page[0]["lost_at"] >= page[-1]["lost_at"]
    everyone = (
        await admin.get("/api/v1/external-contacts", params={"order": "-lost_at", "limit": 200})
    ).json()
    assert all(i["lost_at"] for i in everyone["items"])

    alerts = (await admin.get("/api/v1/alerts")).json()
    assert alerts["unread"] == 2
    names = {i["contact_name"] for i in alerts["items"]}
    assert None not in names
    assert "" not in names

    # set a live relation's tags: WeCom first, then here, with the timeline
    item = (await admin.get("/api/v1/external-contacts", params={"status": "active", "limit": 1})).json()[
        "items"
    ][0]
    detail = (await admin.get(f"/api/v1/external-contacts/{item['id']}")).json()
    follow = next(f for f in detail["follow_relations"] if f["status"] == "active")
    tags = (
        (await session.execute(select(Tag).where(Tag.tenant_id == customers, Tag.deleted.is_(False))))
        .scalars()
        .all()
    )
    have = {t["id"] for t in follow["tags"]}
    extra = next(t for t in tags if str(t.id) not in have)
    wanted = [str(extra.id)]
    response = await admin.put(f"/api/v1/follow-relations/{follow['id']}/tags", json={"tag_ids": wanted})
    assert response.status_code == 200, response.text
    after = next(f for f in response.json()["follow_relations"] if f["id"] == follow["id"])
    assert [t["id"] for t in after["tags"]] == wanted
    row = state.store.one(
        "SELECT f.tag_ids FROM follow f JOIN customer c ON c.pk = f.customer_pk"
        " JOIN member m ON m.pk = f.member_pk WHERE c.external_userid = ? AND m.userid = ?",
        (item["external_userid"], follow["member"]["wecom_userid"]),
    )
    assert {t for t in row["tag_ids"].split(",") if t} == {extra.wecom_id}
    kinds = [i["kind"] for i in response.json()["timeline"]]
    assert "tagged" in kinds
    assert ("untagged" in kinds) == bool(have)
    unknown = await admin.put(
        f"/api/v1/follow-relations/{follow['id']}/tags", json={"tag_ids": [str(uuid.uuid4())]}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "external_contact.unknown_tags")
    assert await count(session, ExternalContact, ExternalContact.tenant_id == customers) > 0


async def test_bulk_tag_of_ticked_rows_touches_only_them(
    session: AsyncSession, customers: uuid.UUID, admin: httpx.AsyncClient
) -> None:
    from huike.external_contact import service

    tag = (
        (await session.execute(select(Tag).where(Tag.tenant_id == customers, Tag.deleted.is_(False))))
        .scalars()
        .all()
    )[-1]
    untagged = await _ids(admin, tag_none=str(tag.id), status="active")
    ticked = sorted(untagged)[:2]
    started = await admin.post(
        "/api/v1/external-contacts/bulk-tag",
        json={"filters": {"contact_ids": ticked}, "add_tag_ids": [str(tag.id)]},
    )
    assert started.status_code == 202, started.text
    operation = (await session.execute(select(BulkTagOperation))).scalars().one()
    result = await service.run_bulk_tag(session, customers, operation.id)
    await session.commit()
    assert result["contacts"] == 2
    assert (await _ids(admin, tag_any=str(tag.id))) & untagged == set(ticked)
