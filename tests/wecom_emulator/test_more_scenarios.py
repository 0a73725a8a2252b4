"""§12 statistics from the state (and deterministic synthetic chat figures), opengid_to_chatid,
the smaller scenarios (edit_external_contact, group create and dismiss, change_contact), and the
control API's settings and clock."""

from __future__ import annotations

import httpx

from tests.wecom_emulator.conftest import Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.clock import day_start
from wecom_emulator.seed import SeedReport

DAY = 24 * 3600


def _able(state: EmulatorState) -> str:
    userid: str = state.store.scalar(
        "SELECT m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1 AND m.status = 1"
        " AND m.customer_contact = 1 GROUP BY m.pk ORDER BY count(*) DESC LIMIT 1"
    )
    return userid


async def test_behaviour_data_counts_adds_and_deletes(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    userid = _able(emu_state)
    today = day_start(emu_state.clock.timestamp())
    added = [
        scenarios.customer_adds_member(emu_state, company.corp_id, userid).data["external_userid"]
        for _ in range(3)
    ]
    scenarios.customer_deletes_member(emu_state, company.corp_id, userid, added[0])
    body = {"userid": [userid], "start_time": today - 2 * DAY, "end_time": today}
    first = await app_api.post("externalcontact/get_user_behavior_data", body)
    assert [d["stat_time"] for d in first["behavior_data"]] == [today - 2 * DAY, today - DAY, today]
    last = first["behavior_data"][-1]
    assert last["new_contact_cnt"] >= 3
    assert last["negative_feedback_cnt"] == 1
    assert (last["chat_cnt"], last["message_cnt"]) == (0, 0)  # nothing for today yet
    # synthetic figures are the same for the same question
    assert await app_api.post("externalcontact/get_user_behavior_data", body) == first
    for bad in (
        {"start_time": today, "end_time": today},
        {**body, "start_time": today - 30 * DAY},
        {**body, "start_time": today - 200 * DAY, "end_time": today - 190 * DAY},
    ):
        assert (await app_api.post("externalcontact/get_user_behavior_data", bad))["errcode"] == 40058


async def test_group_statistics(app_api: WeCom, emu_state: EmulatorState, company: SeedReport) -> None:
    owner = emu_state.store.scalar(
        "SELECT m.userid FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1"
        " GROUP BY m.pk ORDER BY count(*) DESC"
    )
    today = day_start(emu_state.clock.timestamp())
    emu_state.clock.advance(DAY)  # so that "today" becomes yesterday
    await app_api.fetch_token()
    scenarios.member_creates_group(emu_state, company.corp_id, owner, name="新群")  # today: not counted
    yesterday = {"day_begin_time": today, "owner_filter": {"userid_list": [owner]}}
    before = await app_api.post("externalcontact/groupchat/statistic", yesterday)
    assert before["total"] == before["next_offset"] == 1
    data = before["items"][0]["data"]
    owned_then = emu_state.store.scalar(
        "SELECT count(*) FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.userid = ? AND g.create_time < ?",
        (owner, today + DAY),
    )
    assert data["chat_total"] == owned_then
    assert 0 <= data["chat_has_msg"] <= data["chat_total"]
    assert data["member_has_msg"] <= data["member_total"]
    by_day = await app_api.post(
        "externalcontact/groupchat/statistic_group_by_day",
        {**yesterday, "day_begin_time": today - DAY, "day_end_time": today},
    )
    assert [i["stat_time"] for i in by_day["items"]] == [today - DAY, today]
    assert by_day["items"][1]["data"] == data
    not_yet = await app_api.post(
        "externalcontact/groupchat/statistic", {**yesterday, "day_begin_time": today + DAY}
    )
    assert not_yet["errcode"] == 40058
    everyone = await app_api.post(
        "externalcontact/groupchat/statistic", {"day_begin_time": today, "limit": 3, "order_by": 2}
    )
    totals = [i["data"]["chat_total"] for i in everyone["items"]]
    assert totals == sorted(totals, reverse=True)
    assert everyone["next_offset"] == 3


async def test_opengid_to_chatid(
    emu: httpx.AsyncClient, app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    chat_id = emu_state.store.scalar(
        "SELECT g.chat_id FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1"
    )
    answer = await emu.get(f"/_emulator/corps/{company.corp_id}/groups/{chat_id}/opengid")
    opengid = answer.json()["opengid"]
    assert (await emu.get(f"/_emulator/corps/{company.corp_id}/groups/{chat_id}/opengid")).json()[
        "opengid"
    ] == opengid
    assert (await app_api.post("externalcontact/opengid_to_chatid", {"opengid": opengid}))[
        "chat_id"
    ] == chat_id
    unknown = await app_api.post("externalcontact/opengid_to_chatid", {"opengid": "nope"})
    assert (unknown["errcode"], unknown["chat_id"]) == (40058, "")


async def test_smaller_scenarios_send_their_events(
    receiver: Receiver, app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    userid = _able(emu_state)
    customer = (await app_api.get("externalcontact/list", userid=userid))["external_userid"][0]
    tag = emu_state.store.scalar("SELECT tag_id FROM tag WHERE deleted = 0")
    scenarios.member_edits_customer(
        emu_state, company.corp_id, userid, customer, remark="老王", add_tags=[tag]
    )
    follow = next(
        f
        for f in (await app_api.get("externalcontact/get", external_userid=customer))["follow_user"]
        if f["userid"] == userid
    )
    assert follow["remark"] == "老王"
    assert tag in [t["tag_id"] for t in follow["tags"]]
    chat_id = scenarios.member_creates_group(emu_state, company.corp_id, userid, name="售后群").data[
        "chat_id"
    ]
    assert (await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"][
        "name"
    ] == "售后群"
    scenarios.member_dismisses_group(emu_state, company.corp_id, chat_id)
    assert (await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["errcode"] == 86003
    scenarios.admin_creates_member(
        emu_state, company.corp_id, "NewHire", "新同事", department=[1], mobile="13800000000"
    )
    scenarios.admin_updates_member(
        emu_state, company.corp_id, "NewHire", name="新同事二", new_userid="NewHire2"
    )
    assert (await app_api.get("user/get", userid="NewHire2"))["name"] == "新同事二"
    await emu_state.deliveries.drain()
    seen = [(e["Event"], e["ChangeType"]) for e in receiver.events]
    assert seen == [
        ("change_external_contact", "edit_external_contact"),
        ("change_external_chat", "create"),
        ("change_external_chat", "dismiss"),
        ("change_contact", "create_user"),
        ("change_contact", "update_user"),
    ]
    create, update = receiver.events[3], receiver.events[4]
    assert (create["UserID"], create["Name"], create["Department"], create["Status"]) == (
        "NewHire",
        "新同事",
        "1",
        "1",
    )
    assert "Mobile" not in create  # withheld from newer apps
    assert (update["UserID"], update["NewUserID"], update["Name"]) == ("NewHire", "NewHire2", "新同事二")
    assert "Department" not in update  # only what changed


async def test_control_api_settings_and_clock(
    emu: httpx.AsyncClient, receiver: Receiver, app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    assert (
        await emu.put("/_emulator/settings", json={"mass_cap_period": "week", "member_customer_cap": None})
    ).status_code == 200
    assert emu_state.settings.mass_cap_period == "week"
    assert (await emu.put("/_emulator/settings", json={"nope": 1})).status_code == 400
    assert (await emu.put("/_emulator/settings", json={"transfer_delay": "soon"})).status_code == 400
    assert (await emu.get("/_emulator/settings")).json()["transfer_delay"] == DAY
    rows = emu_state.store.all(
        "SELECT m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1 AND m.status = 1"
        " AND m.customer_contact = 1 GROUP BY m.pk ORDER BY count(*) DESC LIMIT 2"
    )
    handover, takeover = rows[0]["userid"], rows[1]["userid"]
    customer = (await app_api.get("externalcontact/list", userid=handover))["external_userid"][0]
    await app_api.post(
        "externalcontact/transfer_customer",
        {"handover_userid": handover, "takeover_userid": takeover, "external_userid": [customer]},
    )
    scenario = await emu.post(
        "/_emulator/scenarios/customer_refuses_transfer",
        json={"corp_id": company.corp_id, "external_userid": customer},
    )
    assert scenario.status_code == 200
    assert (await emu.post("/_emulator/clock/advance", json={"seconds": DAY})).status_code == 200
    drained = (await emu.post("/_emulator/deliveries/drain")).json()
    assert len(drained["delivered"]) == 1
    assert receiver.events[0]["ChangeType"] == "transfer_fail"
