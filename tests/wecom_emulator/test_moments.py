"""§11 moments and media: uploads kept for 3 days and served back, add_moment_task results that
appear as the clock moves, publishing, the audience, likes and comments, cancelling; and §7.2
group welcome templates (their media, quota and edit right)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.wecom_emulator.conftest import Receiver, WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def _upload(
    api: WeCom, path: str, data: bytes = PNG, name: str = "cover.png", **params: Any
) -> dict[str, Any]:
    if not api.token:
        await api.fetch_token()
    response = await api.client.post(
        f"/cgi-bin/{path}",
        params={"access_token": api.token, **params},
        files={"media": (name, data, "image/png")},
    )
    body: dict[str, Any] = response.json()
    return body


async def test_media_upload_get_and_3_days(
    app_api: WeCom, emu_state: EmulatorState, emu: httpx.AsyncClient
) -> None:
    made = await _upload(app_api, "media/upload", type="image")
    assert made["errcode"] == 0
    assert (made["type"], made["created_at"]) == ("image", str(emu_state.clock.timestamp()))
    got = await emu.get(
        "/cgi-bin/media/get", params={"access_token": app_api.token, "media_id": made["media_id"]}
    )
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert "cover.png" in got.headers["content-disposition"]
    assert (await _upload(app_api, "media/upload", data=b"tiny", type="image"))["errcode"] == 40006
    assert (await _upload(app_api, "media/upload", type="gif"))["errcode"] == 40004
    emu_state.clock.advance(3 * 24 * 3600)
    await app_api.fetch_token()
    expired = await app_api.get("media/get", media_id=made["media_id"])
    assert expired["errcode"] == 40007


async def test_upload_attachment(app_api: WeCom) -> None:
    moments = await _upload(app_api, "media/upload_attachment", media_type="image", attachment_type=1)
    assert moments["errcode"] == 0
    file_for_moments = await _upload(app_api, "media/upload_attachment", media_type="file", attachment_type=1)
    assert file_for_moments["errcode"] == 40004  # moments take images and videos only


def _senders(state: EmulatorState, count: int) -> list[str]:
    rows = state.store.all(
        "SELECT m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1 AND m.status = 1"
        " AND m.customer_contact = 1 GROUP BY m.pk ORDER BY count(*) DESC LIMIT ?",
        (count,),
    )
    return [r["userid"] for r in rows]


async def _moment(app_api: WeCom, emu_state: EmulatorState, body: dict[str, Any]) -> str:
    job = await app_api.post("externalcontact/add_moment_task", body)
    assert job["errcode"] == 0, job
    emu_state.clock.advance(emu_state.settings.moment_job_seconds)
    result = await app_api.get("externalcontact/get_moment_task_result", jobid=job["jobid"])
    moment_id: str = result["result"]["moment_id"]
    return moment_id


async def test_moment_job_result_appears_on_the_clock(app_api: WeCom, emu_state: EmulatorState) -> None:
    image = await _upload(app_api, "media/upload_attachment", media_type="image", attachment_type=1)
    senders = _senders(emu_state, 2)
    job = await app_api.post(
        "externalcontact/add_moment_task",
        {
            "text": {"content": "新品上市"},
            "attachments": [{"msgtype": "image", "image": {"media_id": image["media_id"]}}],
            "visible_range": {
                "sender_list": {"user_list": [*senders, "nobody"]},
                "external_contact_list": {"tag_list": ["etNOPE"]},
            },
        },
    )
    first = await app_api.get("externalcontact/get_moment_task_result", jobid=job["jobid"])
    assert (first["status"], first["type"]) == (1, "add_moment_task")
    emu_state.clock.advance(1)
    assert (await app_api.get("externalcontact/get_moment_task_result", jobid=job["jobid"]))["status"] == 2
    emu_state.clock.advance(2)
    done = await app_api.get("externalcontact/get_moment_task_result", jobid=job["jobid"])
    assert done["status"] == 3
    result = done["result"]
    assert result["moment_id"].startswith("mom")
    assert result["invalid_sender_list"]["user_list"] == ["nobody"]
    assert result["invalid_external_contact_list"]["tag_list"] == ["etNOPE"]
    tasks = await app_api.post("externalcontact/get_moment_task", {"moment_id": result["moment_id"]})
    assert tasks["task_list"] == [{"userid": u, "publish_status": 0} for u in senders]
    start = emu_state.clock.timestamp() - 10
    listed = await app_api.post(
        "externalcontact/get_moment_list", {"start_time": start, "end_time": start + 20}
    )
    [moment] = listed["moment_list"]
    assert (moment["moment_id"], moment["visible_type"], moment["text"]) == (
        result["moment_id"],
        1,
        {"content": "新品上市"},
    )
    assert moment["image"] == [{"media_id": image["media_id"]}]
    assert "creator" not in moment


async def test_moment_checks(app_api: WeCom, emu_state: EmulatorState) -> None:
    plain = await _upload(app_api, "media/upload", type="image")
    image = await _upload(app_api, "media/upload_attachment", media_type="image", attachment_type=1)
    cases = [
        ({}, 41089),
        ({"text": {"content": "x" * 2001}}, 40058),
        ({"attachments": [{"msgtype": "image", "image": {"media_id": image["media_id"]}}] * 10}, 41064),
        ({"attachments": [{"msgtype": "image", "image": {"media_id": plain["media_id"]}}]}, 41072),
        (
            {
                "attachments": [
                    {"msgtype": "image", "image": {"media_id": image["media_id"]}},
                    {"msgtype": "link", "link": {"url": "https://x", "media_id": image["media_id"]}},
                ]
            },
            40058,
        ),
    ]
    for body, errcode in cases:
        answer = await app_api.post("externalcontact/add_moment_task", body)
        assert answer["errcode"] == errcode, (body, answer)
    emu_state.settings.moment_tasks_per_minute = 2
    for _ in range(2):
        assert (await app_api.post("externalcontact/add_moment_task", {"text": {"content": "x"}}))[
            "errcode"
        ] == 0
    assert (await app_api.post("externalcontact/add_moment_task", {"text": {"content": "x"}}))[
        "errcode"
    ] == 45009
    assert (await app_api.get("externalcontact/get_moment_task_result", jobid="nope"))["errcode"] == 40058


async def test_publish_audience_likes_comments_cancel(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport, receiver: Receiver
) -> None:
    first, second = _senders(emu_state, 2)
    moment_id = await _moment(
        app_api,
        emu_state,
        {"text": {"content": "周末活动"}, "visible_range": {"sender_list": {"user_list": [first, second]}}},
    )
    post = {"moment_id": moment_id, "userid": first}
    assert (await app_api.post("externalcontact/get_moment_send_result", post))["errcode"] == 41062
    audience = []
    cursor = ""
    while True:
        page = await app_api.post(
            "externalcontact/get_moment_customer_list", {**post, "limit": 4, "cursor": cursor}
        )
        audience += [c["external_userid"] for c in page["customer_list"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = emu_state.store.scalar(
        "SELECT count(*) FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.userid = ? AND f.customer_deleted = 0",
        (first,),
    )
    assert len(audience) == len(set(audience)) == expected
    scenarios.member_publishes_moment(emu_state, company.corp_id, moment_id, first)
    tasks = await app_api.post("externalcontact/get_moment_task", {"moment_id": moment_id})
    assert [t["publish_status"] for t in tasks["task_list"]] == [1, 0]
    sent = await app_api.post("externalcontact/get_moment_send_result", post)
    assert len(sent["customer_list"]) == expected
    scenarios.customer_likes_moment(emu_state, company.corp_id, moment_id, first, audience[0])
    emu_state.clock.advance(5)
    scenarios.customer_comments_on_moment(emu_state, company.corp_id, moment_id, first, audience[1], "好看")
    comments = await app_api.post("externalcontact/get_moment_comments", post)
    now = emu_state.clock.timestamp()
    assert comments["like_list"] == [{"external_userid": audience[0], "create_time": now - 5}]
    assert comments["comment_list"] == [{"external_userid": audience[1], "create_time": now}]
    outsider = await app_api.post(
        "externalcontact/get_moment_comments", {"moment_id": moment_id, "userid": _senders(emu_state, 3)[2]}
    )
    assert outsider["errcode"] == 41061
    assert (await app_api.post("externalcontact/cancel_moment_task", {"moment_id": moment_id}))[
        "errcode"
    ] == 0
    try:
        scenarios.member_publishes_moment(emu_state, company.corp_id, moment_id, second)
    except scenarios.ScenarioError:
        pass
    else:
        raise AssertionError("a cancelled moment cannot be published")
    assert (await app_api.post("externalcontact/cancel_moment_task", {"moment_id": "momNOPE"}))[
        "errcode"
    ] == 41060
    # none of this is an event WeCom sends
    await emu_state.deliveries.drain()
    assert receiver.events == []


async def test_group_welcome_templates(app_api: WeCom, contact_api: WeCom, emu_state: EmulatorState) -> None:
    image = await _upload(app_api, "media/upload", type="image")
    made = await app_api.post(
        "externalcontact/group_welcome_template/add",
        {
            "text": {"content": "欢迎 %NICKNAME% 入群"},
            "image": {"media_id": image["media_id"]},
            "link": {"title": "官网", "url": "https://example.com"},
        },
    )
    assert made["errcode"] == 0
    template = {"template_id": made["template_id"]}
    got = await app_api.post("externalcontact/group_welcome_template/get", template)
    assert got["text"] == {"content": "欢迎 %NICKNAME% 入群"}
    assert set(got["image"]) == {"pic_url"}  # the image comes back as a URL
    assert "link" not in got  # besides text only the highest-priority part is used
    edit = {**template, "link": {"title": "新官网", "url": "https://example.org"}}
    assert (await app_api.post("externalcontact/group_welcome_template/edit", edit))["errcode"] == 0
    got = await app_api.post("externalcontact/group_welcome_template/get", template)
    assert (got["link"]["title"], "image" in got) == ("新官网", False)
    # another app may not edit or delete it
    assert (await contact_api.post("externalcontact/group_welcome_template/edit", edit))["errcode"] == 41058
    assert (await contact_api.post("externalcontact/group_welcome_template/del", template))[
        "errcode"
    ] == 41058
    bad_media = await app_api.post(
        "externalcontact/group_welcome_template/add", {"file": {"media_id": "nope"}}
    )
    assert bad_media["errcode"] == 40007
    emu_state.settings.group_welcome_templates = 2
    assert (await app_api.post("externalcontact/group_welcome_template/add", {"text": {"content": "b"}}))[
        "errcode"
    ] == 0
    full = await app_api.post("externalcontact/group_welcome_template/add", {"text": {"content": "c"}})
    assert (full["errcode"], full["template_id"]) == (41055, "")
    assert (await app_api.post("externalcontact/group_welcome_template/del", template))["errcode"] == 0
    assert (await app_api.post("externalcontact/group_welcome_template/add", {"text": {"content": "c"}}))[
        "errcode"
    ] == 0
