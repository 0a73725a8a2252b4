"""The customer-group API: filters, keyset paging and counts, the detail with members and statistics,
the daily trend, local group tags, data scopes and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.group_chat import repository as group_repository
from huike.group_chat.models import GroupChat
from huike.member import service as members
from huike.tenant.models import Tenant
from tests.group_chat.conftest import Emulator, deliver, emulator_groups, group_by_chat_id
from wecom_emulator import scenarios


async def _all_pages(
    client: httpx.AsyncClient, params: dict[str, Any], limit: int = 2
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/v1/group-chats", params=query)).json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_list_filters_and_paging(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    await members.sync_from_wecom(session, TenantContext.system(tenant.id), uuid.uuid4())
    await session.commit()
    wecom = emulator_groups(state)
    first = (await synced.get("/api/v1/group-chats", params={"limit": 2})).json()
    assert first["total"] == 7
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    everything = await _all_pages(synced, {})
    assert sorted(g["chat_id"] for g in everything) == sorted(wecom)
    created = [g["wecom_created_at"] for g in everything]
    assert created == sorted(created, reverse=True)
    one = everything[0]
    assert one["owner"]["member_id"]
    assert one["owner"]["name"]

    owner_id = one["owner"]["member_id"]
    mine = await _all_pages(synced, {"owner_id": owner_id})
    assert {g["chat_id"] for g in mine} == {
        c for c, g in wecom.items() if g["owner"] == one["owner"]["userid"]
    }

    keyword = one["name"][:3]
    named = (await synced.get("/api/v1/group-chats", params={"keyword": keyword})).json()
    assert named["total"] == sum(1 for g in wecom.values() if keyword in g["name"])

    at = datetime.fromisoformat(one["wecom_created_at"])
    window = {"created_from": at.isoformat(), "created_to": (at + timedelta(seconds=1)).isoformat()}
    assert [
        g["chat_id"] for g in (await synced.get("/api/v1/group-chats", params=window)).json()["items"]
    ] == [one["chat_id"]]
    backwards = {"created_from": at.isoformat(), "created_to": (at - timedelta(days=1)).isoformat()}
    refused = await synced.get("/api/v1/group-chats", params=backwards)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "group_chat.invalid_range"

    assert (await synced.get("/api/v1/group-chats", params={"status": "dismissed"})).json()["total"] == 0
    assert (await synced.get("/api/v1/group-chats", params={"status": "normal"})).json()["total"] == 7
    nothing = (await synced.get("/api/v1/group-chats", params={"keyword": "没有这样的群"})).json()
    assert nothing == {"items": [], "next_cursor": None, "total": 0}
    bad = await synced.get("/api/v1/group-chats", params={"cursor": "!!"})
    assert bad.status_code == 400


async def test_local_tags_and_the_tag_filter(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    vip = (await synced.post("/api/v1/group-chat-tags", json={"name": " 高价值 "})).json()
    assert vip["name"] == "高价值"
    assert vip["usage"] == 0
    other = (await synced.post("/api/v1/group-chat-tags", json={"name": "待激活"})).json()
    taken = await synced.post("/api/v1/group-chat-tags", json={"name": "高价值"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "group_chat.tag_name_taken"
    long = await synced.post("/api/v1/group-chat-tags", json={"name": "长" * 31})
    assert long.json()["error"]["code"] == "group_chat.tag_name_too_long"
    assert (await synced.post("/api/v1/group-chat-tags", json={"name": " "})).status_code == 422

    groups = (await synced.get("/api/v1/group-chats", params={"limit": 3})).json()["items"]
    for group in groups[:2]:
        done = await synced.put(f"/api/v1/group-chats/{group['id']}/tags", json={"tag_ids": [vip["id"]]})
        assert done.status_code == 200
        assert [t["name"] for t in done.json()["tags"]] == ["高价值"]
    unknown = await synced.put(
        f"/api/v1/group-chats/{groups[2]['id']}/tags", json={"tag_ids": [vip["id"], str(uuid.uuid4())]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "group_chat.unknown_tags"

    tagged = (await synced.get("/api/v1/group-chats", params={"tag_id": vip["id"]})).json()
    assert tagged["total"] == 2
    assert {g["id"] for g in tagged["items"]} == {g["id"] for g in groups[:2]}
    listed = {t["name"]: t["usage"] for t in (await synced.get("/api/v1/group-chat-tags")).json()["items"]}
    assert listed == {"高价值": 2, "待激活": 0}

    renamed = await synced.patch(f"/api/v1/group-chat-tags/{vip['id']}", json={"name": "核心群"})
    assert renamed.json()["name"] == "核心群"
    assert renamed.json()["usage"] == 2
    clash = await synced.patch(f"/api/v1/group-chat-tags/{other['id']}", json={"name": "核心群"})
    assert clash.status_code == 409
    replaced = await synced.put(
        f"/api/v1/group-chats/{groups[0]['id']}/tags", json={"tag_ids": [other["id"]]}
    )
    assert [t["name"] for t in replaced.json()["tags"]] == ["待激活"]
    assert (await synced.delete(f"/api/v1/group-chat-tags/{vip['id']}")).status_code == 204
    assert (await synced.get("/api/v1/group-chats", params={"tag_id": vip["id"]})).json()["total"] == 0
    assert (await synced.delete(f"/api/v1/group-chat-tags/{vip['id']}")).status_code == 404


async def test_detail_statistics_and_trend(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    size = len(emulator_groups(state)[chat_id]["members"])
    joined = scenarios.customer_joins_group(state, report.corp_id, chat_id, join_scene=3)
    scenarios.customer_joins_group(state, report.corp_id, chat_id)
    scenarios.customer_quits_group(state, report.corp_id, chat_id, joined.data["external_userid"])
    await deliver(session, tenant, state)
    group = await group_by_chat_id(session, tenant.id, chat_id)

    detail = (await synced.get(f"/api/v1/group-chats/{group.id}")).json()
    assert detail["member_count"] == size + 1
    assert len(detail["members"]) == size + 1
    wecom_members = emulator_groups(state)[chat_id]["members"]
    assert {m["userid"]: 1 if m["type"] == "member" else 2 for m in detail["members"]} == wecom_members
    assert all(m["join_time"] for m in detail["members"])
    stats = detail["statistics"]
    assert (stats["size"], stats["joins_today"], stats["quits_today"]) == (size + 1, 2, 1)
    assert stats["members"] + stats["externals"] == size + 1

    trend = (await synced.get(f"/api/v1/group-chats/{group.id}/trend", params={"days": 30})).json()["items"]
    assert len(trend) == 30
    assert (trend[-1]["size"], trend[-1]["joins"], trend[-1]["quits"]) == (size + 1, 2, 1)
    days = [datetime.fromisoformat(p["day"]).date() for p in trend]
    assert days == sorted(days)
    assert (days[-1] - days[0]).days == 29
    assert all(p["joins"] == 0 and p["quits"] == 0 for p in trend[:-1])
    assert (await synced.get(f"/api/v1/group-chats/{group.id}/trend", params={"days": 0})).status_code == 422


async def test_data_scope_narrows_every_read(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    await members.sync_from_wecom(session, TenantContext.system(tenant.id), uuid.uuid4())
    await session.commit()
    everything = await _all_pages(synced, {}, limit=50)
    owner = everything[0]["owner"]
    outside = next(g for g in everything if g["owner"]["userid"] != owner["userid"])

    async def only_that_owner(session: Any, ctx: TenantContext) -> list[uuid.UUID]:
        return [uuid.UUID(owner["member_id"])]

    group_repository.set_owner_scope(only_that_owner)
    visible = (await synced.get("/api/v1/group-chats", params={"limit": 50})).json()
    assert visible["total"] == sum(1 for g in everything if g["owner"]["userid"] == owner["userid"])
    assert (await synced.get(f"/api/v1/group-chats/{outside['id']}")).status_code == 404
    assert (await synced.get(f"/api/v1/group-chats/{outside['id']}/trend")).status_code == 404
    put = await synced.put(f"/api/v1/group-chats/{outside['id']}/tags", json={"tag_ids": []})
    assert put.status_code == 404

    async def nothing(session: Any, ctx: TenantContext) -> list[uuid.UUID]:
        return []

    group_repository.set_owner_scope(nothing)
    assert (await synced.get("/api/v1/group-chats")).json()["total"] == 0


async def test_other_tenants_groups_are_invisible(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = GroupChat(
        tenant_id=other_tenant.id,
        chat_id="wrforeign",
        name="别人的群",
        owner_userid="someone",
        wecom_created_at=datetime.now(UTC),
    )
    session.add(foreign)
    await session.commit()
    foreign_id, other_id = foreign.id, other_tenant.id
    body = (await synced.get("/api/v1/group-chats", params={"limit": 200})).json()
    assert body["total"] == 7
    assert "wrforeign" not in {g["chat_id"] for g in body["items"]}
    assert (await synced.get(f"/api/v1/group-chats/{foreign_id}")).status_code == 404
    ids = (
        await session.execute(select(GroupChat.tenant_id).where(GroupChat.chat_id == "wrforeign"))
    ).scalars()
    assert list(ids) == [other_id]
