"""Rare error paths of the WeCom client, against a scripted transport (the emulator covers the rest)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from huike.core.i18n import translate
from huike.privacy.egress import EgressClient
from huike.wecom.client import WeComApp, WeComClient
from huike.wecom.errors import (
    InvalidSecret,
    IpNotTrusted,
    WeComBadResponse,
    WeComBusy,
    WeComTokenRejected,
    WeComUnreachable,
)
from huike.wecom.tokens import MemoryTokenCache

BASE = "https://qyapi.weixin.qq.com/cgi-bin"
Script = Callable[[httpx.Request], httpx.Response]


class FakeWeCom:
    """Scripted answers per path; counts calls."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.tokens_issued = 0
        self.scripts: dict[str, list[dict[str, object] | Exception]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/cgi-bin/")
        self.calls[path] = self.calls.get(path, 0) + 1
        script = self.scripts.get(path)
        if script:
            step = script.pop(0)
            if isinstance(step, Exception):
                raise step
            return httpx.Response(200, json=step)
        if path == "gettoken":
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "errcode": 0,
                    "errmsg": "ok",
                    "access_token": f"T{self.tokens_issued}",
                    "expires_in": 7200,
                },
            )
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "follow_user": ["zhangsan"]})


def make_client(fake: FakeWeCom, **kwargs: object) -> WeComClient:
    egress = EgressClient(transport=httpx.MockTransport(fake.handler))

    async def no_sleep(_: float) -> None:
        return None

    return WeComClient(
        WeComApp("ww1436e0e65a779aee", "secret"), egress, MemoryTokenCache(), sleep=no_sleep, **kwargs
    )  # type: ignore[arg-type]


async def test_concurrent_calls_share_one_token_refresh() -> None:
    fake = FakeWeCom()
    client = make_client(fake)
    results = await asyncio.gather(*(client.get_follow_user_list() for _ in range(20)))
    assert all(r == ["zhangsan"] for r in results)
    assert fake.calls["gettoken"] == 1


@pytest.mark.parametrize("errcode", [40014, 42001, 40001])
async def test_rejected_token_is_refreshed_once_and_the_call_retried(errcode: int) -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/get_follow_user_list"] = [
        {"errcode": errcode, "errmsg": "invalid access_token"}
    ]
    client = make_client(fake)
    assert await client.get_follow_user_list() == ["zhangsan"]
    assert fake.calls["gettoken"] == 2
    assert fake.calls["externalcontact/get_follow_user_list"] == 2


async def test_a_fresh_token_refused_again_is_not_retried_forever() -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/get_follow_user_list"] = [{"errcode": 42001, "errmsg": "expired"}] * 5
    client = make_client(fake)
    with pytest.raises(WeComTokenRejected):
        await client.get_follow_user_list()
    assert fake.calls["externalcontact/get_follow_user_list"] == 2


async def test_busy_is_retried_with_backoff_then_succeeds() -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/get_follow_user_list"] = [{"errcode": -1, "errmsg": "system busy"}] * 2
    client = make_client(fake)
    assert await client.get_follow_user_list() == ["zhangsan"]
    assert fake.calls["externalcontact/get_follow_user_list"] == 3


async def test_busy_retries_are_bounded() -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/get_follow_user_list"] = [{"errcode": -1, "errmsg": "system busy"}] * 10
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    client = make_client(fake)
    client._sleep = record
    with pytest.raises(WeComBusy):
        await client.get_follow_user_list()
    assert fake.calls["externalcontact/get_follow_user_list"] == 3
    assert len(slept) == 2
    assert all(0 < d <= 5 for d in slept)


async def test_untrusted_ip_tells_the_admin_what_to_fix() -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/get_follow_user_list"] = [
        {
            "errcode": 60020,
            "errmsg": "not allow to access from your ip, hint: [1], from ip: 1.2.3.4, more info at x",
        }
    ]
    client = make_client(fake)
    with pytest.raises(IpNotTrusted) as error:
        await client.get_follow_user_list()
    assert error.value.details["errcode"] == 60020
    assert "1.2.3.4" not in error.value.details["errmsg"]
    assert "企业可信IP" in translate(error.value.code, "zh-CN", **error.value.details)
    assert "Trusted IPs" in translate(error.value.code, "en", **error.value.details)


async def test_wrong_secret_on_gettoken() -> None:
    fake = FakeWeCom()
    fake.scripts["gettoken"] = [{"errcode": 40001, "errmsg": "invalid credential"}]
    with pytest.raises(InvalidSecret):
        await make_client(fake).get_follow_user_list()


async def test_unreachable_and_garbage() -> None:
    fake = FakeWeCom()
    fake.scripts["gettoken"] = [httpx.ConnectTimeout("timed out")]
    with pytest.raises(WeComUnreachable):
        await make_client(fake).get_follow_user_list()

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>gateway</html>")

    client = WeComClient(
        WeComApp("ww1", "s"), EgressClient(transport=httpx.MockTransport(garbage)), MemoryTokenCache()
    )
    with pytest.raises(WeComBadResponse):
        await client.get_follow_user_list()


async def test_no_customers_is_an_empty_list_not_an_error() -> None:
    fake = FakeWeCom()
    fake.scripts["externalcontact/list"] = [
        {"errcode": 84061, "errmsg": "not external contact", "external_userid": []}
    ]
    assert await make_client(fake).list_external_contacts("lisi") == []


async def test_token_goes_in_the_query_string_even_on_post() -> None:
    seen: list[httpx.Request] = []
    fake = FakeWeCom()

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake.handler(request)

    client = WeComClient(
        WeComApp("ww1", "s"), EgressClient(transport=httpx.MockTransport(spy)), MemoryTokenCache()
    )
    await client.mark_tag("zhangsan", "wm1", add=["et1"])
    post = seen[-1]
    assert post.url.params["access_token"] == "T1"
    assert "access_token" not in json.loads(post.content)
