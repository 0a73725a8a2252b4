"""Seeding: deterministic, WeCom-shaped ids, a realistic spread, and the control API."""

from __future__ import annotations

import re
from collections import Counter

import httpx

from wecom_emulator import Clock, EmulatorState
from wecom_emulator.seed import seed_company

TABLES = [
    "corp",
    "department",
    "member",
    "customer",
    "follow",
    "tag_group",
    "tag",
    "groupchat",
    "groupchat_member",
]


def _dump(state: EmulatorState) -> dict[str, list[tuple[object, ...]]]:
    return {t: [tuple(r) for r in state.store.all(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES}


def _seeded(seed: int) -> EmulatorState:
    state = EmulatorState(clock=Clock(1_760_000_000, frozen=True))
    seed_company(
        state, "ww00112233445566aa", members=40, external_contacts=400, groups=15, tags=25, seed=seed
    )
    return state


def test_same_arguments_same_company() -> None:
    one, two, other = _seeded(42), _seeded(42), _seeded(43)
    assert _dump(one) == _dump(two)
    assert _dump(one)["customer"] != _dump(other)["customer"]


def test_ids_look_like_wecom() -> None:
    state = _seeded(42)
    customers = [r[0] for r in state.store.conn.execute("SELECT external_userid FROM customer")]
    assert all(re.fullmatch(r"wm[A-Za-z0-9]{30}", e) for e in customers)
    assert len(set(customers)) == 400
    assert all(
        re.fullmatch(r"et[A-Za-z0-9]{30}", t) for (t,) in state.store.conn.execute("SELECT tag_id FROM tag")
    )
    assert all(
        re.fullmatch(r"wr[A-Za-z0-9]{28}", c)
        for (c,) in state.store.conn.execute("SELECT chat_id FROM groupchat")
    )
    userids = [u for (u,) in state.store.conn.execute("SELECT userid FROM member")]
    assert all(re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)+\d*", u) for u in userids)  # pinyin, e.g. ZhangWei
    names = [n for (n,) in state.store.conn.execute("SELECT name FROM member")]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) for n in names)


def test_realistic_spread() -> None:
    state = _seeded(42)
    add_ways = Counter(a for (a,) in state.store.conn.execute("SELECT add_way FROM follow"))
    assert add_ways.most_common(1)[0][0] == 1  # scanning a QR code is the usual way
    assert len(add_ways) >= 6
    states = [s for (s,) in state.store.conn.execute("SELECT state FROM follow WHERE state IS NOT NULL")]
    assert states
    assert all(len(s) <= 30 for s in states)
    tagged = state.store.scalar("SELECT count(*) FROM follow WHERE tag_ids != ''")
    follows = state.store.scalar("SELECT count(*) FROM follow")
    assert 0.5 < tagged / follows < 0.95
    assert state.store.scalar("SELECT count(*) FROM tag") == 25
    per_member = Counter(m for (m,) in state.store.conn.execute("SELECT member_pk FROM follow"))
    assert max(per_member.values()) > 3 * (follows / len(per_member))  # a few members hold many customers


def test_seeding_into_a_file_and_reopening(tmp_path: object) -> None:
    path = f"{tmp_path}/emulator.db"
    state = EmulatorState(path=path)
    report = seed_company(state, "ww00112233445566aa", members=10, external_contacts=50, groups=3, tags=5)
    state.close()
    again = EmulatorState(path=path)
    assert again.corp("ww00112233445566aa").app_secret == report.app_secret
    assert again.store.scalar("SELECT count(*) FROM customer") == 50
    again.close()


async def test_control_api(emu: httpx.AsyncClient, emu_state: EmulatorState) -> None:
    created = (
        await emu.post(
            "/_emulator/corps", json={"corp_id": "ww99887766554433aa", "members": 5, "external_contacts": 20}
        )
    ).json()
    assert created["corp_id"] == "ww99887766554433aa"
    corps = (await emu.get("/_emulator/corps")).json()
    assert corps[0]["app_secret"] == created["app_secret"]
    token = (
        await emu.get(
            "/cgi-bin/gettoken", params={"corpid": created["corp_id"], "corpsecret": created["app_secret"]}
        )
    ).json()["access_token"]
    now = (await emu.get("/_emulator/clock")).json()["now"]
    assert (await emu.post("/_emulator/clock/advance", json={"seconds": 7200})).json()["now"] == now + 7200
    assert (await emu.get("/cgi-bin/department/list", params={"access_token": token})).json()[
        "errcode"
    ] == 42001
    token = (
        await emu.get(
            "/cgi-bin/gettoken", params={"corpid": created["corp_id"], "corpsecret": created["app_secret"]}
        )
    ).json()["access_token"]
    assert (await emu.post("/_emulator/tokens/revoke", json={"corp_id": created["corp_id"]})).json()[
        "revoked"
    ] == 1
    assert (await emu.get("/cgi-bin/department/list", params={"access_token": token})).json()[
        "errcode"
    ] == 40014
    fault = {"path": "gettoken", "errcode": -1}
    assert (await emu.post("/_emulator/faults", json=fault)).status_code == 200
    busy = await emu.get(
        "/cgi-bin/gettoken", params={"corpid": created["corp_id"], "corpsecret": created["app_secret"]}
    )
    assert busy.json()["errcode"] == -1
