"""The scenario page and the scenario catalogue it is built from."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app
from wecom_emulator.seed import seed_company


async def test_catalogue_lists_every_scenario_with_its_parameters() -> None:
    state = EmulatorState(path=":memory:", clock=Clock())
    seed_company(state, "ww00aa11bb22cc33dd", members=3, external_contacts=4, groups=1, tags=2)
    app: FastAPI = create_app(state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as client:
        catalogue = (await client.get("/_emulator/scenarios")).json()
        names = {entry["name"] for entry in catalogue}
        assert {"customer_adds_member", "customer_scans_contact_way", "member_resigns"} <= names
        adds = next(entry for entry in catalogue if entry["name"] == "customer_adds_member")
        params = {p["name"]: p for p in adds["params"]}
        assert params["corp_id"]["required"] is True
        assert params["half"] == {"name": "half", "required": False, "default": False}
        page = await client.get("/_emulator/")
        assert page.status_code == 200
        assert "企业微信模拟器" in page.text
        # what the page's send button does: run a scenario through the JSON API
        userid = state.store.one("SELECT userid FROM member ORDER BY pk LIMIT 1")["userid"]
        ran = await client.post(
            "/_emulator/scenarios/customer_adds_member",
            json={"corp_id": "ww00aa11bb22cc33dd", "userid": userid},
        )
        assert ran.status_code == 200
        assert ran.json()["external_userid"].startswith("w")
