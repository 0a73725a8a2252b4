"""§2 departments and members: trees, scope, sensitive fields, list_id cursor paging."""

from __future__ import annotations

import pytest

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport


async def test_department_tree(app_api: WeCom) -> None:
    everything = await app_api.get("department/list")
    ids = [d["id"] for d in everything["department"]]
    assert ids[0] == 1
    root = everything["department"][0]
    assert set(root) == {"id", "name", "name_en", "department_leader", "parentid", "order"}
    sales = next(d for d in everything["department"] if d["name"] == "销售中心")
    subtree = await app_api.get("department/simplelist", id=sales["id"])
    assert {d["parentid"] for d in subtree["department_id"][1:]} == {sales["id"]}
    assert set(subtree["department_id"][0]) == {"id", "parentid", "order"}
    one = await app_api.get("department/get", id=sales["id"])
    assert one["department"]["name"] == "销售中心"
    missing = await app_api.get("department/get", id=99999)
    assert missing["errcode"] == 60123
    assert missing["department"] == {}


async def test_user_lists_follow_the_scope_and_fetch_child(
    app_api: WeCom, sync_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    direct = await app_api.get("user/simplelist", department_id=1)
    assert direct["userlist"] == []  # nobody sits in the root itself
    whole = await app_api.get("user/simplelist", department_id=1, fetch_child=1)
    all_members = await sync_api.get("user/simplelist", department_id=1, fetch_child=1)
    hidden = emu_state.store.scalar("SELECT count(*) FROM member WHERE visible = 0")
    assert len(all_members["userlist"]) == company.members
    assert len(whole["userlist"]) == company.members - hidden
    assert set(whole["userlist"][0]) == {"userid", "name", "department"}


async def test_user_get_withholds_sensitive_fields_from_new_apps(
    app_api: WeCom, sync_api: WeCom, emu_state: EmulatorState
) -> None:
    userid = emu_state.store.scalar("SELECT userid FROM member WHERE visible = 1 ORDER BY pk LIMIT 1")
    basic = await app_api.get("user/get", userid=userid)
    assert basic["errcode"] == 0
    assert "mobile" not in basic
    assert "avatar" not in basic
    full = await sync_api.get("user/get", userid=userid)
    assert full["mobile"].startswith("1")
    assert full["gender"] in ("1", "2")
    emu_state.set_corp_flags(app_api.corp_id, legacy_sensitive_fields=True)
    assert "mobile" in await app_api.get("user/get", userid=userid)
    # userids are case-insensitive
    assert (await app_api.get("user/get", userid=userid.upper()))["userid"] == userid


async def test_user_get_scope_and_unknown(
    app_api: WeCom, contact_api: WeCom, emu_state: EmulatorState
) -> None:
    emu_state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = (SELECT min(pk) FROM member)")
    hidden = emu_state.store.scalar("SELECT userid FROM member ORDER BY pk LIMIT 1")
    assert (await app_api.get("user/get", userid=hidden))["errcode"] == 60011
    assert (await contact_api.get("user/get", userid=hidden))["errcode"] == 0  # system secrets see all
    assert (await app_api.get("user/get", userid="nobody"))["errcode"] == 60111


async def test_list_id_pages_cover_every_membership_once(sync_api: WeCom, emu_state: EmulatorState) -> None:
    # give a few members a second department so rows are (member, department) pairs
    emu_state.store.conn.execute("UPDATE member SET departments = '[3, 4]' WHERE pk % 7 = 0")
    expected = emu_state.store.scalar("SELECT sum(json_array_length(departments)) FROM member")
    seen: list[tuple[str, int]] = []
    cursor = ""
    pages = 0
    while True:
        page = await sync_api.post("user/list_id", {"cursor": cursor, "limit": 7})
        assert page["errcode"] == 0
        assert len(page["dept_user"]) <= 7
        seen += [(row["userid"], row["department"]) for row in page["dept_user"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == expected
    assert len(set(seen)) == expected
    assert pages == -(-expected // 7)


@pytest.mark.parametrize(
    "body", [{"limit": 0}, {"limit": 10001}, {"cursor": "bm90IG91cnM"}, {"cursor": "%%%"}]
)
async def test_list_id_refuses_bad_limits_and_cursors(sync_api: WeCom, body: dict[str, object]) -> None:
    answer = await sync_api.post("user/list_id", body)
    assert answer["errcode"] == 40058
    assert answer["dept_user"] == []
