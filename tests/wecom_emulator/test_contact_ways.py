"""§6 contact ways and join ways: CRUD with WeCom's errcodes, the shared quota, list paging, and
the scan scenarios with the events they send (and none for the API calls)."""

from __future__ import annotations

import pytest

from tests.wecom_emulator.conftest import Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


def _able(state: EmulatorState, count: int = 1) -> list[str]:
    rows = state.store.all(
        "SELECT userid FROM member WHERE status = 1 AND visible = 1 AND customer_contact = 1 ORDER BY pk LIMIT ?",
        (count,),
    )
    return [r["userid"] for r in rows]


async def test_add_get_update_delete(app_api: WeCom, emu_state: EmulatorState) -> None:
    [userid] = _able(emu_state)
    made = await app_api.post(
        "externalcontact/add_contact_way",
        {"type": 1, "scene": 2, "user": [userid], "state": "store_sh_xuhui", "remark": "门店"},
    )
    assert made["errcode"] == 0
    assert len(made["config_id"]) == 32
    assert made["qr_code"].startswith("https://")
    way = (await app_api.post("externalcontact/get_contact_way", {"config_id": made["config_id"]}))[
        "contact_way"
    ]
    assert (way["type"], way["scene"], way["state"], way["user"], way["skip_verify"]) == (
        1,
        2,
        "store_sh_xuhui",
        [userid],
        True,
    )
    update = {"config_id": made["config_id"], "state": "ad_douyin_q3", "skip_verify": False}
    assert (await app_api.post("externalcontact/update_contact_way", update))["errcode"] == 0
    way = (await app_api.post("externalcontact/get_contact_way", {"config_id": made["config_id"]}))[
        "contact_way"
    ]
    assert (way["state"], way["skip_verify"], way["remark"]) == ("ad_douyin_q3", False, "门店")
    assert (await app_api.post("externalcontact/del_contact_way", {"config_id": made["config_id"]}))[
        "errcode"
    ] == 0
    gone = await app_api.post("externalcontact/get_contact_way", {"config_id": made["config_id"]})
    assert gone["errcode"] == 41044
    assert gone["contact_way"] == {}


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"scene": 2}, 41037),
        ({"type": 1}, 41038),
        ({"type": 3, "scene": 2}, 41039),
        ({"type": 1, "scene": 5}, 41040),
        ({"type": 1, "scene": 1, "style": -1}, 41042),
        ({"type": 1, "scene": 2, "state": "x" * 31}, 40058),
        ({"type": 1, "scene": 2, "remark": "x" * 31}, 40058),
        ({"type": 1, "scene": 2, "user": ["nobody"]}, 60111),
    ],
)
async def test_add_contact_way_errors(
    app_api: WeCom, emu_state: EmulatorState, body: dict[str, object], errcode: int
) -> None:
    body = {"user": _able(emu_state), **body}
    answer = await app_api.post("externalcontact/add_contact_way", body)
    assert answer["errcode"] == errcode
    assert answer["config_id"] == ""


async def test_too_many_users(app_api: WeCom, emu_state: EmulatorState) -> None:
    two = _able(emu_state, 2)
    single = await app_api.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": two})
    assert single["errcode"] == 41041
    many = await app_api.post("externalcontact/add_contact_way", {"type": 2, "scene": 2, "party": [1]})
    assert many["errcode"] == 0  # the whole seeded company has fewer than 100 members
    missing = await app_api.post("externalcontact/get_contact_way", {})
    assert missing["errcode"] == 41043


async def test_quota_is_shared_with_join_ways(app_api: WeCom, emu_state: EmulatorState) -> None:
    emu_state.settings.contact_way_quota = 2
    user = _able(emu_state)
    chat_id = emu_state.store.scalar(
        "SELECT g.chat_id FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1"
    )
    assert (await app_api.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": user}))[
        "errcode"
    ] == 0
    join = await app_api.post(
        "externalcontact/groupchat/add_join_way", {"scene": 2, "chat_id_list": [chat_id]}
    )
    assert join["errcode"] == 0
    full = await app_api.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": user})
    assert full["errcode"] == 41045
    # temporary configs do not count against it
    temp = {"type": 1, "scene": 2, "user": user, "is_temp": True}
    assert (await app_api.post("externalcontact/add_contact_way", temp))["errcode"] == 0
    await app_api.post("externalcontact/groupchat/del_join_way", {"config_id": join["config_id"]})
    assert (await app_api.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": user}))[
        "errcode"
    ] == 0


