"""§10 inheritance: transfers wait 24 h on the emulator's clock, then take over with
del_external_contact (Source=DELETE_BY_TRANSFER) or fail with transfer_fail; the on-job quota;
a member resigning; the unassigned list; group-owner transfers and their errcodes."""

from __future__ import annotations

from tests.wecom_emulator.conftest import Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport

DAY = 24 * 3600


def _two_members(state: EmulatorState) -> tuple[str, str, list[str]]:
    """(handover with customers, another able member, handover's customers the other lacks)."""
    rows = state.store.all(
        "SELECT m.pk, m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1"
        " AND m.status = 1 AND m.customer_contact = 1 GROUP BY m.pk ORDER BY count(*) DESC LIMIT 2"
    )
    handover, takeover = rows[0], rows[1]
    customers = state.store.all(
        "SELECT c.external_userid FROM follow f JOIN customer c ON c.pk = f.customer_pk WHERE f.member_pk = ?"
        " AND NOT EXISTS (SELECT 1 FROM follow o WHERE o.customer_pk = f.customer_pk AND o.member_pk = ?)"
        " ORDER BY f.pk",
        (handover["pk"], takeover["pk"]),
    )
    return handover["userid"], takeover["userid"], [r["external_userid"] for r in customers]


async def test_onjob_transfer_takes_over_after_24_hours(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport, receiver: Receiver
) -> None:
    handover, takeover, customers = _two_members(emu_state)
    pair = {"handover_userid": handover, "takeover_userid": takeover}
    started = await app_api.post(
        "externalcontact/transfer_customer",
        {**pair, "external_userid": [customers[0], customers[1], "wmNOPE"]},
    )
    assert started["customer"] == [
        {"external_userid": customers[0], "errcode": 0},
        {"external_userid": customers[1], "errcode": 0},
        {"external_userid": "wmNOPE", "errcode": 40096},
    ]
    again = await app_api.post(
        "externalcontact/transfer_customer", {**pair, "external_userid": [customers[0]]}
    )
    assert again["customer"][0]["errcode"] == 40100  # already being transferred
    scenarios.customer_refuses_transfer(emu_state, company.corp_id, customers[1])
    due = emu_state.clock.timestamp() + DAY
    waiting = await app_api.post("externalcontact/transfer_result", pair)
    assert [(c["status"], c["takeover_time"]) for c in waiting["customer"]] == [(2, due), (2, due)]
    emu_state.clock.advance(DAY - 1)
    await emu_state.deliveries.drain()
    assert receiver.events == []
    emu_state.clock.advance(1)
    await app_api.fetch_token()
    done = await app_api.post("externalcontact/transfer_result", pair)
    assert [c["status"] for c in done["customer"]] == [1, 3]
    # the takeover member has the customer, the handover member does not
    assert customers[0] in (await app_api.get("externalcontact/list", userid=takeover))["external_userid"]
    assert customers[0] not in (await app_api.get("externalcontact/list", userid=handover))["external_userid"]
    follow = next(
        f
        for f in (await app_api.get("externalcontact/get", external_userid=customers[0]))["follow_user"]
        if f["userid"] == takeover
    )
    assert follow["createtime"] == due
    await emu_state.deliveries.drain()
    events = [
        (e["ChangeType"], e["UserID"], e["ExternalUserID"], e.get("Source"), e.get("FailReason"))
        for e in receiver.events
    ]
    assert events == [
        ("del_external_contact", handover, customers[0], "DELETE_BY_TRANSFER", None),
        ("transfer_fail", takeover, customers[1], None, "customer_refused"),
    ]
    assert all(e["CreateTime"] == str(due) for e in receiver.events)


async def test_onjob_quota_is_two_per_90_days(app_api: WeCom, emu_state: EmulatorState) -> None:
    a, b, customers = _two_members(emu_state)
    customer = customers[0]
    for handover, takeover in ((a, b), (b, a)):
        body = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": [customer]}
        assert (await app_api.post("externalcontact/transfer_customer", body))["customer"][0]["errcode"] == 0
        emu_state.clock.advance(DAY)
        await app_api.fetch_token()
    third = {"handover_userid": a, "takeover_userid": b, "external_userid": [customer]}
    assert (await app_api.post("externalcontact/transfer_customer", third))["customer"][0]["errcode"] == 45009
    emu_state.clock.advance(89 * DAY)
    await app_api.fetch_token()
    assert (await app_api.post("externalcontact/transfer_customer", third))["customer"][0]["errcode"] == 0


async def test_takeover_at_its_cap_fails(
    app_api: WeCom, emu_state: EmulatorState, receiver: Receiver
) -> None:
    handover, takeover, customers = _two_members(emu_state)
    emu_state.settings.member_customer_cap = 1
    body = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:1]}
    await app_api.post("externalcontact/transfer_customer", body)
    emu_state.clock.advance(DAY)
    await emu_state.deliveries.drain()
    assert [(e["ChangeType"], e["FailReason"]) for e in receiver.events] == [
        ("transfer_fail", "customer_limit_exceed")
    ]


