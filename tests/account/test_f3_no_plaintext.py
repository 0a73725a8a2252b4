"""F3 / issue 4's "done when": after registering, logging in by password and by SMS code, and connecting
a WeCom corp through the services, a dump of every table holds no plaintext phone number, password,
corp secret or SMS code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service as contact_service
from huike.member import service as member_service
from huike.models import Base
from huike.tag import service as tag_service
from tests.account.conftest import PASSWORD, PHONE, Flows, csrf
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport


async def dump(session: AsyncSession) -> str:
    """Every value of every table as text (binary values too), like a SQL dump would print them."""
    parts: list[str] = []
    for table in Base.metadata.sorted_tables:
        rows = (await session.execute(select(table))).all()
        for row in rows:
            for value in row:
                if isinstance(value, bytes):
                    parts.append(value.decode("latin-1"))
                    parts.append(value.hex())
                else:
                    parts.append(str(value))
    return "\n".join(parts)


@pytest.mark.usefixtures("wired")
async def test_no_plaintext_secrets_in_any_table(
    flows: Flows, session: AsyncSession, emulator: tuple[EmulatorState, SeedReport, FastAPI]
) -> None:
    _, report, _ = emulator
    client: httpx.AsyncClient = flows.client
    codes: list[str] = []

    code = await flows.code()
    codes.append(code)
    registered = await client.post("/api/v1/auth/register", json=flows.body(code))
    assert registered.status_code == 201, registered.text
    connected = await client.put(
        "/api/v1/wecom/connection",
        json={
            "corp_id": report.corp_id,
            "agent_id": report.agent_id,
            "app_secret": report.app_secret,
            "contact_secret": report.contact_secret,
        },
        headers=csrf(client),
    )
    assert connected.json()["status"] == "connected", connected.text
    await client.post("/api/v1/auth/logout", headers=csrf(client))
    login = await client.post("/api/v1/auth/login/password", json={"phone": PHONE, "password": PASSWORD})
    assert login.status_code == 200, login.text
    await client.post("/api/v1/auth/logout", headers=csrf(client))
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):  # past the resend cooldown
        code = await flows.code(purpose="login")
        codes.append(code)
        sms_login = await client.post("/api/v1/auth/login/sms", json={"phone": PHONE, "sms_code": code})
    assert sms_login.status_code == 200, sms_login.text

    # members and customers synced from WeCom through their services (names, remarks, remark mobiles)
    me = (await client.get("/api/v1/auth/me")).json()
    ctx = TenantContext.system(uuid.UUID(me["tenant"]["id"]))
    await member_service.sync_from_wecom(session, ctx, uuid.uuid4())
    await tag_service.sync_from_wecom(session, ctx)
    await contact_service.sync_from_wecom(session, ctx, uuid.uuid4())
    await session.commit()
    state, _, _ = emulator
    member_names = [r["name"] for r in state.store.all("SELECT name FROM member") if r["name"]]
    customer_names = [
        r["name"] for r in state.store.all("SELECT name FROM customer") if len(r["name"] or "") >= 2
    ]
    remark_mobiles = [
        m
        for r in state.store.all("SELECT remark_mobiles FROM follow")
        for m in json.loads(r["remark_mobiles"] or "[]")
    ]
    assert member_names
    assert customer_names
    synced = {
        table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        for table in ("members", "external_contacts", "external_contact_follows")
    }
    assert all(count > 0 for count in synced.values()), synced  # the dump has something to hide

    everything = await dump(session)
    needles: dict[str, Any] = {
        "phone": PHONE,
        "phone (E.164)": "+86" + PHONE,
        "password": PASSWORD,
        "app secret": report.app_secret,
        "contact secret": report.contact_secret,
        **{f"sms code {i}": c for i, c in enumerate(codes)},
    }
    needles.update({f"member name {n}": n for n in member_names[:50]})
    needles.update({f"customer name {n}": n for n in customer_names[:200]})
    needles.update({f"remark mobile {m}": m for m in remark_mobiles[:200]})
    found = {name for name, needle in needles.items() if needle in everything}
    assert found == set()
    # and the values are there, encrypted: the dump is not just empty
    users = (await session.execute(text("SELECT phone FROM users"))).scalars().all()
    assert users
    assert all(value.startswith("v1:") for value in users)