async def test_list_pages_cover_each_config_once(app_api: WeCom, emu_state: EmulatorState) -> None:
    user = _able(emu_state)
    made = set()
    for _ in range(7):
        answer = await app_api.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": user})
        made.add(answer["config_id"])
    await app_api.post(
        "externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": user, "is_temp": True}
    )
    seen: list[str] = []
    cursor = ""
    while True:
        page = await app_api.post("externalcontact/list_contact_way", {"limit": 3, "cursor": cursor})
        assert len(page["contact_way"]) <= 3
        seen += [w["config_id"] for w in page["contact_way"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)  # once each, temporary ones excluded


async def test_join_ways(app_api: WeCom, contact_api: WeCom, emu_state: EmulatorState) -> None:
    chats = [
        r["chat_id"]
        for r in emu_state.store.all(
            "SELECT g.chat_id FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1 LIMIT 6"
        )
    ]
    six = await app_api.post("externalcontact/groupchat/add_join_way", {"scene": 2, "chat_id_list": chats})
    assert six["errcode"] == 41091
    body = {
        "scene": 2,
        "chat_id_list": chats[:2],
        "state": "live_room_0618",
        "remark": "r" * 40,
        "room_base_name": "粉丝群",
    }
    made = await app_api.post("externalcontact/groupchat/add_join_way", body)
    got = (await app_api.post("externalcontact/groupchat/get_join_way", {"config_id": made["config_id"]}))[
        "join_way"
    ]
    assert got["chat_id_list"] == chats[:2]
    assert got["remark"] == "r" * 30  # a long remark is truncated
    assert (got["auto_create_room"], got["room_base_id"], got["state"]) == (1, 1, "live_room_0618")
    update = {"config_id": made["config_id"], "scene": 2, "chat_id_list": chats[2:3]}
    assert (await app_api.post("externalcontact/groupchat/update_join_way", update))["errcode"] == 0
    got = (await app_api.post("externalcontact/groupchat/get_join_way", {"config_id": made["config_id"]}))[
        "join_way"
    ]
    assert (got["chat_id_list"], got["state"]) == (chats[2:3], "")  # overwrite semantics
    # another app (here: the 客户联系 secret) cannot touch it
    other = await contact_api.post("externalcontact/groupchat/del_join_way", {"config_id": made["config_id"]})
    assert other["errcode"] == 48002


async def test_scanning_a_contact_way(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport, app_api: WeCom
) -> None:
    [userid] = _able(emu_state)
    verified = await app_api.post(
        "externalcontact/add_contact_way",
        {"type": 1, "scene": 2, "user": [userid], "state": "expo_shanghai_2024", "skip_verify": False},
    )
    skip = await app_api.post(
        "externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [userid], "state": "s2"}
    )
    assert emu_state.deliveries.pending == []  # API calls send nothing
    first = scenarios.customer_scans_contact_way(emu_state, company.corp_id, verified["config_id"])
    second = scenarios.customer_scans_contact_way(emu_state, company.corp_id, skip["config_id"])
    await emu_state.deliveries.drain()
    add, half = receiver.events
    # skip_verify off: the member accepted the request; on: added before the member confirmed
    assert (add["ChangeType"], add["State"], add["UserID"]) == (
        "add_external_contact",
        "expo_shanghai_2024",
        userid,
    )
    assert (half["ChangeType"], half["State"]) == ("add_half_external_contact", "s2")
    assert add["ExternalUserID"] == first.data["external_userid"]
    assert half["WelcomeCode"] == second.data["welcome_code"]
    follow = (await app_api.get("externalcontact/get", external_userid=add["ExternalUserID"]))["follow_user"][
        0
    ]
    assert (follow["add_way"], follow["state"], follow["oper_userid"]) == (
        1,
        "expo_shanghai_2024",
        add["ExternalUserID"],
    )
    # the welcome code: fresh, 20 s, single use
    welcome = {"welcome_code": add["WelcomeCode"], "text": {"content": "欢迎"}}
    assert (await app_api.post("externalcontact/send_welcome_msg", welcome))["errcode"] == 0
    assert (await app_api.post("externalcontact/send_welcome_msg", welcome))["errcode"] == 41051
    emu_state.clock.advance(21)
    late = {"welcome_code": half["WelcomeCode"], "text": {"content": "欢迎"}}
    assert (await app_api.post("externalcontact/send_welcome_msg", late))["errcode"] == 41050


async def test_a_temporary_contact_way_works_once(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    made = await app_api.post(
        "externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": _able(emu_state), "is_temp": True}
    )
    scenarios.customer_scans_contact_way(emu_state, company.corp_id, made["config_id"])
    with pytest.raises(scenarios.ScenarioError):
        scenarios.customer_scans_contact_way(emu_state, company.corp_id, made["config_id"])


async def test_scanning_a_join_way(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport, app_api: WeCom
) -> None:
    chat_id = emu_state.store.scalar(
        "SELECT g.chat_id FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1"
    )
    made = await app_api.post(
        "externalcontact/groupchat/add_join_way",
        {
            "scene": 2,
            "chat_id_list": [chat_id],
            "state": "live_room_0618",
            "room_base_name": "粉丝群",
            "room_base_id": 7,
        },
    )
    joined = scenarios.customer_scans_join_way(emu_state, company.corp_id, made["config_id"])
    chat = (await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"]
    me = next(m for m in chat["member_list"] if m["userid"] == joined.data["external_userid"])
    assert (me["join_scene"], me["state"]) == (3, "live_room_0618")
    # the group is full: a new one is made for the next customer
    emu_state.settings.group_member_cap = len(chat["member_list"])
    again = scenarios.customer_scans_join_way(emu_state, company.corp_id, made["config_id"])
    assert again.data["chat_id"] != chat_id
    new = (await app_api.post("externalcontact/groupchat/get", {"chat_id": again.data["chat_id"]}))[
        "group_chat"
    ]
    assert new["name"] == "粉丝群7"
    await emu_state.deliveries.drain()
    kinds = [(e["ChangeType"], e.get("UpdateDetail"), e["ChatId"]) for e in receiver.events]
    assert kinds == [
        ("update", "add_member", chat_id),
        ("create", None, again.data["chat_id"]),
        ("update", "add_member", again.data["chat_id"]),
    ]
    way = (await app_api.post("externalcontact/groupchat/get_join_way", {"config_id": made["config_id"]}))[
        "join_way"
    ]
    assert way["chat_id_list"] == [chat_id, again.data["chat_id"]]
