"""§5 corp tags: listing, creating, renaming, deleting, app ownership, the 3000 cap, mark_tag."""

from __future__ import annotations

from typing import Any

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


async def _groups(api: WeCom, **filters: Any) -> list[dict[str, Any]]:
    answer = await api.post("externalcontact/get_corp_tag_list", filters)
    assert answer["errcode"] == 0
    groups: list[dict[str, Any]] = answer["tag_group"]
    return groups


async def test_list_is_ordered_larger_order_first(app_api: WeCom, company: SeedReport) -> None:
    groups = await _groups(app_api)
    assert sum(len(g["tag"]) for g in groups) == company.tags
    orders = [g["order"] for g in groups]
    assert orders == sorted(orders, reverse=True)
    for group in groups:
        assert "deleted" not in group
        assert [t["order"] for t in group["tag"]] == sorted((t["order"] for t in group["tag"]), reverse=True)
        assert all(t["id"].startswith("et") and len(t["id"]) == 32 for t in group["tag"])


async def test_add_edit_delete(app_api: WeCom) -> None:
    created = await app_api.post(
        "externalcontact/add_corp_tag",
        {
            "group_name": "购买意向",
            "order": 5,
            "tag": [{"name": "想买"}, {"name": "再看看", "order": 2}, {"name": "想买"}],
        },
    )
    assert created["errcode"] == 0
    group = created["tag_group"]
    assert group["group_name"] == "购买意向"
    assert [t["name"] for t in group["tag"]] == ["再看看", "想买"]  # created once, larger order first
    # same group name again: the tags join the existing group
    more = await app_api.post(
        "externalcontact/add_corp_tag", {"group_name": "购买意向", "tag": [{"name": "已购买"}]}
    )
    assert more["tag_group"]["group_id"] == group["group_id"]
    clash = await app_api.post(
        "externalcontact/add_corp_tag", {"group_id": group["group_id"], "tag": [{"name": "想买"}]}
    )
    assert clash["errcode"] == 40071
    too_long = await app_api.post(
        "externalcontact/add_corp_tag", {"group_name": "x", "tag": [{"name": "长" * 31}]}
    )
    assert too_long["errcode"] == 40072
    assert (await app_api.post("externalcontact/add_corp_tag", {"group_name": "空组", "tag": []}))[
        "errcode"
    ] == 40058

    want, later = group["tag"][1]["id"], group["tag"][0]["id"]
    assert (await app_api.post("externalcontact/edit_corp_tag", {"id": want, "name": "很想买"}))[
        "errcode"
    ] == 0
    assert (await app_api.post("externalcontact/edit_corp_tag", {"id": want, "name": "再看看"}))[
        "errcode"
    ] == 40071
    assert (await app_api.post("externalcontact/edit_corp_tag", {"id": "etNOPE"}))["errcode"] == 40068

    # deleting every tag of a group deletes the group; asked by id, WeCom says deleted
    bought = more["tag_group"]["tag"][0]["id"]
    assert (await app_api.post("externalcontact/del_corp_tag", {"tag_id": [want, later, bought]}))[
        "errcode"
    ] == 0
    assert group["group_id"] not in [g["group_id"] for g in await _groups(app_api)]
    by_id = await _groups(app_api, group_id=[group["group_id"]])
    assert by_id[0]["deleted"] is True
    assert all(t["deleted"] for t in by_id[0]["tag"])
    assert (await app_api.post("externalcontact/del_corp_tag", {}))["errcode"] == 40058


async def test_apps_change_only_their_own_tags(app_api: WeCom, contact_api: WeCom) -> None:
    console_tag = (await _groups(app_api))[0]["tag"][0]["id"]  # seeded tags come from the admin console
    refused = await app_api.post("externalcontact/edit_corp_tag", {"id": console_tag, "name": "改名"})
    assert refused["errcode"] == 48002
    assert (await app_api.post("externalcontact/del_corp_tag", {"tag_id": [console_tag]}))["errcode"] == 48002
    assert (await contact_api.post("externalcontact/edit_corp_tag", {"id": console_tag, "name": "改名"}))[
        "errcode"
    ] == 0


async def test_at_most_3000_tags(app_api: WeCom, emu_state: EmulatorState, company: SeedReport) -> None:
    room = 3000 - company.tags
    corp = emu_state.corp(company.corp_id)
    emu_state.store.conn.executemany(
        "INSERT INTO tag (corp_pk, tag_id, group_pk, name, ord, create_time, creator) VALUES (?, ?, 1, ?, 0, 0, 'admin')",
        [(corp.pk, f"etfill{i}", f"填充{i}") for i in range(room)],
    )
    emu_state.tag_cache.clear()
    full = await app_api.post(
        "externalcontact/add_corp_tag", {"group_name": "多一个", "tag": [{"name": "一"}]}
    )
    assert full["errcode"] == 40058
    assert full["tag_group"] == {}


async def test_mark_tag(app_api: WeCom, emu_state: EmulatorState) -> None:
    row = emu_state.store.one(
        "SELECT m.userid, c.external_userid FROM follow f JOIN member m ON m.pk = f.member_pk"
        " JOIN customer c ON c.pk = f.customer_pk WHERE m.visible = 1 LIMIT 1"
    )
    assert row is not None
    groups = await _groups(app_api)
    a, b = groups[0]["tag"][0]["id"], groups[0]["tag"][1]["id"]  # several tags of one group are fine
    base = {"userid": row["userid"], "external_userid": row["external_userid"]}
    assert (await app_api.post("externalcontact/mark_tag", {**base, "remove_tag": [a, b]}))["errcode"] == 0
    assert (await app_api.post("externalcontact/mark_tag", {**base, "add_tag": [a, b]}))["errcode"] == 0

    async def tags_now() -> set[str]:
        detail = await app_api.get("externalcontact/get", external_userid=row["external_userid"])
        mine = next(f for f in detail["follow_user"] if f["userid"] == row["userid"])
        return {t["tag_id"] for t in mine["tags"]}

    assert {a, b} <= await tags_now()
    assert (await app_api.post("externalcontact/mark_tag", {**base, "remove_tag": [a]}))["errcode"] == 0
    assert a not in await tags_now()
    assert (await app_api.post("externalcontact/mark_tag", base))["errcode"] == 40058
    assert (await app_api.post("externalcontact/mark_tag", {**base, "add_tag": ["etNOPE"]}))[
        "errcode"
    ] == 40068
    # a deleted tag disappears from customers at once
    scenarios.admin_deletes_tag(emu_state, app_api.corp_id, b)
    assert b not in await tags_now()
