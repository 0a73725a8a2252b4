"""§4 customers: who follows whom, get with its follow_user cursor, batch paging, remark, and how
deletions in either direction look to a client."""

from __future__ import annotations

import pytest

from tests.wecom_emulator.conftest import WeCom
from wecom_emulator import EmulatorState, scenarios
from wecom_emulator.seed import SeedReport


def _member_with_customers(state: EmulatorState) -> str:
    userid: str = state.store.scalar(
        "SELECT m.userid FROM member m JOIN follow f ON f.member_pk = m.pk WHERE m.visible = 1"
        " GROUP BY m.pk ORDER BY count(*) DESC LIMIT 1"
    )
    return userid


async def test_follow_user_list_is_the_scope_with_the_feature(
    app_api: WeCom, emu_state: EmulatorState
) -> None:
    follow = (await app_api.get("externalcontact/get_follow_user_list"))["follow_user"]
    expected = emu_state.store.all(
        "SELECT userid FROM member WHERE customer_contact = 1 AND visible = 1 AND status IN (1, 5) ORDER BY pk"
    )
    assert follow == [r["userid"] for r in expected]


async def test_list_and_get(app_api: WeCom, emu_state: EmulatorState) -> None:
    userid = _member_with_customers(emu_state)
    customers = await app_api.get("externalcontact/list", userid=userid)
    assert customers["errcode"] == 0
    assert all(len(e) == 32 and e.startswith("wm") for e in customers["external_userid"])
    detail = await app_api.get("externalcontact/get", external_userid=customers["external_userid"][0])
    assert detail["errcode"] == 0
    assert {"external_userid", "name", "avatar", "type", "gender"} <= set(detail["external_contact"])
    mine = next(f for f in detail["follow_user"] if f["userid"] == userid)
    assert {"remark", "description", "createtime", "tags", "remark_mobiles", "add_way", "oper_userid"} <= set(
        mine
    )
    assert "next_cursor" not in detail


async def test_list_of_a_member_without_customers_is_84061(app_api: WeCom, emu_state: EmulatorState) -> None:
    lonely = emu_state.store.scalar(
        "SELECT userid FROM member m WHERE visible = 1 AND NOT EXISTS (SELECT 1 FROM follow f WHERE f.member_pk = m.pk)"
    )
    if lonely is None:
        lonely = _member_with_customers(emu_state)
        emu_state.store.conn.execute(
            "DELETE FROM follow WHERE member_pk = (SELECT pk FROM member WHERE userid = ?)", (lonely,)
        )
    answer = await app_api.get("externalcontact/list", userid=lonely)
    assert answer["errcode"] == 84061
    assert answer["errmsg"].startswith("not external contact")
    assert answer["external_userid"] == []


async def test_get_errors(app_api: WeCom) -> None:
    missing = await app_api.get("externalcontact/get")
    assert missing["errcode"] == 41035
    assert missing["external_contact"] == {}
    assert missing["follow_user"] == []
    assert (await app_api.get("externalcontact/get", external_userid="wmNOPE"))["errcode"] == 40096


