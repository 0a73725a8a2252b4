"""§8 mass messages: creating tasks with their checks, the member's confirmation setting each
recipient's status (receive cap → 3, not a friend → 2, deselected → 0), reminders, cancelling,
and paging that covers each record once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wecom_emulator.conftest import Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


def _busy_member(state: EmulatorState) -> str:
    userid: str = state.store.scalar(
        "SELECT m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1 AND m.status = 1"
        " AND m.customer_contact = 1 AND f.customer_deleted = 0 GROUP BY m.pk ORDER BY count(*) DESC LIMIT 1"
    )
    return userid


def _customers(state: EmulatorState, userid: str) -> list[str]:
    rows = state.store.all(
        "SELECT c.external_userid FROM follow f JOIN customer c ON c.pk = f.customer_pk JOIN member m"
        " ON m.pk = f.member_pk WHERE m.userid = ? ORDER BY f.pk",
        (userid,),
    )
    return [r["external_userid"] for r in rows]


async def _walk(api: WeCom, path: str, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await api.post(path, {**body, "cursor": cursor})
        assert page["errcode"] == 0, page
        seen += page[key]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


async def test_single_message_to_a_members_customers(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport, receiver: Receiver
) -> None:
    sender = _busy_member(emu_state)
    customers = _customers(emu_state, sender)
    made = await app_api.post(
        "externalcontact/add_msg_template",
        {"sender": sender, "text": {"content": "双十一大促"}, "external_userid": [*customers[:5], "wmNOPE"]},
    )
    assert made["errcode"] == 0
    assert made["msgid"].startswith("msg")
    assert made["fail_list"] == ["wmNOPE"]
    task = await app_api.post("externalcontact/get_groupmsg_task", {"msgid": made["msgid"]})
    assert task["task_list"] == [{"userid": sender, "status": 0}]
    before = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": sender}
    )
    assert {r["status"] for r in before["send_list"]} == {0}
    assert all("send_time" not in r for r in before["send_list"])
    # the customer drops the member before the member confirms: not a friend any more (2)
    scenarios.member_deletes_customer(emu_state, company.corp_id, sender, customers[0])
    emu_state.clock.advance(60)
    done = scenarios.member_confirms_mass_message(emu_state, company.corp_id, made["msgid"], sender)
    assert done.deliveries == []
    result = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": sender}
    )
    statuses = {r["external_userid"]: r["status"] for r in result["send_list"]}
    assert statuses == {customers[0]: 2, **dict.fromkeys(customers[1:5], 1)}
    sent = [r for r in result["send_list"] if r["status"] == 1]
    assert all(r["send_time"] == emu_state.clock.timestamp() for r in sent)
    task = await app_api.post("externalcontact/get_groupmsg_task", {"msgid": made["msgid"]})
    assert task["task_list"][0]["status"] == 2
    # confirming a task is not an event WeCom sends (only the member_deletes_customer was)
    await emu_state.deliveries.drain()
    assert [e["ChangeType"] for e in receiver.events] == ["del_external_contact"]


async def test_receive_cap_gives_status_3(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    emu_state.settings.mass_cap_period = "day"  # the admin chose 1 per day
    sender = _busy_member(emu_state)
    customer = _customers(emu_state, sender)[0]
    body = {"sender": sender, "external_userid": [customer], "text": {"content": "hi"}}
    first = await app_api.post("externalcontact/add_msg_template", body)
    second = await app_api.post("externalcontact/add_msg_template", body)
    scenarios.member_confirms_mass_message(emu_state, company.corp_id, first["msgid"], sender)
    scenarios.member_confirms_mass_message(emu_state, company.corp_id, second["msgid"], sender)
    result = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": second["msgid"], "userid": sender}
    )
    assert [r["status"] for r in result["send_list"]] == [3]
    # a new day, a new allowance
    emu_state.clock.advance(24 * 3600)
    await app_api.fetch_token()  # the old one expired
    third = await app_api.post("externalcontact/add_msg_template", body)
    scenarios.member_confirms_mass_message(emu_state, company.corp_id, third["msgid"], sender)
    result = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": third["msgid"], "userid": sender}
    )
    assert [r["status"] for r in result["send_list"]] == [1]


async def test_default_cap_is_the_days_of_the_month(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    emu_state.settings.mass_cap_count = 2  # e.g. two per month instead of 28-31, to keep the test short
    sender = _busy_member(emu_state)
    customer = _customers(emu_state, sender)[0]
    body = {"sender": sender, "external_userid": [customer], "text": {"content": "hi"}}
    statuses = []
    for _ in range(3):
        made = await app_api.post("externalcontact/add_msg_template", body)
        scenarios.member_confirms_mass_message(emu_state, company.corp_id, made["msgid"], sender)
        result = await app_api.post(
            "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": sender}
        )
        statuses += [r["status"] for r in result["send_list"]]
    assert statuses == [1, 1, 3]


async def test_deselected_recipients_stay_0(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    sender = _busy_member(emu_state)
    customers = _customers(emu_state, sender)[:3]
    made = await app_api.post(
        "externalcontact/add_msg_template",
        {"sender": sender, "external_userid": customers, "text": {"content": "hi"}, "allow_select": True},
    )
    scenarios.member_confirms_mass_message(
        emu_state, company.corp_id, made["msgid"], sender, external_userids=customers[:1]
    )
    result = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": sender}
    )
    assert [r["status"] for r in result["send_list"]] == [1, 0, 0]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"text": {"content": "x"}}, 40058),  # neither external_userid nor sender
        ({"chat_type": "group", "text": {"content": "x"}}, 40058),  # group needs a sender
        ({"chat_type": "nope", "sender": "S", "text": {"content": "x"}}, 40058),
        ({"sender": "S"}, 40063),  # nothing to send
        ({"sender": "S", "text": {"content": "x" * 4001}}, 40058),
        (
            {"sender": "S", "attachments": [{"msgtype": "link", "link": {"title": "t", "url": "u"}}] * 10},
            41064,
        ),
        ({"sender": "S", "attachments": [{"msgtype": "voice", "voice": {}}]}, 41065),
        ({"sender": "S", "attachments": [{"msgtype": "image", "image": {"media_id": "nope"}}]}, 40007),
        ({"sender": "S", "attachments": [{"msgtype": "link", "link": {"url": "u"}}]}, 40058),
        (
            {
                "sender": "S",
                "text": {"content": "x"},
                "tag_filter": {"group_list": [{"tag_list": ["etNOPE"]}]},
            },
            40068,
        ),
        ({"sender": "S", "text": {"content": "x"}, "external_userid": ["x"] * 10_001}, 40058),
        ({"external_userid": ["wmNOPE"], "text": {"content": "x"}}, 41048),
    ],
)
async def test_add_msg_template_errors(
    app_api: WeCom, emu_state: EmulatorState, body: dict[str, Any], errcode: int
) -> None:
    if body.get("sender") == "S":
        body = {**body, "sender": _busy_member(emu_state)}
    answer = await app_api.post("externalcontact/add_msg_template", body)
    assert answer["errcode"] == errcode, answer
    assert answer["msgid"] == ""


async def test_tag_filter(app_api: WeCom, emu_state: EmulatorState) -> None:
    sender = _busy_member(emu_state)
    tag = emu_state.store.scalar(
        "SELECT f.tag_ids FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.userid = ? AND f.tag_ids != ''",
        (sender,),
    ).split(",")[0]
    made = await app_api.post(
        "externalcontact/add_msg_template",
        {"sender": sender, "text": {"content": "x"}, "tag_filter": {"group_list": [{"tag_list": [tag]}]}},
    )
    sends = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": sender}
    )
    expected = emu_state.store.scalar(
        "SELECT count(*) FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.userid = ?"
        " AND f.customer_deleted = 0 AND (',' || f.tag_ids || ',') LIKE ?",
        (sender, f"%,{tag},%"),
    )
    assert len(sends["send_list"]) == expected > 0


async def test_group_message(app_api: WeCom, emu_state: EmulatorState, company: SeedReport) -> None:
    owner = emu_state.store.scalar(
        "SELECT m.userid FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.visible = 1 AND m.status = 1"
        " AND m.customer_contact = 1 GROUP BY m.pk ORDER BY count(*) DESC"
    )
    made = await app_api.post(
        "externalcontact/add_msg_template",
        {"chat_type": "group", "sender": owner, "text": {"content": "群发"}},
    )
    assert made["errcode"] == 0
    # the owner has not picked groups: nothing is listed yet
    empty = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": owner}
    )
    assert empty["send_list"] == []
    scenarios.member_confirms_mass_message(emu_state, company.corp_id, made["msgid"], owner)
    sent = await app_api.post(
        "externalcontact/get_groupmsg_send_result", {"msgid": made["msgid"], "userid": owner}
    )
    owned = emu_state.store.scalar(
        "SELECT count(*) FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.userid = ?", (owner,)
    )
    assert len(sent["send_list"]) == owned
    assert {r["status"] for r in sent["send_list"]} == {1}
    assert all(r["chat_id"].startswith("wr") for r in sent["send_list"])


async def test_remind_and_cancel(app_api: WeCom, emu_state: EmulatorState, company: SeedReport) -> None:
    sender = _busy_member(emu_state)
    made = await app_api.post(
        "externalcontact/add_msg_template", {"sender": sender, "text": {"content": "x"}}
    )
    body = {"msgid": made["msgid"]}
    for _ in range(3):
        assert (await app_api.post("externalcontact/remind_groupmsg_send", body))["errcode"] == 0
    assert (await app_api.post("externalcontact/remind_groupmsg_send", body))["errcode"] == 41094
    emu_state.clock.advance(24 * 3600 + 1)  # a rolling 24 hours
    await app_api.fetch_token()
    assert (await app_api.post("externalcontact/remind_groupmsg_send", body))["errcode"] == 0
    assert (await app_api.post("externalcontact/cancel_groupmsg_send", body))["errcode"] == 0
    assert (await app_api.post("externalcontact/cancel_groupmsg_send", body))["errcode"] == 41093
    with pytest.raises(scenarios.ScenarioError):
        scenarios.member_confirms_mass_message(emu_state, company.corp_id, made["msgid"], sender)
    assert (await app_api.post("externalcontact/get_groupmsg_task", {}))["errcode"] == 41046
    assert (await app_api.post("externalcontact/get_groupmsg_task", {"msgid": "msgNOPE"}))["errcode"] == 41047


async def test_being_dispatched_right_after_creation(app_api: WeCom, emu_state: EmulatorState) -> None:
    emu_state.settings.mass_dispatch_seconds = 2
    made = await app_api.post(
        "externalcontact/add_msg_template", {"sender": _busy_member(emu_state), "text": {"content": "x"}}
    )
    assert (await app_api.post("externalcontact/get_groupmsg_task", {"msgid": made["msgid"]}))[
        "errcode"
    ] == 41063
    emu_state.clock.advance(2)
    assert (await app_api.post("externalcontact/get_groupmsg_task", {"msgid": made["msgid"]}))["errcode"] == 0


async def test_paging_covers_each_record_once(app_api: WeCom, emu_state: EmulatorState) -> None:
    sender = _busy_member(emu_state)
    customers = _customers(emu_state, sender)
    start = emu_state.clock.timestamp()
    msgids = []
    for _ in range(5):
        made = await app_api.post(
            "externalcontact/add_msg_template", {"sender": sender, "text": {"content": "x"}}
        )
        msgids.append(made["msgid"])
    # a message without a sender goes to each customer's follower: one task per member
    spread = await app_api.post(
        "externalcontact/add_msg_template", {"external_userid": customers[:50], "text": {"content": "x"}}
    )
    listed = await _walk(
        app_api,
        "externalcontact/get_groupmsg_list_v2",
        "group_msg_list",
        {"chat_type": "single", "start_time": start, "end_time": start + 10, "limit": 2},
    )
    assert [m["msgid"] for m in listed] == [*msgids, spread["msgid"]]
    assert all("creator" not in m and m["create_type"] == 0 for m in listed)  # API-made
    sends = await _walk(
        app_api,
        "externalcontact/get_groupmsg_send_result",
        "send_list",
        {"msgid": msgids[0], "userid": sender, "limit": 7},
    )
    assert sorted(r["external_userid"] for r in sends) == sorted(
        set(_customers(emu_state, sender))
        & {
            r["external_userid"]
            for r in emu_state.store.all(
                "SELECT c.external_userid FROM follow f JOIN customer c ON c.pk = f.customer_pk JOIN member m"
                " ON m.pk = f.member_pk WHERE m.userid = ? AND f.customer_deleted = 0",
                (sender,),
            )
        }
    )
    assert len(sends) == len({r["external_userid"] for r in sends})
    tasks = await _walk(
        app_api, "externalcontact/get_groupmsg_task", "task_list", {"msgid": spread["msgid"], "limit": 1}
    )
    assert len(tasks) == len({t["userid"] for t in tasks}) >= 1
    too_long = {"chat_type": "single", "start_time": start, "end_time": start + 32 * 86400}
    assert (await app_api.post("externalcontact/get_groupmsg_list_v2", too_long))["errcode"] == 40058
