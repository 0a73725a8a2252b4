"""Fixtures that wire the bundled WeCom emulator to the test app in-process (ASGI transports both ways):
Huike's WeCom client calls the emulator, the emulator's callbacks reach Huike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from huike.privacy.egress import EgressClient
from huike.wecom.runtime import get_wecom_runtime
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import SeedReport, seed_company

CORP = "ww0123456789abcdef"


@pytest.fixture
def emulator() -> tuple[EmulatorState, SeedReport, FastAPI]:
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(state, CORP, members=4, external_contacts=12, groups=2, tags=6, seed=7)
    return state, report, create_emulator(state)


@pytest_asyncio.fixture
async def wired(app: FastAPI, emulator: tuple[EmulatorState, SeedReport, FastAPI]) -> AsyncIterator[None]:
    state, _, emulator_app = emulator
    runtime = get_wecom_runtime()
    original = runtime.egress, runtime.base_url
    runtime.egress = EgressClient(
        transport=httpx.ASGITransport(app=emulator_app), extra_hosts={"wecom": ("wecom.test",)}
    )
    runtime.base_url = "http://wecom.test/cgi-bin"
    state.deliveries.transport = httpx.ASGITransport(app=app)
    yield
    await runtime.egress.aclose()
    runtime.egress, runtime.base_url = original