async def test_deleting_in_either_direction(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    userid = _member_with_customers(emu_state)
    first, second = (await app_api.get("externalcontact/list", userid=userid))["external_userid"][:2]
    # the customer deletes the member: the one-way relationship stays readable
    scenarios.customer_deletes_member(emu_state, company.corp_id, userid, first)
    assert (await app_api.get("externalcontact/get", external_userid=first))["errcode"] == 0
    assert first in (await app_api.get("externalcontact/list", userid=userid))["external_userid"]
    # the member deletes the customer: gone
    scenarios.member_deletes_customer(emu_state, company.corp_id, userid, second)
    assert second not in (await app_api.get("externalcontact/list", userid=userid))["external_userid"]
    detail = await app_api.get("externalcontact/get", external_userid=second)
    assert detail["errcode"] == 0 or detail["errcode"] == 84061
    if detail["errcode"] == 0:  # other members still follow them
        assert userid not in [f["userid"] for f in detail["follow_user"]]


async def test_get_pages_follow_user_by_500(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    from wecom_emulator.seed import seed_company

    seed_company(emu_state, company.corp_id, members=520, external_contacts=0, groups=0, tags=0, seed=7)
    emu_state.store.conn.execute("UPDATE member SET visible = 1, customer_contact = 1")
    userids = [r["userid"] for r in emu_state.store.all("SELECT userid FROM member ORDER BY pk")][:505]
    external = scenarios.customer_adds_member(emu_state, company.corp_id, userids[0]).data["external_userid"]
    for userid in userids[1:]:
        scenarios.customer_adds_member(emu_state, company.corp_id, userid, external_userid=external)
    first = await app_api.get("externalcontact/get", external_userid=external)
    assert len(first["follow_user"]) == 500
    assert first["next_cursor"]
    rest = await app_api.get("externalcontact/get", external_userid=external, cursor=first["next_cursor"])
    assert len(rest["follow_user"]) == 5
    assert "next_cursor" not in rest
    followers = [f["userid"] for f in first["follow_user"] + rest["follow_user"]]
    assert sorted(followers) == sorted(userids)


async def test_out_of_scope_followers_are_hidden(
    app_api: WeCom, emu_state: EmulatorState, company: SeedReport
) -> None:
    hidden = _member_with_customers(emu_state)
    emu_state.store.conn.execute("UPDATE member SET visible = 0 WHERE userid = ?", (hidden,))
    only_theirs = scenarios.customer_adds_member(emu_state, company.corp_id, hidden).data["external_userid"]
    assert (await app_api.get("externalcontact/list", userid=hidden))["errcode"] == 60011
    answer = await app_api.get("externalcontact/get", external_userid=only_theirs)
    assert answer["errcode"] == 60011
    assert answer["follow_user"] == []


async def test_batch_pages_cover_every_relationship_once(app_api: WeCom, emu_state: EmulatorState) -> None:
    userids = (await app_api.get("externalcontact/get_follow_user_list"))["follow_user"][:6]
    expected = emu_state.store.scalar(
        f"SELECT count(*) FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.userid IN ({','.join('?' * len(userids))})",
        tuple(userids),
    )
    seen: list[tuple[str, str]] = []
    cursor = ""
    while True:
        page = await app_api.post(
            "externalcontact/batch/get_by_user", {"userid_list": userids, "cursor": cursor, "limit": 7}
        )
        assert page["errcode"] == 0
        assert len(page["external_contact_list"]) <= 7
        for row in page["external_contact_list"]:
            assert set(row) == {"external_contact", "follow_info"}
            assert isinstance(row["follow_info"]["tag_id"], list)
            seen.append((row["follow_info"]["userid"], row["external_contact"]["external_userid"]))
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == expected
    assert len(set(seen)) == expected


async def test_batch_limit_is_clamped_and_users_capped(app_api: WeCom, emu_state: EmulatorState) -> None:
    userid = _member_with_customers(emu_state)
    count = emu_state.store.scalar(
        "SELECT count(*) FROM follow f JOIN member m ON m.pk = f.member_pk WHERE m.userid = ?", (userid,)
    )
    default = await app_api.post("externalcontact/batch/get_by_user", {"userid_list": [userid]})
    assert len(default["external_contact_list"]) == min(50, count)
    clamped = await app_api.post(
        "externalcontact/batch/get_by_user", {"userid_list": [userid], "limit": 1000}
    )
    assert len(clamped["external_contact_list"]) == min(100, count)
    too_many = await app_api.post(
        "externalcontact/batch/get_by_user", {"userid_list": [f"u{i}" for i in range(101)]}
    )
    assert too_many["errcode"] == 40058
    assert too_many["external_contact_list"] == []
    assert too_many["next_cursor"] == ""


async def test_remark(app_api: WeCom, emu_state: EmulatorState) -> None:
    userid = _member_with_customers(emu_state)
    external = (await app_api.get("externalcontact/list", userid=userid))["external_userid"][0]
    body = {"userid": userid, "external_userid": external}
    assert (await app_api.post("externalcontact/remark", body))["errcode"] == 40063  # nothing to change
    update = {
        **body,
        "remark": "王总",
        "description": "老客户",
        "remark_mobiles": ["13800000000", "13900000000"],
    }
    assert (await app_api.post("externalcontact/remark", update))["errcode"] == 0
    mine = next(
        f
        for f in (await app_api.get("externalcontact/get", external_userid=external))["follow_user"]
        if f["userid"] == userid
    )
    assert (mine["remark"], mine["description"], mine["remark_mobiles"]) == (
        "王总",
        "老客户",
        ["13800000000", "13900000000"],
    )
    assert (await app_api.post("externalcontact/remark", {**body, "remark_mobiles": [""]}))["errcode"] == 0
    mine = next(
        f
        for f in (await app_api.get("externalcontact/get", external_userid=external))["follow_user"]
        if f["userid"] == userid
    )
    assert mine["remark_mobiles"] == []
    assert (await app_api.post("externalcontact/remark", {**body, "remark": "x" * 21}))["errcode"] == 40058


@pytest.mark.parametrize("who", ["stranger", "unknown"])
async def test_remark_needs_a_relationship(app_api: WeCom, emu_state: EmulatorState, who: str) -> None:
    userid = _member_with_customers(emu_state)
    if who == "unknown":
        external, expected = "wmUNKNOWN", 40096
    else:
        external = emu_state.store.scalar(
            "SELECT external_userid FROM customer c WHERE NOT EXISTS (SELECT 1 FROM follow f JOIN member m"
            " ON m.pk = f.member_pk WHERE f.customer_pk = c.pk AND m.userid = ?)",
            (userid,),
        )
        expected = 84061
    answer = await app_api.post(
        "externalcontact/remark", {"userid": userid, "external_userid": external, "remark": "x"}
    )
    assert answer["errcode"] == expected
