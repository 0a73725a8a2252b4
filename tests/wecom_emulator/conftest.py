"""Fixtures for the WeCom emulator: a fresh in-memory state with a frozen clock, a small seeded
company, and an httpx client talking to the emulator's ASGI app (no sockets)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app
from wecom_emulator.crypto import MsgCrypt
from wecom_emulator.seed import SeedReport, seed_company

CORP = "ww0123456789abcdef"
START = 1_760_000_000.0


@pytest.fixture
def emu_state() -> Iterator[EmulatorState]:
    state = EmulatorState(clock=Clock(START, frozen=True))
    yield state
    state.close()


@pytest.fixture
def company(emu_state: EmulatorState) -> SeedReport:
    return seed_company(emu_state, CORP, members=30, external_contacts=300, groups=25, tags=20)


@pytest_asyncio.fixture
async def emu(emu_state: EmulatorState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(emu_state))
    async with httpx.AsyncClient(transport=transport, base_url="https://qyapi.weixin.qq.com") as client:
        yield client


class WeCom:
    """A thin caller, the way a client would use the API: token in the query, JSON bodies."""

    def __init__(self, client: httpx.AsyncClient, corp_id: str, secret: str) -> None:
        self.client, self.corp_id, self.secret = client, corp_id, secret
        self.token = ""

    async def fetch_token(self) -> dict[str, Any]:
        response = await self.client.get(
            "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        if body["errcode"] == 0:
            self.token = body["access_token"]
        return body

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        if not self.token:
            await self.fetch_token()
        response = await self.client.get(f"/cgi-bin/{path}", params={"access_token": self.token, **params})
        assert response.status_code == 200  # WeCom answers failures with HTTP 200 too
        body: dict[str, Any] = response.json()
        return body

    async def post(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        if not self.token:
            await self.fetch_token()
        response = await self.client.post(
            f"/cgi-bin/{path}", params={"access_token": self.token, **params}, json=body or {}
        )
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def app_api(emu: httpx.AsyncClient, company: SeedReport) -> WeCom:
    """The self-built app's secret (visibility scope applies)."""
    return WeCom(emu, company.corp_id, company.app_secret)


@pytest.fixture
def contact_api(emu: httpx.AsyncClient, company: SeedReport) -> WeCom:
    """The 客户联系 system secret."""
    return WeCom(emu, company.corp_id, company.contact_secret)


@pytest.fixture
def sync_api(emu: httpx.AsyncClient, company: SeedReport) -> WeCom:
    """The 通讯录同步 secret."""
    return WeCom(emu, company.corp_id, company.sync_secret)


# -- a callback receiver -----------------------------------------------------------------------------

TOKEN = "receiverToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
URL = "https://huike.example.com/wecom/callback"


@dataclass
class Receiver:
    """Does what a correct receiver does; ``fail_next`` answers HTTP 500 that many times."""

    corp_id: str
    events: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0
    posts: int = 0

    def __post_init__(self) -> None:
        self.crypt = MsgCrypt(TOKEN, AES_KEY, self.corp_id)
        self.app = Starlette(routes=[Route("/wecom/callback", self.handle, methods=["GET", "POST"])])

    async def handle(self, request: Request) -> Response:
        q = request.query_params
        if request.method == "GET":
            plain = self.crypt.check(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
            return PlainTextResponse(plain.decode())
        self.posts += 1
        if self.fail_next:
            self.fail_next -= 1
            return Response(status_code=500)
        envelope = ET.fromstring(await request.body())
        assert envelope.findtext("ToUserName") == self.corp_id
        encrypt = envelope.findtext("Encrypt") or ""
        inner = ET.fromstring(self.crypt.check(q["msg_signature"], q["timestamp"], q["nonce"], encrypt))
        event = {child.tag: (child.text or "") for child in inner}
        for child in inner:
            if len(child):
                event[child.tag] = ",".join(item.text or "" for item in child)
        self.events.append(event)
        return Response(status_code=200)


@pytest_asyncio.fixture
async def receiver(emu_state: EmulatorState, company: SeedReport) -> AsyncIterator[Receiver]:
    receiver = Receiver(company.corp_id)
    emu_state.deliveries.transport = httpx.ASGITransport(app=receiver.app)
    saved, reason = await emu_state.deliveries.configure(company.corp_id, URL, TOKEN, AES_KEY)
    assert saved, reason
    yield receiver
