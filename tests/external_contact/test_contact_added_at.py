"""Tag links and relations repeat their customer's added_at (``contact_added_at``): the list walks
their indexes in that order, so the copies must equal the customer's column after every write — a
full sync, a callback that brings an earlier relation (the customer's added_at moves back), a
re-sync that finds one, and tag changes from the console or a bulk job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.external_contact import service
from huike.external_contact.models import BulkTagOperation, ContactTag, ExternalContact, FollowRelation
from huike.tag.models import Tag
from tests.external_contact.conftest import CORP, sync_customers
from tests.member.conftest import deliver
from wecom_emulator import EmulatorState, scenarios

pytestmark = pytest.mark.usefixtures("wired")
Emu = tuple[EmulatorState, Any, Any]


async def assert_repeated(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Every relation's and tag link's ``contact_added_at`` equals its customer's ``added_at``."""
    session.expire_all()
    for model in (FollowRelation, ContactTag):
        rows = (
            await session.execute(
                select(model.id, model.contact_added_at, ExternalContact.added_at)
                .join(ExternalContact, ExternalContact.id == model.contact_id)
                .where(model.tenant_id == tenant_id)
            )
        ).all()
        assert rows, model.__tablename__
        wrong = [(row_id, copy, added) for row_id, copy, added in rows if copy != added]
        assert not wrong, (model.__tablename__, len(wrong), wrong[:3])


async def _added_at(session: AsyncSession, tenant_id: uuid.UUID, external_userid: str) -> datetime:
    session.expire_all()
    found = await session.scalar(
        select(ExternalContact.added_at).where(
            ExternalContact.tenant_id == tenant_id, ExternalContact.external_userid == external_userid
        )
    )
    assert found is not None
    return found


def _tagged_customer_and_stranger(state: EmulatorState, skip: set[str]) -> tuple[Any, str, int]:
    """A customer whose relations carry tags, a member who does not follow them, and the earliest
    createtime of the customer's relations."""
    rows = state.store.all(
        "SELECT c.pk, c.external_userid, min(f.createtime) AS first FROM customer c JOIN follow f"
        " ON f.customer_pk = c.pk GROUP BY c.pk HAVING sum(f.tag_ids != '') > 0 ORDER BY c.pk"
    )
    for row in rows:
        if row["external_userid"] in skip:
            continue
        stranger = state.store.one(
            "SELECT m.userid FROM member m WHERE m.customer_contact = 1 AND m.pk NOT IN"
            " (SELECT member_pk FROM follow WHERE customer_pk = ?) ORDER BY m.pk",
            (row["pk"],),
        )
        if stranger is not None:
            return row, stranger["userid"], int(row["first"])
    raise AssertionError("no tagged customer with a member left to add")


async def _listed_newest_first(admin: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 5, **({"cursor": cursor} if cursor else {})}
        body = (await admin.get("/api/v1/external-contacts", params=query)).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


async def test_copies_follow_the_customer_through_sync_callbacks_and_tag_changes(
    session: AsyncSession, customers: uuid.UUID, emulator: Emu, admin: httpx.AsyncClient
) -> None:
    state = emulator[0]
    # the full sync: links of a customer's later relations carry the customer's time, not theirs
    await assert_repeated(session, customers)
    later = await session.scalar(
        select(func.count())
        .select_from(ContactTag)
        .join(FollowRelation, FollowRelation.id == ContactTag.follow_id)
        .where(ContactTag.tenant_id == customers, FollowRelation.added_at != FollowRelation.contact_added_at)
    )
    assert later, "the corp has tagged relations added after their customer's first"

    # a callback brings a relation older than every one we hold: the customer moves back in time
    row, userid, first = _tagged_customer_and_stranger(state, set())
    external_userid = row["external_userid"]
    before = await _added_at(session, customers, external_userid)
    scenarios.customer_adds_member(state, CORP, userid, external_userid=external_userid)
    earlier = first - 86_400
    state.store.conn.execute(
        "UPDATE follow SET createtime = ? WHERE customer_pk = ? AND member_pk ="
        " (SELECT pk FROM member WHERE userid = ?)",
        (earlier, row["pk"], userid),
    )
    await deliver(session, customers, state)
    moved = await _added_at(session, customers, external_userid)
    assert moved < before
    assert int(moved.timestamp()) == earlier
    await assert_repeated(session, customers)
    # and the list filtered by one of its tags (walked on the tag's index) shows it at its new time
    tag_id = (
        (
            await session.execute(
                select(ContactTag.tag_id)
                .join(ExternalContact, ExternalContact.id == ContactTag.contact_id)
                .where(ContactTag.tenant_id == customers, ExternalContact.external_userid == external_userid)
                .order_by(ContactTag.tag_id)
            )
        )
        .scalars()
        .first()
    )
    items = await _listed_newest_first(admin, {"tag_any": str(tag_id)})
    times = [datetime.fromisoformat(i["added_at"]) for i in items]
    assert times == sorted(times, reverse=True)
    assert [
        datetime.fromisoformat(i["added_at"]) for i in items if i["external_userid"] == external_userid
    ] == [moved]

    # a full sync finds an earlier relation nobody called back about (with a tag of its own)
    row, userid, first = _tagged_customer_and_stranger(state, {external_userid})
    member_pk = state.store.one("SELECT pk FROM member WHERE userid = ?", (userid,))["pk"]
    tags = state.store.one("SELECT tag_ids FROM follow WHERE customer_pk = ? AND tag_ids != ''", (row["pk"],))
    state.store.conn.execute(
        "INSERT INTO follow (corp_pk, customer_pk, member_pk, createtime, tag_ids, add_way, oper_userid)"
        " SELECT corp_pk, ?, ?, ?, ?, 1, ? FROM customer WHERE pk = ?",
        (row["pk"], member_pk, first - 3_600, tags["tag_ids"], userid, row["pk"]),
    )
    await sync_customers(session, customers)
    assert int((await _added_at(session, customers, row["external_userid"])).timestamp()) == first - 3_600
    await assert_repeated(session, customers)

    # tags set in the console on a relation added after the customer's first, then added to many
    # customers by a bulk job
    contact_id, follow_id = (
        await session.execute(
            select(FollowRelation.contact_id, FollowRelation.id)
            .where(
                FollowRelation.tenant_id == customers,
                FollowRelation.status == "active",
                FollowRelation.added_at > FollowRelation.contact_added_at,
            )
            .order_by(FollowRelation.id)
            .limit(1)
        )
    ).one()
    detail = (await admin.get(f"/api/v1/external-contacts/{contact_id}")).json()
    follow = next(f for f in detail["follow_relations"] if f["id"] == str(follow_id))
    live = [
        str(t)
        for t in (
            await session.execute(select(Tag.id).where(Tag.tenant_id == customers, Tag.deleted.is_(False)))
        ).scalars()
    ]
    have = {t["id"] for t in follow["tags"]}
    extra = next(t for t in live if t not in have)
    response = await admin.put(
        f"/api/v1/follow-relations/{follow['id']}/tags", json={"tag_ids": sorted(have | {extra})}
    )
    assert response.status_code == 200, response.text
    await assert_repeated(session, customers)
    started = await admin.post(
        "/api/v1/external-contacts/bulk-tag",
        json={"filters": {"status": "active"}, "add_tag_ids": [live[-1]]},
    )
    assert started.status_code == 202, started.text
    operation = (await session.execute(select(BulkTagOperation))).scalars().one()
    result = await service.run_bulk_tag(session, customers, operation.id, page_size=7)
    await session.commit()
    assert result["updated"] > 0
    await assert_repeated(session, customers)
