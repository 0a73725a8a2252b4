"""The demo corp of ``huike run``: a few thousand customers over the members with names, remarks,
companies, add ways and channels, corp tags spread the skewed way real tagging is, customers followed
by two or three members, and three dozen groups whose customers kept joining over the last 30 days."""

from __future__ import annotations

from collections import Counter

from wecom_emulator import Clock, EmulatorState
from wecom_emulator.cli import DEMO_CORP, build_state
from wecom_emulator.demo import CUSTOMERS, GROUPS, seed_demo_company


def _rows(state: EmulatorState, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in state.store.all(sql)]


def test_the_demo_corp_looks_lived_in() -> None:
    state, report = build_state(":memory:")
    assert report is not None
    assert report.corp_id == DEMO_CORP
    scalar = state.store.scalar
    assert scalar("SELECT count(*) FROM member WHERE visible = 1") == 56
    assert scalar("SELECT count(*) FROM customer") == CUSTOMERS == 3000
    assert scalar("SELECT count(*) FROM groupchat") == GROUPS == 36

    # names: Chinese names and nicknames; companies for the customers who are WeCom users
    names = [str(row[0]) for row in _rows(state, "SELECT name FROM customer")]
    assert sum(1 for n in names if all("\u4e00" <= c <= "\u9fff" for c in n)) > CUSTOMERS / 2
    wecom_users = _rows(
        state, "SELECT external_userid, corp_name, corp_full_name FROM customer WHERE type = 2"
    )
    assert 100 < len(wecom_users) < 400
    assert all(str(uid).startswith("wo") and short and full for uid, short, full in wecom_users)
    assert scalar("SELECT count(*) FROM follow WHERE remark != ''") > CUSTOMERS / 3

    # channels: the state of the 「联系我」 code, for customers who scanned one
    channels = Counter(
        dict(_rows(state, "SELECT state, count(*) FROM follow WHERE state IS NOT NULL GROUP BY 1"))
    )
    assert {"官网", "展会", "公众号", "门店"} <= set(channels)
    assert channels["官网"] > channels["展会"] > channels["老客户推荐"]
    assert scalar("SELECT count(*) FROM follow WHERE state IS NOT NULL AND add_way != 1") == 0
    assert len(dict(_rows(state, "SELECT add_way, count(*) FROM follow GROUP BY 1"))) >= 6

    # tags: the groups people expect, used unevenly
    groups = {str(row[0]) for row in _rows(state, "SELECT name FROM tag_group")}
    assert {"客户等级", "意向产品", "来源渠道"} <= groups
    usage = Counter(
        str(tag)
        for (tag_ids,) in _rows(state, "SELECT tag_ids FROM follow")
        for tag in str(tag_ids).split(",")
        if tag
    )
    levels = dict(
        _rows(
            state,
            "SELECT t.name, t.tag_id FROM tag t JOIN tag_group g ON g.pk = t.group_pk WHERE g.name = '客户等级'",
        )
    )
    assert usage[str(levels["C级-普通客户"])] > 3 * usage[str(levels["A级-重点客户"])] > 0
    assert scalar("SELECT count(*) FROM follow WHERE tag_ids = ''") < CUSTOMERS / 5

    # a few customers are followed by two or three members
    followers = Counter(
        dict(
            _rows(
                state,
                "SELECT n, count(*) FROM (SELECT count(*) n FROM follow GROUP BY customer_pk) GROUP BY n",
            )
        )
    )
    assert set(followers) == {1, 2, 3}
    assert followers[1] > 10 * followers[2] > 0
    assert followers[3] > 0

    # groups: colleagues and customers, and joins in the last 30 days
    now = state.clock.timestamp()
    recent = scalar(
        "SELECT count(*) FROM groupchat_member WHERE type = 2 AND join_time >= ?", (now - 30 * 24 * 3600,)
    )
    customers_in_groups = scalar("SELECT count(*) FROM groupchat_member WHERE type = 2")
    assert customers_in_groups > 1000
    assert customers_in_groups / 5 < recent < customers_in_groups / 2
    assert (
        scalar("SELECT min(n) FROM (SELECT count(*) n FROM groupchat_member WHERE type = 1 GROUP BY chat_pk)")
        >= 1
    )


def test_the_demo_corp_is_the_same_every_time() -> None:
    first = EmulatorState(path=":memory:", clock=Clock(start=1_780_000_000, frozen=True))
    second = EmulatorState(path=":memory:", clock=Clock(start=1_780_000_000, frozen=True))
    seed_demo_company(first, DEMO_CORP)
    seed_demo_company(second, DEMO_CORP)
    for table in ("member", "customer", "follow", "tag", "groupchat", "groupchat_member"):
        sql = f"SELECT * FROM {table} ORDER BY pk"
        assert _rows(first, sql) == _rows(second, sql), table
