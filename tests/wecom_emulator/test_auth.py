"""§3 web login: the emulated QR page redirects back with a code; auth/getuserinfo redeems it once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport


def _login_params(company: SeedReport, **extra: str) -> dict[str, str]:
    return {
        "login_type": "CorpApp",
        "appid": company.corp_id,
        "agentid": str(company.agent_id),
        "redirect_uri": "https://huike.example.com/auth/wecom?next=/",
        "state": "csrf123",
        **extra,
    }


async def _code_for(emu: httpx.AsyncClient, company: SeedReport, userid: str) -> str:
    response = await emu.get("/wwlogin/sso/login", params=_login_params(company, userid=userid))
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert target.netloc == "huike.example.com"
    assert query["state"] == ["csrf123"]
    assert query["next"] == ["/"]
    return query["code"][0]


async def test_login_page_lists_members(
    emu: httpx.AsyncClient, company: SeedReport, emu_state: EmulatorState
) -> None:
    page = await emu.get("/wwlogin/sso/login", params=_login_params(company))
    assert page.status_code == 200
    name = emu_state.store.scalar("SELECT name FROM member WHERE status = 1 ORDER BY pk LIMIT 1")
    assert name in page.text
    bad = await emu.get("/wwlogin/sso/login", params=_login_params(company, agentid="1"))
    assert bad.status_code == 400


async def test_code_is_single_use(
    emu: httpx.AsyncClient, company: SeedReport, app_api: WeCom, emu_state: EmulatorState
) -> None:
    userid = emu_state.store.scalar("SELECT userid FROM member WHERE status = 1 ORDER BY pk LIMIT 1")
    code = await _code_for(emu, company, userid)
    assert (await app_api.get("auth/getuserinfo", code=code)) == {
        "errcode": 0,
        "errmsg": "ok",
        "userid": userid,
    }
    assert (await app_api.get("auth/getuserinfo", code=code))["errcode"] == 40029


async def test_code_expires_after_five_minutes(
    emu: httpx.AsyncClient, company: SeedReport, app_api: WeCom, emu_state: EmulatorState
) -> None:
    userid = emu_state.store.scalar("SELECT userid FROM member WHERE status = 1 ORDER BY pk LIMIT 1")
    code = await _code_for(emu, company, userid)
    await app_api.fetch_token()
    emu_state.clock.advance(301)
    assert (await app_api.get("auth/getuserinfo", code=code))["errcode"] == 40029


async def test_untrusted_redirect_domain(
    emu: httpx.AsyncClient, company: SeedReport, emu_state: EmulatorState
) -> None:
    emu_state.store.conn.execute("UPDATE corp SET oauth_domain = 'huike.example.com'")
    evil = _login_params(company, redirect_uri="https://evil.example.net/cb", userid="x")
    assert (await emu.get("/wwlogin/sso/login", params=evil)).status_code == 400


async def test_mounted_under_a_prefix(emu_state: EmulatorState, company: SeedReport) -> None:
    """Huike mounts the emulator in-process under a prefix: the API and the login links still work."""
    import re

    from fastapi import FastAPI

    from wecom_emulator.app import create_app

    host = FastAPI()
    host.mount("/wecom", create_app(emu_state))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://huike") as client:
        token = await client.get(
            "/wecom/cgi-bin/gettoken", params={"corpid": company.corp_id, "corpsecret": company.app_secret}
        )
        assert token.json()["errcode"] == 0
        page = await client.get("/wecom/wwlogin/sso/login", params=_login_params(company))
        link = re.search(r'href="([^"]+)"', page.text)
        assert link is not None
        assert link.group(1).startswith("/wecom/wwlogin/sso/login?")
        followed = await client.get(link.group(1).replace("&amp;", "&"))
        assert followed.status_code == 302
        assert "code=" in followed.headers["location"]
