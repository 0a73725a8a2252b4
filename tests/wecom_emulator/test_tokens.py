"""gettoken and the checks every call goes through: token lifecycle, secret scoping, error
bodies, unknown APIs, frequency limits and injected faults."""

from __future__ import annotations

import re

import httpx

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport

ERRMSG = re.compile(
    r"^.+, hint: \[\w+\], from ip: [\d.:a-f]+, more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=\d+$"
)


async def test_token_is_reused_while_valid_and_expires_after_7200_seconds(
    app_api: WeCom, emu_state: EmulatorState
) -> None:
    first = await app_api.fetch_token()
    assert first["errcode"] == 0
    assert first["expires_in"] == 7200
    emu_state.clock.advance(1000)
    again = await app_api.fetch_token()
    assert again["access_token"] == first["access_token"]  # same token, remaining lifetime
    assert again["expires_in"] == 6200
    assert (await app_api.get("externalcontact/get_follow_user_list"))["errcode"] == 0

    emu_state.clock.advance(6200)
    expired = await app_api.get("externalcontact/get_follow_user_list")
    assert expired["errcode"] == 42001
    assert expired["follow_user"] == []  # the endpoint's empty default fields come with the error
    fresh = await app_api.fetch_token()
    assert fresh["access_token"] != first["access_token"]
    assert (await app_api.get("externalcontact/get_follow_user_list"))["errcode"] == 0


async def test_revoked_token_answers_40014_until_refetched(app_api: WeCom, emu_state: EmulatorState) -> None:
    await app_api.fetch_token()
    assert emu_state.revoke_tokens(app_api.corp_id) == 1
    assert (await app_api.get("department/list"))["errcode"] == 40014
    await app_api.fetch_token()
    assert (await app_api.get("department/list"))["errcode"] == 0


async def test_token_problems(emu: httpx.AsyncClient, company: SeedReport) -> None:
    missing = (await emu.get("/cgi-bin/department/list")).json()
    assert missing["errcode"] == 41001
    assert ERRMSG.match(missing["errmsg"]), missing["errmsg"]
    assert missing["errmsg"].startswith("access_token missing, hint: [")
    # a token in the JSON body does not count: only the query string does
    body_token = (
        await emu.post("/cgi-bin/externalcontact/groupchat/list", json={"access_token": "x"})
    ).json()
    assert body_token["errcode"] == 41001
    assert body_token["group_chat_list"] == []
    assert (await emu.get("/cgi-bin/department/list", params={"access_token": "forged"})).json()[
        "errcode"
    ] == 40014


async def test_gettoken_errors(emu: httpx.AsyncClient, company: SeedReport, emu_state: EmulatorState) -> None:
    async def gettoken(**params: str) -> int:
        errcode: int = (await emu.get("/cgi-bin/gettoken", params=params)).json()["errcode"]
        return errcode

    other = emu_state.create_corp("ww9999999999999999")
    assert await gettoken(corpsecret=company.app_secret) == 41002
    assert await gettoken(corpid=company.corp_id) == 41004
    assert await gettoken(corpid="ww0000000000000000", corpsecret=company.app_secret) == 40013
    assert await gettoken(corpid=company.corp_id, corpsecret="wrong") == 40001
    assert await gettoken(corpid=company.corp_id, corpsecret=other.app_secret) == 40091


async def test_many_wrong_secrets_block_the_ip_for_an_hour(
    emu: httpx.AsyncClient, company: SeedReport, emu_state: EmulatorState
) -> None:
    emu_state.settings.gettoken_failures_per_hour = 3
    for _ in range(3):
        params = {"corpid": company.corp_id, "corpsecret": "wrong"}
        assert (await emu.get("/cgi-bin/gettoken", params=params)).json()["errcode"] == 40001
    good = {"corpid": company.corp_id, "corpsecret": company.app_secret}
    assert (await emu.get("/cgi-bin/gettoken", params=good)).json()["errcode"] == 45009
    emu_state.clock.advance(3600)
    assert (await emu.get("/cgi-bin/gettoken", params=good)).json()["errcode"] == 0


async def test_each_secret_calls_only_its_apis(
    app_api: WeCom, contact_api: WeCom, sync_api: WeCom, emu_state: EmulatorState
) -> None:
    # user/list_id: contact-sync secret only
    assert (await app_api.post("user/list_id", {}))["errcode"] == 48002
    assert (await contact_api.post("user/list_id", {}))["errcode"] == 48002
    assert (await sync_api.post("user/list_id", {}))["errcode"] == 0
    # customer-contact APIs: not with the contact-sync secret
    denied = await sync_api.get("externalcontact/get_follow_user_list")
    assert denied["errcode"] == 48002
    assert denied["follow_user"] == []
    assert (await contact_api.get("externalcontact/get_follow_user_list"))["errcode"] == 0
    # the app must be listed in 客户联系 → 可调用接口的应用; the system secret is closed since 2023-12
    emu_state.set_corp_flags(app_api.corp_id, app_in_contact_apps=False, contact_secret_enabled=False)
    assert (await app_api.get("externalcontact/get_follow_user_list"))["errcode"] == 48002
    assert (await contact_api.get("externalcontact/get_follow_user_list"))["errcode"] == 48002
    # a token only works for the app that got it: the app's token is not the sync secret's
    assert app_api.token != sync_api.token


async def test_unknown_api_and_wrong_method(app_api: WeCom) -> None:
    unknown = await app_api.get("externalcontact/no_such_api")
    assert unknown["errcode"] == 48001
    # a POST API called with GET: 40063 (its documented cause: the wrong HTTP method)
    assert (await app_api.get("externalcontact/groupchat/list"))["errcode"] == 40063


async def test_malformed_json_is_parsed_leniently(app_api: WeCom) -> None:
    await app_api.fetch_token()
    response = await app_api.client.post(
        "/cgi-bin/externalcontact/get_corp_tag_list",
        params={"access_token": app_api.token},
        content=b"{not json",
    )
    body = response.json()
    assert body["errcode"] == 0
    assert "Warning: wrong json format." in body["errmsg"]


async def test_frequency_limit_per_api(app_api: WeCom, emu_state: EmulatorState) -> None:
    emu_state.settings.per_api_per_minute = 2
    assert (await app_api.get("department/list"))["errcode"] == 0
    assert (await app_api.get("department/list"))["errcode"] == 0
    assert (await app_api.get("department/list"))["errcode"] == 45009
    assert (await app_api.get("department/simplelist"))["errcode"] == 0  # counted per API
    emu_state.clock.advance(60)
    assert (await app_api.get("department/list"))["errcode"] == 0


async def test_injected_faults(app_api: WeCom, emu_state: EmulatorState) -> None:
    emu_state.faults.inject("externalcontact/get_follow_user_list", 45033, times=1)
    emu_state.faults.inject("externalcontact/get_follow_user_list", -1, times=1)
    assert (await app_api.get("externalcontact/get_follow_user_list"))["errcode"] == 45033
    busy = await app_api.get("externalcontact/get_follow_user_list")
    assert busy["errcode"] == -1
    assert busy["errmsg"].startswith("system busy")
    assert (await app_api.get("externalcontact/get_follow_user_list"))["errcode"] == 0