async def test_resigned_members_customers(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport, receiver: Receiver
) -> None:
    handover, takeover, customers = _two_members(emu_state)
    body = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:2]}
    not_yet = await app_api.post("externalcontact/resigned/transfer_customer", body)
    assert not_yet["errcode"] == 40097
    resigned = scenarios.member_resigns(emu_state, company.corp_id, handover)
    await emu_state.deliveries.drain()
    assert [(e["Event"], e["ChangeType"], e["UserID"]) for e in receiver.events] == [
        ("change_contact", "delete_user", handover)
    ]
    unassigned = await app_api.post("externalcontact/get_unassigned_list", {"page_size": 1000})
    mine = [i for i in unassigned["info"] if i["handover_userid"] == handover]
    assert len(mine) == resigned.data["customers"]
    assert {i["dimission_time"] for i in mine} == {emu_state.clock.timestamp()}
    started = await app_api.post("externalcontact/resigned/transfer_customer", body)
    assert [c["errcode"] for c in started["customer"]] == [0, 0]
    pair = {"handover_userid": handover, "takeover_userid": takeover}
    assert {
        c["status"]
        for c in (await app_api.post("externalcontact/resigned/transfer_result", pair))["customer"]
    } == {2}
    # being handed over: no longer unassigned
    after = await _walk_unassigned(app_api)
    assert not {(handover, c) for c in customers[:2]} & after
    emu_state.clock.advance(DAY)
    await app_api.fetch_token()
    assert {
        c["status"]
        for c in (await app_api.post("externalcontact/resigned/transfer_result", pair))["customer"]
    } == {1}
    # the on-job result does not list resigned transfers
    assert (await app_api.post("externalcontact/transfer_result", pair))["customer"] == []


async def _walk_unassigned(api: WeCom) -> set[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    cursor = ""
    while True:
        page = await api.post("externalcontact/get_unassigned_list", {"page_size": 7, "cursor": cursor})
        seen += [(i["handover_userid"], i["external_userid"]) for i in page["info"]]
        cursor = page["next_cursor"]
        if not cursor:
            assert page["is_last"]
            break
    assert len(seen) == len(set(seen))
    return set(seen)


async def test_unassigned_list_paging(app_api: WeCom, emu_state: EmulatorState) -> None:
    expected = emu_state.store.scalar(
        "SELECT count(*) FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.status = 5"
    )
    assert len(await _walk_unassigned(app_api)) == expected > 0
    by_page = await app_api.post("externalcontact/get_unassigned_list", {"page_id": 0, "page_size": 5})
    assert "next_cursor" not in by_page
    assert len(by_page["info"]) == min(5, expected)
    too_far = await app_api.post("externalcontact/get_unassigned_list", {"page_id": 50, "page_size": 1000})
    assert too_far["errcode"] == 40058


async def test_group_transfers(app_api: WeCom, emu_state: EmulatorState, company: SeedReport) -> None:
    rows = emu_state.store.all(
        "SELECT g.chat_id, m.userid FROM groupchat g JOIN member m ON m.pk = g.owner_pk WHERE m.status = 1"
        " AND m.visible = 1 AND m.customer_contact = 1 ORDER BY g.pk"
    )
    chat_id, owner = rows[0]["chat_id"], rows[0]["userid"]
    new_owner = next(r["userid"] for r in rows if r["userid"] != owner)
    other_owner_chat = next(r["chat_id"] for r in rows if r["userid"] == new_owner)
    resigned = await app_api.post(
        "externalcontact/groupchat/transfer", {"chat_id_list": [chat_id], "new_owner": new_owner}
    )
    assert [f["errcode"] for f in resigned["failed_chat_list"]] == [90500]  # the owner did not resign
    onjob = await app_api.post(
        "externalcontact/groupchat/onjob_transfer",
        {"chat_id_list": [chat_id, other_owner_chat, "wrNOPE"], "new_owner": new_owner},
    )
    assert [(f["chat_id"], f["errcode"]) for f in onjob["failed_chat_list"]] == [
        (other_owner_chat, 90504),
        ("wrNOPE", 90501),
    ]
    chat = (await app_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"]
    assert chat["owner"] == new_owner
    back = await app_api.post(
        "externalcontact/groupchat/onjob_transfer", {"chat_id_list": [chat_id], "new_owner": owner}
    )
    assert back["failed_chat_list"] == []
    third = await app_api.post(
        "externalcontact/groupchat/onjob_transfer", {"chat_id_list": [chat_id], "new_owner": new_owner}
    )
    assert [f["errcode"] for f in third["failed_chat_list"]] == [45009]  # 2 per 90 days
    # the owner resigns: the group waits for inheritance, on-job transfer is refused
    scenarios.member_resigns(emu_state, company.corp_id, owner)
    listed = await app_api.post("externalcontact/groupchat/list", {"limit": 1000, "status_filter": 1})
    assert chat_id in [g["chat_id"] for g in listed["group_chat_list"]]
    body = {"chat_id_list": [chat_id], "new_owner": new_owner}
    assert [
        f["errcode"]
        for f in (await app_api.post("externalcontact/groupchat/onjob_transfer", body))["failed_chat_list"]
    ] == [90502]
    assert (await app_api.post("externalcontact/groupchat/transfer", body))["failed_chat_list"] == []
    assert [
        f["errcode"]
        for f in (await app_api.post("externalcontact/groupchat/transfer", body))["failed_chat_list"]
    ] == [90508]
    inherited = await app_api.post("externalcontact/groupchat/list", {"limit": 1000, "status_filter": 3})
    assert chat_id in [g["chat_id"] for g in inherited["group_chat_list"]]
