"""§9 customer groups: list paging and filters, caps, get."""

from __future__ import annotations

import pytest

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport, seed_company


async def _walk(api: WeCom, limit: int, **filters: object) -> list[str]:
    seen: list[str] = []
    cursor = ""
    while True:
        page = await api.post("externalcontact/groupchat/list", {"limit": limit, "cursor": cursor, **filters})
        assert page["errcode"] == 0
        assert len(page["group_chat_list"]) <= limit
        seen += [g["chat_id"] for g in page["group_chat_list"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


async def test_list_covers_every_group_once(contact_api: WeCom, company: SeedReport) -> None:
    seen = await _walk(contact_api, 4)
    assert len(seen) == company.groups
    assert len(set(seen)) == company.groups
    assert all(c.startswith("wr") for c in seen)


async def test_list_filters(contact_api: WeCom, emu_state: EmulatorState) -> None:
    owner = emu_state.store.scalar(
        "SELECT m.userid FROM groupchat g JOIN member m ON m.pk = g.owner_pk GROUP BY m.pk ORDER BY count(*) DESC"
    )
    mine = await _walk(contact_api, 1000, owner_filter={"userid_list": [owner]})
    expected = emu_state.store.scalar(
        "SELECT count(*) FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.userid = ?", (owner,)
    )
    assert len(mine) == expected
    emu_state.store.conn.execute("UPDATE groupchat SET status = 1 WHERE pk % 2 = 0")
    resigned = await contact_api.post("externalcontact/groupchat/list", {"limit": 1000, "status_filter": 1})
    assert {g["status"] for g in resigned["group_chat_list"]} == {1}


@pytest.mark.parametrize("body", [{}, {"limit": 0}, {"limit": 1001}, {"limit": 10, "status_filter": 9}])
async def test_list_refuses_bad_limits(contact_api: WeCom, body: dict[str, object]) -> None:
    answer = await contact_api.post("externalcontact/groupchat/list", body)
    assert answer["errcode"] == 40058
    assert answer["group_chat_list"] == []


async def test_owner_filter_is_capped_at_100(contact_api: WeCom) -> None:
    body = {"limit": 10, "owner_filter": {"userid_list": [f"u{i}" for i in range(101)]}}
    assert (await contact_api.post("externalcontact/groupchat/list", body))["errcode"] == 40058


async def test_unfiltered_list_over_a_large_scope_is_81017(
    contact_api: WeCom, emu_state: EmulatorState
) -> None:
    seed_company(emu_state, contact_api.corp_id, members=1000, external_contacts=0, groups=0, tags=0, seed=3)
    answer = await contact_api.post("externalcontact/groupchat/list", {"limit": 10})
    assert answer["errcode"] == 81017
    owner = emu_state.store.scalar("SELECT m.userid FROM groupchat g JOIN member m ON m.pk = g.owner_pk")
    filtered = await contact_api.post(
        "externalcontact/groupchat/list", {"limit": 10, "owner_filter": {"userid_list": [owner]}}
    )
    assert filtered["errcode"] == 0


async def test_get(app_api: WeCom, emu_state: EmulatorState) -> None:
    chat_id = emu_state.store.scalar(
        "SELECT g.chat_id FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1"
    )
    plain = await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id})
    chat = plain["group_chat"]
    assert {
        "chat_id",
        "name",
        "owner",
        "create_time",
        "notice",
        "member_list",
        "admin_list",
        "member_version",
    } <= set(chat)
    assert len(chat["member_version"]) == 32
    assert chat["member_list"][0]["userid"] == chat["owner"]
    assert {m["type"] for m in chat["member_list"]} <= {1, 2}
    assert all("name" not in m for m in chat["member_list"])
    named = await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1})
    assert all(m["name"] for m in named["group_chat"]["member_list"])
    unknown = await app_api.post("externalcontact/groupchat/get", {"chat_id": "wrNOPE"})
    assert unknown["errcode"] == 86003
    assert unknown["group_chat"] == {}


async def test_get_needs_the_owner_in_scope(app_api: WeCom, emu_state: EmulatorState) -> None:
    chat_id, owner_pk = emu_state.store.one("SELECT chat_id, owner_pk FROM groupchat LIMIT 1") or ("", 0)
    emu_state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (owner_pk,))
    assert (await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["errcode"] == 60011
