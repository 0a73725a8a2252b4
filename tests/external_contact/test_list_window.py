"""A filtered page starts from the narrowest filter's own index when it admits few customers;
otherwise it is first looked for among the next few customers in the list's order, then (when they
hold too few matches) by the unbounded query: whichever way, the pages are the same."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from huike.external_contact.repository import ContactRepository

pytestmark = pytest.mark.usefixtures("wired")


async def _walk(admin: httpx.AsyncClient, params: dict[str, Any], order: str) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 4, "order": order, **({"cursor": cursor} if cursor else {})}
        response = await admin.get("/api/v1/external-contacts", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return seen


async def test_windowed_pages_equal_unbounded_pages(
    customers: uuid.UUID, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = (await admin.get("/api/v1/external-contacts", params={"limit": 200})).json()["items"]
    tagged = next(i for i in items if i["tags"])
    cases: list[dict[str, Any]] = [
        {"tag_any": tagged["tags"][0]["id"]},
        {"tag_all": tagged["tags"][0]["id"]},
        {"tag_none": tagged["tags"][0]["id"]},
        {"owner_id": tagged["owners"][0]["id"]},
        {"keyword": (tagged["name"] or "x")[-1:]},
        {"status": "active", "tag_any": tagged["tags"][0]["id"]},
        {"tag_any": tagged["tags"][0]["id"], "owner_id": tagged["owners"][0]["id"]},
    ]
    both = next(i for i in items if len(i["tags"]) >= 2)  # every one of two tags
    cases.append({"tag_all": [t["id"] for t in both["tags"][:2]]})
    for order in ("-added_at", "added_at"):
        for params in cases:
            monkeypatch.setattr(ContactRepository, "LEAD", 0)  # no filter is narrow enough to lead
            monkeypatch.setattr(ContactRepository, "WINDOW", 1_000_000)
            unbounded = await _walk(admin, params, order)
            assert unbounded, params
            counted = await admin.get("/api/v1/external-contacts/count", params=params)
            assert counted.json()["count"] == len(unbounded), params
            for window in (1, 3, 10):  # too few matches in the window: the unbounded query decides
                monkeypatch.setattr(ContactRepository, "WINDOW", window)
                assert await _walk(admin, params, order) == unbounded, (params, order, window)
            monkeypatch.setattr(ContactRepository, "LEAD", 1_000_000)  # a filter's index leads
            assert await _walk(admin, params, order) == unbounded, (params, order, "lead")
