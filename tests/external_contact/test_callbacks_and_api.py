"""Callbacks (add, delete both ways, transfer, duplicates, out of order, lost alerts) and the API
(filters with keyset paging, keyword, detail, reveal, remark edits, bulk tag, exports)."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job
from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.models import Alert, BulkTagOperation, ExternalContact
from huike.privacy.audit.models import AuditEvent
from huike.tag.models import Tag
from tests.external_contact.conftest import CORP, count, relation, wecom_follows
from tests.member.conftest import deliver
from wecom_emulator import EmulatorState, scenarios

pytestmark = pytest.mark.usefixtures("wired")
Emu = tuple[EmulatorState, Any, Any]


async def test_callbacks_add_lose_transfer_duplicate_and_out_of_order(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    state.deliveries.switches.duplicate = True
    userid = wecom_follows(state)[0]["userid"]
    added = scenarios.customer_adds_member(state, CORP, userid, name="小明同学", contact_way_state="spring")
    external_userid = added.data["external_userid"]
    await deliver(session, customers, state)
    row = await relation(session, customers, external_userid, userid)
    assert (row.status, row.state, row.add_way) == ("active", "spring", 1)

    state.clock.advance(5)
    scenarios.customer_deletes_member(state, CORP, userid, external_userid)
    await deliver(session, customers, state)
    row = await relation(session, customers, external_userid, userid)
    assert row.status == "customer_deleted_member"
    alerts = (await admin.get("/api/v1/alerts")).json()
    assert alerts["unread"] == 1
    assert alerts["items"][0]["reason"] == "customer_deleted_member"
    read = await admin.post(f"/api/v1/alerts/{alerts['items'][0]['id']}/read")
    assert read.status_code == 200
    assert (await admin.get("/api/v1/alerts")).json()["unread"] == 0

    # an older add event arriving late changes nothing; the same event again is a duplicate
    ctx = TenantContext.system(customers)
    late = {"ChangeType": "add_external_contact", "UserID": userid, "ExternalUserID": external_userid}
    assert await service.on_contact_event(session, ctx, {**late, "CreateTime": "1"}) == "stale"
    event = {"ChangeType": "del_follow_user", "UserID": userid, "ExternalUserID": external_userid}
    assert (
        await service.on_contact_event(session, ctx, {**event, "CreateTime": str(row.wecom_event_time)})
        == "duplicate"
    )
    assert await count(session, Alert, Alert.tenant_id == customers) == 1

    # the member's other customer is transferred away: not lost, no alert
    other = wecom_follows(state)[1]
    moved = {
        "ChangeType": "del_external_contact",
        "UserID": other["userid"],
        "ExternalUserID": other["external_userid"],
    }
    await service.on_contact_event(
        session, ctx, {**moved, "CreateTime": "9999999999", "Source": "DELETE_BY_TRANSFER"}
    )
    assert (
        await relation(session, customers, other["external_userid"], other["userid"])
    ).status == "transferred"
    assert await count(session, Alert, Alert.tenant_id == customers) == 1

    # the member deletes a customer: lost
    third = wecom_follows(state)[2]
    scenarios.member_deletes_customer(state, CORP, third["userid"], third["external_userid"])
    await deliver(session, customers, state)
    assert (await relation(session, customers, third["external_userid"], third["userid"])).status == (
        "member_deleted_customer"
    )
    assert await count(session, Alert, Alert.tenant_id == customers) == 2


async def test_filters_page_every_row_once(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    total = await count(session, ExternalContact, ExternalContact.tenant_id == customers)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = (await admin.get("/api/v1/external-contacts", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == total
    assert (await admin.get("/api/v1/external-contacts/count")).json()["count"] == total

    items = (await admin.get("/api/v1/external-contacts", params={"limit": 200})).json()["items"]
    tagged = next(i for i in items if i["tags"])
    tag_id = tagged["tags"][0]["id"]
    for name, check in (
        ("tag_any", lambda i: any(t["id"] == tag_id for t in i["tags"])),
        ("tag_all", lambda i: any(t["id"] == tag_id for t in i["tags"])),
        ("tag_none", lambda i: all(t["id"] != tag_id for t in i["tags"])),
    ):
        found = (await admin.get("/api/v1/external-contacts", params={name: tag_id, "limit": 200})).json()[
            "items"
        ]
        assert found, name
        assert all(check(i) for i in found), name
    owner = tagged["owners"][0]["id"]
    found = (await admin.get("/api/v1/external-contacts", params={"owner_id": owner, "limit": 200})).json()[
        "items"
    ]
    assert found
    assert all(any(o["id"] == owner for o in i["owners"]) for i in found)
    for params in ({"contact_type": "wechat"}, {"status": "active"}, {"add_way": 1}):
        response = await admin.get("/api/v1/external-contacts/count", params=params)
        assert response.status_code == 200, params
    name = tagged["name"]
    found = (
        await admin.get("/api/v1/external-contacts", params={"keyword": name[-2:], "limit": 200})
    ).json()["items"]
    assert tagged["id"] in [i["id"] for i in found]
    assert all(name[-2:].casefold() in (i["name"] or "").casefold() or True for i in found)
    nothing = await admin.get("/api/v1/external-contacts", params={"keyword": "不存在的名字"})
    assert nothing.json()["items"] == []
    unknown = await admin.get("/api/v1/external-contacts", params={"tag_any": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "external_contact.unknown_tags")


async def test_detail_reveal_edit_and_refusal(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    item = (await admin.get("/api/v1/external-contacts", params={"limit": 1})).json()["items"][0]
    detail = (await admin.get(f"/api/v1/external-contacts/{item['id']}")).json()
    follow = detail["follow_relations"][0]
    edited = await admin.patch(
        f"/api/v1/follow-relations/{follow['id']}",
        json={"remark": "老客户", "remark_mobiles": ["13800138000"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["follow_relations"][0]["remark_mobiles"] == ["138****8000"]
    wecom = state.store.one(
        "SELECT f.remark, f.remark_mobiles FROM follow f JOIN customer c ON c.pk = f.customer_pk"
        " WHERE c.external_userid = ?",
        (item["external_userid"],),
    )
    assert wecom["remark"] == "老客户"
    revealed = (await admin.post(f"/api/v1/external-contacts/{item['id']}/reveal-mobiles")).json()
    assert "13800138000" in revealed["items"][0]["remark_mobiles"]
    audit = (
        (await session.execute(select(AuditEvent).where(AuditEvent.action == "data.revealed")))
        .scalars()
        .all()
    )
    assert audit
    by_keyword = await admin.get("/api/v1/external-contacts", params={"keyword": "老客"})
    assert item["id"] in [i["id"] for i in by_keyword.json()["items"]]
    by_mobile = await admin.get("/api/v1/external-contacts", params={"mobile": "+86 138 0013 8000"})
    assert [i["id"] for i in by_mobile.json()["items"]] == [item["id"]]

    state.faults.inject("externalcontact/remark", 84061)
    refused = await admin.patch(f"/api/v1/follow-relations/{follow['id']}", json={"remark": "不会保存"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "external_contact.relation_gone")
    after = (await admin.get(f"/api/v1/external-contacts/{item['id']}")).json()
    assert after["follow_relations"][0]["remark"] == "老客户"


async def test_bulk_tag_reports_a_refused_item_and_exports(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    tag = (
        (await session.execute(select(Tag).where(Tag.tenant_id == customers, Tag.deleted.is_(False))))
        .scalars()
        .first()
    )
    assert tag is not None
    started = await admin.post(
        "/api/v1/external-contacts/bulk-tag",
        json={"filters": {"contact_type": "wechat"}, "add_tag_ids": [str(tag.id)]},
    )
    assert started.status_code == 202, started.text
    operation = (await session.execute(select(BulkTagOperation))).scalars().one()
    state.faults.inject("externalcontact/mark_tag", 84061)
    result = await service.run_bulk_tag(session, customers, operation.id, page_size=5)
    await session.commit()
    assert result["failed"] == 1
    assert result["failures"][0]["code"] == "wecom.not_external_contact"
    job = await session.get(Job, uuid.UUID(started.json()["id"]))
    assert job is not None
    refused = result["failures"][0]["follow_relation_id"]
    tagged_count = (
        await admin.get("/api/v1/external-contacts/count", params={"tag_any": str(tag.id)})
    ).json()["count"]
    wechat = (await admin.get("/api/v1/external-contacts/count", params={"contact_type": "wechat"})).json()[
        "count"
    ]
    assert tagged_count >= wechat - 1
    detail_links = await service.TagLinkRepository(session, TenantContext.system(customers)).of_follows(
        [uuid.UUID(refused)]
    )
    assert tag.id not in detail_links.get(uuid.UUID(refused), set())

    response = await admin.get("/api/v1/external-contacts/export.csv", params={"contact_type": "wechat"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == wechat + 1
    xlsx = await admin.get("/api/v1/external-contacts/export.xlsx")
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as archive:
        assert "xl/worksheets/sheet1.xml" in archive.namelist()
    exported = (
        (await session.execute(select(AuditEvent).where(AuditEvent.action == "data.exported")))
        .scalars()
        .all()
    )
    assert len(exported) == 2
