"""What the console's customer-group pages read beyond the list and the detail: sorting, the owner
filter's choices, a group's people page by page, tags on many groups at once, the overview numbers
and the trend across groups, each narrowed by the caller's data scope."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.group_chat import repository as group_repository
from huike.member import service as members
from huike.tenant.models import Tenant
from tests.group_chat.conftest import Emulator, deliver, emulator_groups, group_by_chat_id, sync
from wecom_emulator import scenarios


async def _pages(client: httpx.AsyncClient, params: dict[str, Any], limit: int = 2) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/group-chats", params=query)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def _members_synced(session: AsyncSession, tenant: Tenant) -> None:
    await members.sync_from_wecom(session, TenantContext.system(tenant.id), uuid.uuid4())
    await session.commit()


async def test_sorting_by_size_and_age_pages_through_everything(synced: httpx.AsyncClient) -> None:
    newest = await _pages(synced, {}, limit=50)
    oldest = await _pages(synced, {"sort": "created_asc"}, limit=3)
    assert [g["id"] for g in oldest] == [g["id"] for g in reversed(newest)]

    biggest = await _pages(synced, {"sort": "size_desc"}, limit=2)
    assert len(biggest) == 7
    assert len({g["id"] for g in biggest}) == 7
    sizes = [g["member_count"] for g in biggest]
    assert sizes == sorted(sizes, reverse=True)
    smallest = await _pages(synced, {"sort": "size_asc"}, limit=3)
    assert [g["member_count"] for g in smallest] == sorted(sizes)
    assert {g["id"] for g in smallest} == {g["id"] for g in biggest}

    refused = await synced.get("/api/v1/group-chats", params={"sort": "name"})
    assert refused.status_code == 422


async def test_owner_choices_and_the_owner_userid_filter(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    await _members_synced(session, tenant)
    state, _, _ = emulator
    wecom = emulator_groups(state)
    owners = (await synced.get("/api/v1/group-chats/owners")).json()["items"]
    expected: dict[str, int] = {}
    for group in wecom.values():
        expected[group["owner"]] = expected.get(group["owner"], 0) + 1
    assert {o["userid"]: o["groups"] for o in owners} == expected
    assert [o["groups"] for o in owners] == sorted(expected.values(), reverse=True)
    assert all(o["name"] and o["member_id"] for o in owners)

    first = owners[0]
    by_userid = await _pages(synced, {"owner_userid": first["userid"]})
    assert len(by_userid) == first["groups"]
    assert {g["owner"]["userid"] for g in by_userid} == {first["userid"]}
    by_id = await _pages(synced, {"owner_id": first["member_id"]})
    assert {g["id"] for g in by_id} == {g["id"] for g in by_userid}


async def test_a_groups_people_page_by_page(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    await _members_synced(session, tenant)
    state, report, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    joined = scenarios.customer_joins_group(state, report.corp_id, chat_id, join_scene=3)
    left = scenarios.customer_joins_group(state, report.corp_id, chat_id)
    scenarios.customer_quits_group(state, report.corp_id, chat_id, left.data["external_userid"])
    await deliver(session, tenant, state)
    group = await group_by_chat_id(session, tenant.id, chat_id)
    wecom = emulator_groups(state)[chat_id]["members"]
    url = f"/api/v1/group-chats/{group.id}/members"

    seen: list[dict[str, Any]] = []
    body: dict[str, Any] = {}
    for offset in range(0, len(wecom) + 2, 2):
        body = (await synced.get(url, params={"offset": offset, "limit": 2})).json()
        seen.extend(body["items"])
    assert body["total"] == len(wecom)
    assert body["members"] == sum(1 for t in wecom.values() if t == 1)
    assert body["externals"] == sum(1 for t in wecom.values() if t == 2)
    assert {p["userid"]: 1 if p["type"] == "member" else 2 for p in seen} == wecom
    times = [p["join_time"] for p in seen if p["join_time"]]
    assert times == sorted(times, reverse=True)
    newest = next(p for p in seen if p["userid"] == joined.data["external_userid"])
    assert (newest["type"], newest["join_scene"], newest["left_at"]) == ("external", 3, None)
    staff = [p for p in seen if p["type"] == "member"]
    assert staff
    assert all(p["name"] and p["member_id"] for p in staff)
    invited = [p for p in seen if p["invitor_userid"]]
    assert all(p["invitor_name"] for p in invited if p["invitor_userid"] in {s["userid"] for s in staff})

    externals = (await synced.get(url, params={"type": "external", "limit": 200})).json()
    assert externals["total"] == body["externals"]
    assert {p["type"] for p in externals["items"]} == {"external"}
    gone = (await synced.get(url, params={"state": "left"})).json()
    assert [p["userid"] for p in gone["items"]] == [left.data["external_userid"]]
    assert gone["items"][0]["left_at"]
    everyone = (await synced.get(url, params={"state": "all", "limit": 200})).json()
    assert everyone["total"] == len(wecom) + 1
    assert (await synced.get(url, params={"limit": 201})).status_code == 422
    assert (await synced.get(f"/api/v1/group-chats/{uuid.uuid4()}/members")).status_code == 404


async def test_tags_on_many_groups_at_once(synced: httpx.AsyncClient) -> None:
    vip = (await synced.post("/api/v1/group-chat-tags", json={"name": "重点群"})).json()
    quiet = (await synced.post("/api/v1/group-chat-tags", json={"name": "沉默群"})).json()
    groups = (await synced.get("/api/v1/group-chats", params={"limit": 4})).json()["items"]
    ids = [g["id"] for g in groups]
    await synced.put(f"/api/v1/group-chats/{ids[0]}/tags", json={"tag_ids": [quiet["id"]]})

    done = await synced.post(
        "/api/v1/group-chats/bulk-tags", json={"group_chat_ids": ids[:3], "add_tag_ids": [vip["id"]]}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"groups": 3, "added": 3, "removed": 0}
    again = await synced.post(
        "/api/v1/group-chats/bulk-tags", json={"group_chat_ids": ids[:3], "add_tag_ids": [vip["id"]]}
    )
    assert again.json()["added"] == 0
    first = (await synced.get(f"/api/v1/group-chats/{ids[0]}")).json()
    assert sorted(t["name"] for t in first["tags"]) == ["沉默群", "重点群"]  # the other tag stays
    tagged = (await synced.get("/api/v1/group-chats", params={"tag_id": vip["id"]})).json()
    assert {g["id"] for g in tagged["items"]} == set(ids[:3])

    removed = await synced.post(
        "/api/v1/group-chats/bulk-tags",
        json={"group_chat_ids": ids, "remove_tag_ids": [vip["id"], quiet["id"]]},
    )
    assert removed.json() == {"groups": 4, "added": 0, "removed": 4}
    usage = {t["name"]: t["usage"] for t in (await synced.get("/api/v1/group-chat-tags")).json()["items"]}
    assert usage == {"重点群": 0, "沉默群": 0}

    unknown = await synced.post(
        "/api/v1/group-chats/bulk-tags",
        json={"group_chat_ids": ids, "add_tag_ids": [vip["id"], str(uuid.uuid4())]},
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "group_chat.unknown_tags"
    missing = await synced.post(
        "/api/v1/group-chats/bulk-tags",
        json={"group_chat_ids": [ids[0], str(uuid.uuid4())], "add_tag_ids": [vip["id"]]},
    )
    assert missing.status_code == 404
    assert (await synced.get("/api/v1/group-chats", params={"tag_id": vip["id"]})).json()["total"] == 0
    empty = await synced.post("/api/v1/group-chats/bulk-tags", json={"group_chat_ids": []})
    assert empty.status_code == 422


async def test_overview_and_trend_across_groups(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    await _members_synced(session, tenant)
    state, report, _ = emulator
    wecom = emulator_groups(state)
    before = (await synced.get("/api/v1/group-chats/overview")).json()
    size = sum(len(g["members"]) for g in wecom.values())
    assert before["groups"] == 7
    assert before["members"] == size
    assert before["internal_members"] + before["externals"] == size
    assert before["by_status"] == {"normal": 7}
    assert (before["joins_today"], before["quits_today"]) == (0, 0)

    first, second = list(wecom)[:2]
    one = scenarios.customer_joins_group(state, report.corp_id, first)
    scenarios.customer_joins_group(state, report.corp_id, first)
    scenarios.customer_joins_group(state, report.corp_id, second)
    scenarios.customer_quits_group(state, report.corp_id, first, one.data["external_userid"])
    scenarios.member_dismisses_group(state, report.corp_id, list(wecom)[2])
    await deliver(session, tenant, state)
    gone = len(wecom[list(wecom)[2]]["members"])

    after = (await synced.get("/api/v1/group-chats/overview")).json()
    assert after["groups"] == 6
    assert after["by_status"] == {"normal": 6, "dismissed": 1}
    assert after["members"] == size + 2 - gone
    assert (after["joins_today"], after["quits_today"]) == (3, 1)
    assert (after["joins_7d"], after["quits_7d"]) == (3, 1)

    points = (await synced.get("/api/v1/group-chats/trend", params={"days": 14})).json()["items"]
    assert len(points) == 14
    assert (points[-1]["size"], points[-1]["joins"], points[-1]["quits"]) == (size + 2 - gone, 3, 1)
    assert all(p["joins"] == 0 and p["quits"] == 0 for p in points[:-1])

    owner = wecom[first]["owner"]
    owned = [g for g in wecom.values() if g["owner"] == owner]
    mine = (await synced.get("/api/v1/group-chats/overview", params={"owner_userid": owner})).json()
    assert mine["groups"] == sum(1 for c, g in wecom.items() if g["owner"] == owner and c != list(wecom)[2])
    assert mine["joins_today"] >= 1
    their_trend = (
        await synced.get("/api/v1/group-chats/trend", params={"days": 3, "owner_userid": owner})
    ).json()["items"]
    assert their_trend[-1]["size"] == mine["members"]
    assert len(owned) >= 1
    assert (await synced.get("/api/v1/group-chats/trend", params={"days": 181})).status_code == 422


async def test_data_scope_narrows_the_new_reads(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    await _members_synced(session, tenant)
    everything = await _pages(synced, {}, limit=50)
    owner = everything[0]["owner"]
    inside = [g for g in everything if g["owner"]["userid"] == owner["userid"]]
    outside = next(g for g in everything if g["owner"]["userid"] != owner["userid"])
    tag = (await synced.post("/api/v1/group-chat-tags", json={"name": "范围"})).json()

    async def only_that_owner(session: Any, ctx: TenantContext) -> list[uuid.UUID]:
        return [uuid.UUID(owner["member_id"])]

    group_repository.set_owner_scope(only_that_owner)
    owners = (await synced.get("/api/v1/group-chats/owners")).json()["items"]
    assert [(o["userid"], o["groups"]) for o in owners] == [(owner["userid"], len(inside))]
    overview = (await synced.get("/api/v1/group-chats/overview")).json()
    assert overview["groups"] == len(inside)
    assert overview["members"] == sum(g["member_count"] for g in inside)
    trend = (await synced.get("/api/v1/group-chats/trend", params={"days": 1})).json()["items"]
    assert trend[-1]["size"] == overview["members"]
    # another owner's UserID asked for explicitly does not widen the scope
    widened = await synced.get(
        "/api/v1/group-chats/overview", params={"owner_userid": outside["owner"]["userid"]}
    )
    assert widened.json()["groups"] == 0
    assert (await synced.get(f"/api/v1/group-chats/{outside['id']}/members")).status_code == 404
    bulk = await synced.post(
        "/api/v1/group-chats/bulk-tags",
        json={"group_chat_ids": [inside[0]["id"], outside["id"]], "add_tag_ids": [tag["id"]]},
    )
    assert bulk.status_code == 404

    async def nothing(session: Any, ctx: TenantContext) -> list[uuid.UUID]:
        return []

    group_repository.set_owner_scope(nothing)
    assert (await synced.get("/api/v1/group-chats/owners")).json()["items"] == []
    assert (await synced.get("/api/v1/group-chats/overview")).json()["groups"] == 0
    empty_trend = (await synced.get("/api/v1/group-chats/trend", params={"days": 2})).json()["items"]
    assert [p["size"] for p in empty_trend] == [0, 0]


async def test_groups_of_an_owner_who_left_are_listed_as_such(
    connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    await _members_synced(session, tenant)
    wecom = emulator_groups(state)
    owner = next(iter(wecom.values()))["owner"]
    theirs = {c for c, g in wecom.items() if g["owner"] == owner}
    scenarios.member_resigns(state, report.corp_id, owner)
    await _members_synced(session, tenant)  # Huike now knows the owner left
    await sync(session, tenant.id)

    everything = await _pages(connected, {}, limit=50)
    assert {g["chat_id"] for g in everything} == set(wecom)
    resigned = await _pages(connected, {"status": "owner_resigned"}, limit=50)
    assert {g["chat_id"] for g in resigned} == theirs
    overview = (await connected.get("/api/v1/group-chats/overview")).json()
    assert overview["by_status"] == {"normal": 7 - len(theirs), "owner_resigned": len(theirs)}
