"""A filtered page starts from the narrowest filter's own index when it admits few customers; in the
added_at order it can walk a tag's or member's index, which yields that filter's customers already
in the list's order; otherwise it is first looked for among the next few customers in the list's
order, then (when they hold too few matches) by the unbounded query: whichever way, the pages are
the same."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.models import ContactTag, FollowRelation
from huike.external_contact.repository import ContactRepository
from huike.external_contact.schemas import ContactFilters

pytestmark = pytest.mark.usefixtures("wired")


def _paths() -> list[tuple[str, dict[str, int]]]:
    """Every way a page can be found, as the class settings that force it; a window of 1 or 3 holds
    too few matches, so the next step (a larger window, then gathering every match) decides."""
    runs, pick = ContactRepository.RUNS, ContactRepository.PICK  # RUNS 0: no tag or member walk
    return [
        *((f"window {w}", {"RUNS": 0, "LEAD": 0, "WINDOW": w}) for w in (1, 3)),
        ("window lead", {"RUNS": 0, "LEAD": 1_000_000, "WINDOW": 1_000_000}),
        # PICK 2: which filter is walked is decided by the second customer of each
        *((f"stream {w}", {"RUNS": runs, "LEAD": 0, "WINDOW": w, "PICK": 2}) for w in (1, 3)),
        ("stream 1000000", {"RUNS": runs, "LEAD": 0, "WINDOW": 1_000_000, "PICK": pick}),
        ("stream lead", {"RUNS": runs, "LEAD": 1_000_000, "WINDOW": 1_000_000, "PICK": pick}),
    ]


def _force(monkeypatch: pytest.MonkeyPatch, settings: dict[str, int]) -> None:
    for name, value in settings.items():
        monkeypatch.setattr(ContactRepository, name, value)


async def _walk(admin: httpx.AsyncClient, params: dict[str, Any], order: str) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 6, "order": order, **({"cursor": cursor} if cursor else {})}
        response = await admin.get("/api/v1/external-contacts", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return seen


async def _tag_twice(admin: httpx.AsyncClient, items: list[dict[str, Any]]) -> tuple[str, str]:
    """A customer carrying one tag on two of its relations (its links then appear twice in that
    tag's index, and a walk of the tag must list it once): set through the API, as a user would."""
    for item in items:
        detail = (await admin.get(f"/api/v1/external-contacts/{item['id']}")).json()
        live = [f for f in detail["follow_relations"] if f["status"] == "active"]
        for first in live:
            for second in live:
                have = {t["id"] for t in second["tags"]}
                missing = [t["id"] for t in first["tags"] if t["id"] not in have]
                if first is not second and missing:
                    body = {"tag_ids": sorted(have | {missing[0]})}
                    response = await admin.put(f"/api/v1/follow-relations/{second['id']}/tags", json=body)
                    assert response.status_code == 200, response.text
                    return item["id"], missing[0]
    raise AssertionError("no customer with two live relations, one tagged")


async def test_windowed_pages_equal_unbounded_pages(
    customers: uuid.UUID, admin: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = (await admin.get("/api/v1/external-contacts", params={"limit": 200})).json()["items"]
    tagged = next(i for i in items if i["tags"])
    tag, owner = tagged["tags"][0]["id"], tagged["owners"][0]["id"]
    both = next(i for i in items if len(i["tags"]) >= 2)  # every one of two tags
    two = [t["id"] for t in both["tags"][:2]]
    twice_contact, twice_tag = await _tag_twice(admin, items)
    other_tag = next(t["id"] for i in items for t in i["tags"] if t["id"] not in (tag, twice_tag))
    owners = sorted({o["id"] for i in items for o in i["owners"] if o["id"]})
    middle = sorted(i["added_at"] for i in items)[len(items) // 2]
    cases: list[dict[str, Any]] = [
        {"tag_any": tag},
        {"tag_all": tag},
        {"tag_none": tag},
        {"owner_id": owner},
        {"keyword": (tagged["name"] or "x")[-1:]},
        {"status": "active", "tag_any": tag},
        {"tag_any": tag, "owner_id": owner},
        {"tag_all": two},
        # added here: the walks of tag and member indexes with every other kind of filter probed
        {"tag_any": twice_tag},
        {"tag_all": [twice_tag, tag]},
        {"tag_any": [tag, twice_tag, other_tag]},
        {"tag_all": two, "owner_id": owner},
        {"tag_any": [tag, other_tag], "tag_none": twice_tag},
        {"owner_id": owners[:3], "tag_any": twice_tag},
        {"owner_id": owners[:2], "added_from": middle},
        {"tag_any": [tag, other_tag], "added_to": middle},
        {"tag_any": [tag, twice_tag], "contact_type": "wechat", "status": "active"},
        {"tag_all": two, "keyword": (both["name"] or "x")[-1:]},
        {"tag_any": [tag, other_tag], "group_membership": "none"},
    ]
    paths = _paths()
    empty = 0
    for order in ("-added_at", "added_at"):
        for params in cases:
            _force(monkeypatch, {"RUNS": 0, "LEAD": 0, "WINDOW": 1_000_000})  # the plain walk of the list
            unbounded = await _walk(admin, params, order)
            empty += not unbounded
            counted = await admin.get("/api/v1/external-contacts/count", params=params)
            assert counted.json()["count"] == len(unbounded), params
            for name, settings in paths:
                _force(monkeypatch, settings)
                assert await _walk(admin, params, order) == unbounded, (params, order, name)
            if params == {"tag_any": twice_tag}:  # listed once, though two of its links match
                assert unbounded.count(twice_contact) == 1
    assert empty <= 4  # the cases are not vacuous


async def _pages(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters, descending: bool
) -> list[Any]:
    resolved = await service.resolve(session, ctx, filters)
    seen: list[uuid.UUID] = []
    cursor: tuple[datetime, uuid.UUID] | None = None
    while True:
        found, more = await service.select_contacts(
            session, ctx, resolved, None, cursor=cursor, limit=3, descending=descending
        )
        page = found[:3]
        seen += [c.id for c, _ in page]
        if not more:
            return seen
        cursor = (page[-1][0].added_at, page[-1][0].id)


async def test_data_scope_pages_equal_on_every_path(
    customers: uuid.UUID, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data scope (the members whose customers a user sees) is walked like an owner filter."""
    members = list(
        (
            await session.execute(
                select(FollowRelation.member_id)
                .where(FollowRelation.tenant_id == customers, FollowRelation.member_id.is_not(None))
                .group_by(FollowRelation.member_id)
                .order_by(func.count().desc(), FollowRelation.member_id)
            )
        ).scalars()
    )
    tag = (await session.execute(select(ContactTag.tag_id).where(ContactTag.tenant_id == customers))).scalar()
    scoped = TenantContext(customers, uuid.uuid4())
    monkeypatch.setattr(
        service, "visible_member_ids", lambda session, ctx: _async(sorted(members[:2], key=str))
    )
    for values in ({}, {"tag_any": [tag]}, {"owner_ids": members[1:3]}, {"status": "active"}):
        filters = ContactFilters.model_validate(values)
        for descending in (True, False):
            _force(monkeypatch, {"RUNS": 0, "LEAD": 0, "WINDOW": 1_000_000})
            expected = await _pages(session, scoped, filters, descending)
            assert expected or values, "the scope alone lists customers"
            for name, settings in _paths():
                _force(monkeypatch, settings)
                assert await _pages(session, scoped, filters, descending) == expected, (values, name)
            visible = set(members[:2])
            related = (
                await session.execute(
                    select(FollowRelation.contact_id).where(
                        FollowRelation.tenant_id == customers, FollowRelation.member_id.in_(visible)
                    )
                )
            ).scalars()
            assert set(expected) <= set(related)


async def _async(value: Any) -> Any:
    return value
