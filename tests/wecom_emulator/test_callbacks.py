"""§13 callbacks: the URL handshake, encrypted events from scenarios, WeCom's retries, duplicates
and reordering, the welcome code, and no callbacks for API-made changes. Events are delivered into
a receiver ASGI app through an injected transport."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.wecom_emulator.conftest import AES_KEY, TOKEN, URL, Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


def _member(state: EmulatorState) -> str:
    userid: str = state.store.scalar(
        "SELECT userid FROM member WHERE status = 1 AND visible = 1 ORDER BY pk LIMIT 1"
    )
    return userid


async def test_handshake_must_succeed_before_saving(emu_state: EmulatorState, company: SeedReport) -> None:
    async def wrong_answer(request: Request) -> Response:
        return PlainTextResponse("success")

    emu_state.deliveries.transport = httpx.ASGITransport(
        app=Starlette(routes=[Route("/wecom/callback", wrong_answer)])
    )
    saved, reason = await emu_state.deliveries.configure(company.corp_id, URL, TOKEN, AES_KEY)
    assert not saved
    assert "echostr" in reason
    assert emu_state.corp(company.corp_id).callback_url is None
    # without a callback URL, nothing is queued
    scenarios.customer_adds_member(emu_state, company.corp_id, _member(emu_state))
    assert emu_state.deliveries.pending == []


async def test_customer_adds_member_through_a_contact_way(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport, app_api: WeCom
) -> None:
    userid = _member(emu_state)
    emu_state.clock.advance(10)
    outcome = scenarios.customer_adds_member(
        emu_state, company.corp_id, userid, name="李雷", contact_way_state="store_sh_xuhui"
    )
    await emu_state.deliveries.drain()
    assert len(receiver.events) == 1
    event = receiver.events[0]
    assert event["Event"] == "change_external_contact"
    assert event["ChangeType"] == "add_external_contact"
    assert event["FromUserName"] == "sys"
    assert event["ToUserName"] == company.corp_id
    assert event["UserID"] == userid
    assert event["ExternalUserID"] == outcome.data["external_userid"]
    assert event["State"] == "store_sh_xuhui"
    assert event["CreateTime"] == str(emu_state.clock.timestamp())
    # the customer is there for the client to read, with the state and add_way of the scan
    detail = await app_api.get("externalcontact/get", external_userid=event["ExternalUserID"])
    follow = detail["follow_user"][0]
    assert (follow["state"], follow["add_way"], follow["oper_userid"]) == (
        "store_sh_xuhui",
        1,
        event["ExternalUserID"],
    )
    # the welcome code: once, within 20 seconds
    welcome = {"welcome_code": event["WelcomeCode"], "text": {"content": "您好，欢迎！"}}
    assert (await app_api.post("externalcontact/send_welcome_msg", welcome))["errcode"] == 0
    assert (await app_api.post("externalcontact/send_welcome_msg", welcome))["errcode"] == 41051
    assert emu_state.welcome_messages[0]["text"] == "您好，欢迎！"


async def test_welcome_code_expires_after_20_seconds(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport, app_api: WeCom
) -> None:
    await app_api.fetch_token()
    code = scenarios.customer_adds_member(emu_state, company.corp_id, _member(emu_state)).data["welcome_code"]
    emu_state.clock.advance(21)
    late = await app_api.post(
        "externalcontact/send_welcome_msg", {"welcome_code": code, "text": {"content": "hi"}}
    )
    assert late["errcode"] == 41050


async def test_retries_until_the_receiver_accepts(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport
) -> None:
    receiver.fail_next = 2
    scenarios.customer_adds_member(emu_state, company.corp_id, _member(emu_state))
    [delivery] = await emu_state.deliveries.drain()
    assert [a.status_code for a in delivery.attempts] == [500]
    # the retry waits on the emulator's clock: nothing happens until it moves
    assert await emu_state.deliveries.drain() == []
    emu_state.clock.advance(4)
    assert await emu_state.deliveries.drain() == []
    emu_state.clock.advance(1)
    assert await emu_state.deliveries.drain() == [delivery]
    emu_state.clock.advance(5)
    await emu_state.deliveries.drain()
    assert [a.status_code for a in delivery.attempts] == [500, 500, 200]
    assert [a.at - delivery.created_at for a in delivery.attempts] == [0, 5, 10]
    assert delivery.delivered
    assert len(receiver.events) == 1


async def test_gives_up_after_three_attempts(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport
) -> None:
    receiver.fail_next = 5
    scenarios.customer_adds_member(emu_state, company.corp_id, _member(emu_state))
    [delivery] = await emu_state.deliveries.drain()
    for _ in range(5):
        emu_state.clock.advance(5)
        await emu_state.deliveries.drain()
    assert len(delivery.attempts) == 3
    assert emu_state.deliveries.pending == []
    assert not delivery.delivered
    assert receiver.events == []


async def test_a_timeout_counts_as_a_failed_attempt(
    emu_state: EmulatorState, company: SeedReport, receiver: Receiver
) -> None:
    calls = 0
    inner = httpx.ASGITransport(app=receiver.app)

    async def slow_then_fine(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("no answer within 5 s", request=request)
        return await inner.handle_async_request(request)

    emu_state.deliveries.transport = httpx.MockTransport(slow_then_fine)
    assert emu_state.deliveries.switches.timeout == 5.0
    scenarios.customer_adds_member(emu_state, company.corp_id, _member(emu_state))
    [delivery] = await emu_state.deliveries.drain()
    emu_state.clock.advance(5)
    await emu_state.deliveries.drain()
    assert [(a.status_code, a.error) for a in delivery.attempts] == [(None, "ReadTimeout"), (200, None)]


async def test_duplicates_and_reordering(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport
) -> None:
    emu_state.deliveries.switches.duplicate = True
    emu_state.deliveries.switches.order = "reverse"
    userid = _member(emu_state)
    first = scenarios.customer_adds_member(emu_state, company.corp_id, userid).data["external_userid"]
    emu_state.clock.advance(1)
    scenarios.member_deletes_customer(emu_state, company.corp_id, userid, first)
    await emu_state.deliveries.drain()
    kinds = [e["ChangeType"] for e in receiver.events]
    assert kinds == [
        "del_external_contact",
        "del_external_contact",
        "add_external_contact",
        "add_external_contact",
    ]
    assert receiver.events[0] == receiver.events[1]  # a duplicate carries the same event


async def test_customer_deletes_member_event(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport
) -> None:
    row = emu_state.store.one(
        "SELECT m.userid, c.external_userid FROM follow f JOIN member m ON m.pk = f.member_pk"
        " JOIN customer c ON c.pk = f.customer_pk LIMIT 1"
    )
    assert row is not None
    scenarios.customer_deletes_member(emu_state, company.corp_id, row["userid"], row["external_userid"])
    await emu_state.deliveries.drain()
    assert receiver.events[0]["ChangeType"] == "del_follow_user"
    assert receiver.events[0]["ExternalUserID"] == row["external_userid"]


async def test_group_join_and_quit(
    receiver: Receiver, emu_state: EmulatorState, company: SeedReport, contact_api: WeCom
) -> None:
    chat_id = emu_state.store.scalar("SELECT chat_id FROM groupchat LIMIT 1")
    before = (await contact_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"]
    joined = scenarios.customer_joins_group(emu_state, company.corp_id, chat_id, join_scene=3)
    who = joined.data["external_userid"]
    scenarios.customer_quits_group(emu_state, company.corp_id, chat_id, who)
    await emu_state.deliveries.drain()
    add, leave = receiver.events
    assert (add["Event"], add["ChangeType"], add["UpdateDetail"]) == (
        "change_external_chat",
        "update",
        "add_member",
    )
    assert (add["ChatId"], add["JoinScene"], add["MemChangeCnt"], add["MemChangeList"]) == (
        chat_id,
        "3",
        "1",
        who,
    )
    assert add["LastMemVer"] == before["member_version"]
    assert leave["UpdateDetail"] == "del_member"
    assert leave["QuitScene"] == "0"
    assert leave["LastMemVer"] == add["CurMemVer"]
    after = (await contact_api.post("externalcontact/groupchat/get", {"chat_id": chat_id}))["group_chat"]
    assert after["member_version"] == leave["CurMemVer"]
    assert who not in [m["userid"] for m in after["member_list"]]


async def test_admin_tag_events(receiver: Receiver, emu_state: EmulatorState, company: SeedReport) -> None:
    made = scenarios.admin_creates_tags(emu_state, company.corp_id, "新分组", ["甲", "乙"])
    scenarios.admin_edits_tag(emu_state, company.corp_id, made.data["tag_ids"][0], name="甲甲")
    scenarios.admin_deletes_tag(emu_state, company.corp_id, made.data["group_id"])
    await emu_state.deliveries.drain()
    seen = [(e["ChangeType"], e["TagType"], e["Id"]) for e in receiver.events]
    group, (a, b) = made.data["group_id"], made.data["tag_ids"]
    assert seen == [
        ("create", "tag_group", group),
        ("create", "tag", a),
        ("create", "tag", b),
        ("update", "tag", a),
        ("delete", "tag_group", group),
    ]


async def test_api_made_changes_send_no_callbacks(
    receiver: Receiver, emu_state: EmulatorState, app_api: WeCom, contact_api: WeCom
) -> None:
    await app_api.post(
        "externalcontact/add_corp_tag", {"group_name": "接口分组", "tag": [{"name": "接口标签"}]}
    )
    row = emu_state.store.one(
        "SELECT m.userid, c.external_userid FROM follow f JOIN member m ON m.pk = f.member_pk"
        " JOIN customer c ON c.pk = f.customer_pk WHERE m.visible = 1 LIMIT 1"
    )
    assert row is not None
    body = {"userid": row["userid"], "external_userid": row["external_userid"], "remark": "接口备注"}
    assert (await app_api.post("externalcontact/remark", body))["errcode"] == 0
    assert emu_state.deliveries.pending == []
    assert await emu_state.deliveries.drain() == []
    assert receiver.events == []


async def test_scenarios_over_http(
    emu: httpx.AsyncClient, receiver: Receiver, emu_state: EmulatorState, company: SeedReport
) -> None:
    userid = _member(emu_state)
    body = {"corp_id": company.corp_id, "userid": userid, "contact_way_state": "expo_shanghai_2024"}
    answer = await emu.post("/_emulator/scenarios/customer_adds_member", json=body)
    assert answer.status_code == 200
    assert answer.json()["deliveries"]
    drained = (await emu.post("/_emulator/deliveries/drain")).json()
    assert drained["delivered"] == answer.json()["deliveries"]
    assert receiver.events[0]["State"] == "expo_shanghai_2024"
    log = (await emu.get("/_emulator/deliveries")).json()
    assert log[0]["delivered"] is True
    bad = await emu.post("/_emulator/scenarios/customer_adds_member", json={**body, "userid": "nobody"})
    assert bad.status_code == 400
    assert (await emu.post("/_emulator/scenarios/no_such_thing", json={})).status_code == 404


@pytest.mark.parametrize("state_label", ["x" * 31])
async def test_contact_way_state_is_at_most_30_characters(
    emu_state: EmulatorState, company: SeedReport, state_label: str
) -> None:
    with pytest.raises(scenarios.ScenarioError):
        scenarios.customer_adds_member(
            emu_state, company.corp_id, _member(emu_state), contact_way_state=state_label
        )
