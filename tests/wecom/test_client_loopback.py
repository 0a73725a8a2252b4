"""The WeCom client against the emulator served by uvicorn on a loopback port: the real wire, real
sockets, through the egress client — as it would talk to qyapi.weixin.qq.com."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from huike.privacy.egress import EgressClient
from huike.wecom.client import WeComApp, WeComClient
from huike.wecom.errors import InvalidExternalUserId, InvalidSecret, InvalidTag, TagNameTaken
from huike.wecom.tokens import MemoryTokenCache

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wecom_emulator", "--port", str(port), "--state", ":memory:"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/_emulator/corps", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the emulator did not start")
        time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def corp(emulator_url: str) -> dict[str, Any]:
    corps = httpx.get(emulator_url + "/_emulator/corps").json()
    assert corps, "the emulator seeds a demo corp"
    return dict(corps[0])


@pytest_asyncio.fixture
async def wecom(emulator_url: str, corp: dict[str, Any]) -> AsyncIterator[WeComClient]:
    egress = EgressClient(extra_hosts={"wecom": ("127.0.0.1",)})
    yield WeComClient(
        WeComApp(corp["corp_id"], corp["contact_secret"], corp["agent_id"]),
        egress,
        MemoryTokenCache(),
        base_url=emulator_url + "/cgi-bin",
    )
    await egress.aclose()


async def test_customers_page_through_every_relationship_once(wecom: WeComClient) -> None:
    members = await wecom.get_follow_user_list()
    assert members
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(members), 100):
        cursor = ""
        while True:
            page = await wecom.batch_get_by_user(members[start : start + 100], cursor=cursor, limit=100)
            for row in page.external_contact_list:
                key = (row.external_contact.external_userid, row.follow_info.userid)
                assert key not in seen
                seen.add(key)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    # the per-member list agrees with the batch pages
    by_list = {
        (external, userid) for userid in members for external in await wecom.list_external_contacts(userid)
    }
    assert by_list == seen


async def test_detail_remark_and_tags_round_trip(wecom: WeComClient) -> None:
    userid = (await wecom.get_follow_user_list())[0]
    external_userid = (await wecom.list_external_contacts(userid))[0]
    await wecom.remark(userid, external_userid, remark="老客户-上海", description="展会认识")
    group = await wecom.add_corp_tag(tags=[("高意向", 0), ("已成交", 0)], group_name="测试-客户阶段")
    tag_ids = [tag.id for tag in group.tag]
    await wecom.mark_tag(userid, external_userid, add=tag_ids[:1])
    detail = await wecom.get_external_contact(external_userid)
    follow = next(f for f in detail.follow_user if f.userid == userid)
    assert (follow.remark, follow.description) == ("老客户-上海", "展会认识")
    assert tag_ids[0] in {tag.tag_id for tag in follow.tags}
    with pytest.raises(TagNameTaken):
        await wecom.add_corp_tag(tags=[("高意向", 0)], group_id=group.group_id)
    await wecom.edit_corp_tag(tag_ids[1], name="已成交客户")
    await wecom.del_corp_tag(group_ids=[group.group_id])
    with pytest.raises(InvalidTag):
        await wecom.mark_tag(userid, external_userid, add=[tag_ids[1]])
    with pytest.raises(InvalidExternalUserId):
        await wecom.remark(userid, "wm" + "0" * 30, remark="x")


async def test_groups_page_and_detail(wecom: WeComClient) -> None:
    owners = (await wecom.get_follow_user_list())[:50]
    chats: list[str] = []
    cursor = ""
    while True:
        page = await wecom.groupchat_list(owners=owners, cursor=cursor, limit=10)
        chats += [item.chat_id for item in page.group_chat_list]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(chats) == len(set(chats)) > 0
    detail = await wecom.groupchat_get(chats[0])
    assert detail.chat_id == chats[0]
    assert detail.owner in owners
    assert detail.member_list


async def test_token_expiry_is_recovered_transparently(wecom: WeComClient, emulator_url: str) -> None:
    await wecom.get_follow_user_list()
    async with httpx.AsyncClient() as control:
        await control.post(emulator_url + "/_emulator/tokens/revoke", json={})
    assert await wecom.get_follow_user_list()  # 40014 → one refresh → success


async def test_wrong_secret(emulator_url: str, corp: dict[str, Any]) -> None:
    egress = EgressClient(extra_hosts={"wecom": ("127.0.0.1",)})
    wrong = WeComClient(
        WeComApp(corp["corp_id"], "not-the-secret"),
        egress,
        MemoryTokenCache(),
        base_url=emulator_url + "/cgi-bin",
    )
    with pytest.raises(InvalidSecret):
        await wrong.get_follow_user_list()
    await egress.aclose()
