"""The demo corp of ``huike run`` / ``python -m wecom_emulator``: a company that looks lived in.

:func:`seed_company` makes a generic generated corp (for tests and benchmarks); this one is for
people looking at the console: about 3,000 customers over the members, with Chinese names and
nicknames, remarks and descriptions, a company for customers who are themselves WeCom users, the
ways they were added and the channel (``state``) of the 「联系我」 code they scanned — 官网, 展会,
公众号, 门店 … —, corp tags in groups such as 客户等级, 意向产品 and 来源渠道 spread the skewed way real
tagging is (a few tags on most customers, most tags on few), some customers followed by two or three
members, and three dozen customer groups whose members kept joining over the last 30 days.

Deterministic for a given (corp_id, seed); a few hundred milliseconds.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from typing import Any

from wecom_emulator import ids
from wecom_emulator.names import COMPANIES, NICKNAMES, POSITIONS, SURNAMES
from wecom_emulator.seed import SeedReport, _chinese_name, _mobile, _Picker, seed_company
from wecom_emulator.state import EmulatorState

DAY = 24 * 3600
MEMBERS = 60  # 56 of them in the app's visibility scope
CUSTOMERS = 3000
GROUPS = 36

# (group, [(tag, weight)]): how often each tag is on a customer that has one of the group's tags
DEMO_TAGS: list[tuple[str, list[tuple[str, int]]]] = [
    ("客户等级", [("A级-重点客户", 8), ("B级-潜力客户", 22), ("C级-普通客户", 45), ("D级-待培育", 25)]),
    (
        "意向产品",
        [
            ("汇客标准版", 40),
            ("汇客专业版", 25),
            ("私有化部署", 6),
            ("短信营销包", 15),
            ("代运营服务", 9),
            ("培训课程", 5),
        ],
    ),
    (
        "来源渠道",
        [
            ("官网", 1),
            ("展会", 1),
            ("公众号", 1),
            ("门店", 1),
            ("老客户推荐", 1),
            ("抖音广告", 1),
            ("线下沙龙", 1),
        ],
    ),
    (
        "客户阶段",
        [("新线索", 35), ("初次沟通", 25), ("方案报价", 15), ("已成交", 15), ("复购", 4), ("已流失", 6)],
    ),
    (
        "所属行业",
        [("零售", 30), ("教育培训", 18), ("医疗健康", 10), ("金融保险", 12), ("制造业", 14), ("餐饮", 16)],
    ),
    (
        "客户地区",
        [("上海", 24), ("北京", 18), ("杭州", 14), ("广州", 12), ("深圳", 14), ("成都", 10), ("南京", 8)],
    ),
]
# share of customers that carry a tag of the group (来源渠道 follows the channel they came by)
GROUP_COVERAGE = {"客户等级": 0.82, "意向产品": 0.55, "客户阶段": 0.7, "所属行业": 0.45, "客户地区": 0.35}

# 「联系我」 state values: the channel of the code a customer scanned, and how many come that way
CHANNELS: list[tuple[str, int]] = [
    ("官网", 30),
    ("公众号", 24),
    ("门店", 18),
    ("展会", 12),
    ("抖音广告", 8),
    ("线下沙龙", 5),
    ("老客户推荐", 3),
]
# add_way (spec §4.3) for a B2B sales team: mostly 「联系我」 codes, then phone, search and cards
ADD_WAYS: list[tuple[int, int]] = [
    (1, 52),
    (2, 10),
    (3, 9),
    (4, 6),
    (5, 5),
    (6, 3),
    (0, 3),
    (10, 8),
    (201, 4),
]
CUSTOMER_INITIATED = {1, 3, 10}
FOLLOWERS: list[tuple[int, int]] = [(1, 90), (2, 8), (3, 2)]
DESCRIPTIONS = [
    "对私有化部署感兴趣，需技术评估",
    "下周二回访，确认报价",
    "老客户转介绍",
    "展会现场加的微信，留过名片",
    "关注价格，等年底预算",
    "已试用标准版，反馈不错",
    "决策人是老板，需约面谈",
    "需要开专票",
    "周末不方便联系",
]
GROUP_THEMES = [
    "汇客产品交流群",
    "VIP客户服务群",
    "新客户体验群",
    "门店店长交流群",
    "私域运营学习群",
    "展会客户群",
    "代运营服务群",
    "售后支持群",
    "老客户福利群",
]
CITIES = ["上海", "北京", "杭州", "广州", "深圳", "成都", "南京"]


def seed_demo_company(state: EmulatorState, corp_id: str, *, seed: int = 42) -> SeedReport:
    """Create the demo corp ``corp_id`` (departments and members as :func:`seed_company` makes them,
    then the demo's tags, customers and groups). Same arguments → same data."""
    started = time.perf_counter()
    base = seed_company(
        state, corp_id, members=MEMBERS, external_contacts=0, groups=0, tags=0, seed=seed, name="汇客演示科技"
    )
    rng = random.Random(f"{corp_id}:demo:{seed}")  # noqa: S311 - generated demo data, not secrets
    corp = state.corp(corp_id)
    now = state.clock.timestamp()
    members = [
        dict(row)
        for row in state.store.all(
            "SELECT pk, userid, name, status, customer_contact FROM member"
            " WHERE corp_pk = ? AND visible = 1 AND status IN (1, 5) ORDER BY pk",
            (corp.pk,),
        )
    ]
    followers = [m for m in members if m["customer_contact"]] or members
    with state.store.transaction():
        tags = _tags(state, corp.pk, rng, now)
        follows, first_customer = _customers(state, corp.pk, rng, followers, tags, now)
        group_members = _groups(state, corp.pk, rng, followers, first_customer, now)
    state.tag_cache.pop(corp.pk, None)
    return SeedReport(
        corp_id=base.corp_id,
        agent_id=base.agent_id,
        app_secret=base.app_secret,
        contact_secret=base.contact_secret,
        sync_secret=base.sync_secret,
        members=MEMBERS,
        external_contacts=CUSTOMERS,
        follows=follows,
        tags=sum(len(group) for group in tags.values()),
        groups=GROUPS,
        group_members=group_members,
        seconds=round(time.perf_counter() - started, 3),
    )


def _tags(state: EmulatorState, corp_pk: int, rng: random.Random, now: int) -> dict[str, dict[str, str]]:
    """The demo's corp tags; returns {group name: {tag name: tag id}}."""
    result: dict[str, dict[str, str]] = {}
    order = 1000
    for group_name, names in DEMO_TAGS:
        created = now - rng.randrange(200, 700) * DAY
        cur = state.store.conn.execute(
            "INSERT INTO tag_group (corp_pk, group_id, name, ord, create_time, creator)"
            " VALUES (?, ?, ?, ?, ?, 'admin')",
            (corp_pk, ids.tag_id(rng), group_name, order, created),
        )
        order -= 10
        made = {name: ids.tag_id(rng) for name, _ in names}
        state.store.conn.executemany(
            "INSERT INTO tag (corp_pk, tag_id, group_pk, name, ord, create_time, creator)"
            " VALUES (?, ?, ?, ?, ?, ?, 'admin')",
            [
                (corp_pk, made[name], cur.lastrowid, name, len(names) - i, created)
                for i, (name, _) in enumerate(names)
            ],
        )
        result[group_name] = made
    return result


def _short(company: str) -> str:
    """上海云帆科技有限公司 → 云帆科技 (the name WeCom shows beside a customer's)."""
    return company[2:].removesuffix("有限公司")


def _weighted(table: Sequence[tuple[Any, int]]) -> _Picker:
    return _Picker([value for value, _ in table], [weight for _, weight in table])


def _customers(
    state: EmulatorState,
    corp_pk: int,
    rng: random.Random,
    followers: list[dict[str, Any]],
    tags: dict[str, dict[str, str]],
    now: int,
) -> tuple[int, int]:
    """Customers and their relationships; returns (relationships, first customer pk)."""
    # some sales people hold many more customers than others, but nobody holds half of them
    pick_member = _Picker(followers, [rng.paretovariate(2.0) for _ in followers])
    pick_add_way = _weighted(ADD_WAYS)
    pick_channel = _weighted(CHANNELS)
    pick_followers = _weighted(FOLLOWERS)
    surnames = _Picker(SURNAMES, [1.0 / (i + 3) for i in range(len(SURNAMES))])
    pickers = {group: _weighted(names) for group, names in DEMO_TAGS}
    first = (state.store.scalar("SELECT max(pk) FROM customer") or 0) + 1
    customers: list[tuple[Any, ...]] = []
    follows: list[tuple[Any, ...]] = []
    for pk in range(first, first + CUSTOMERS):
        wecom_user = rng.random() < 0.08  # a member of another corp (type 2): has a company
        real_name, _ = _chinese_name(rng, surnames)
        display = real_name if wecom_user or rng.random() < 0.5 else rng.choice(NICKNAMES)
        company = rng.choice(COMPANIES) if wecom_user else None
        external_userid = ("wo" + ids.opaque(30, rng)) if wecom_user else ids.external_userid(rng)
        customers.append(
            (
                pk,
                corp_pk,
                external_userid,
                display,
                f"http://wx.qlogo.cn/mmhead/{ids.opaque(40, rng)}/0",
                2 if wecom_user else 1,
                rng.choice((0, 1, 1, 2, 2)),
                None if wecom_user or rng.random() < 0.4 else ids.unionid(rng),
                rng.choice([p for p in POSITIONS if p]) if wecom_user else None,
                _short(company) if company else None,
                company,
            )
        )
        # most customers arrived in the last months; a tail goes back two years
        first_added = now - int(730 * DAY * rng.random() ** 2.2) - rng.randrange(DAY)
        chosen: set[int] = set()
        for index in range(pick_followers(rng)):
            member = pick_member(rng)
            if member["pk"] in chosen:
                continue
            chosen.add(member["pk"])
            add_way = pick_add_way(rng) if index == 0 else rng.choice((0, 201, 202))
            channel = pick_channel(rng) if add_way == 1 else None
            if add_way in CUSTOMER_INITIATED:
                oper = external_userid
            elif add_way in (201, 202):
                oper = pick_member(rng)["userid"]
            else:
                oper = member["userid"]
            tag_ids = [
                tags[group][pickers[group](rng)]
                for group, share in GROUP_COVERAGE.items()
                if rng.random() < share * (1.0 if index == 0 else 0.5)
            ]
            if channel is not None and rng.random() < 0.9:  # the channel's tag comes with its code
                tag_ids.append(tags["来源渠道"][channel])
            remark = ""
            if rng.random() < 0.55:
                remark = real_name + (f"-{_short(company)}" if company else f"-{rng.choice(CITIES)}")
            follows.append(
                (
                    corp_pk,
                    pk,
                    member["pk"],
                    remark,
                    rng.choice(DESCRIPTIONS) if rng.random() < 0.18 else "",
                    first_added + index * rng.randrange(DAY, 60 * DAY),
                    ",".join(tag_ids),
                    company or (rng.choice(COMPANIES) if rng.random() < 0.12 else ""),
                    json.dumps([_mobile(rng)]) if rng.random() < 0.35 else "[]",
                    add_way,
                    oper,
                    channel,
                )
            )
    state.store.conn.executemany(
        "INSERT INTO customer (pk, corp_pk, external_userid, name, avatar, type, gender, unionid,"
        " position, corp_name, corp_full_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        customers,
    )
    state.store.conn.executemany(
        "INSERT INTO follow (corp_pk, customer_pk, member_pk, remark, description, createtime, tag_ids,"
        " remark_corp_name, remark_mobiles, add_way, oper_userid, state)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        follows,
    )
    return len(follows), first


def _groups(
    state: EmulatorState,
    corp_pk: int,
    rng: random.Random,
    owners: list[dict[str, Any]],
    first_customer: int,
    now: int,
) -> int:
    """Customer groups with colleagues and customers; a third of the customers of a group joined in
    the last 30 days (the trend charts have something to show). Returns the number of group members."""
    pick_owner = _Picker(owners, [rng.paretovariate(1.3) for _ in owners])
    customers = state.store.all(
        "SELECT pk, external_userid, unionid, name FROM customer WHERE corp_pk = ? AND pk >= ? ORDER BY pk",
        (corp_pk, first_customer),
    )
    chats: list[tuple[Any, ...]] = []
    people: list[tuple[Any, ...]] = []
    chat_pk = (state.store.scalar("SELECT max(pk) FROM groupchat") or 0) + 1
    for number in range(1, GROUPS + 1):
        owner = pick_owner(rng)
        created = now - rng.randrange(35, 540) * DAY
        status = rng.choice((1, 1, 3)) if owner["status"] == 5 else 0
        theme = GROUP_THEMES[(number - 1) % len(GROUP_THEMES)]
        name = f"{theme}{'' if number <= len(GROUP_THEMES) else (number - 1) // len(GROUP_THEMES) + 1}"
        chats.append(
            (
                chat_pk,
                corp_pk,
                ids.chat_id(rng),
                name,
                owner["pk"],
                created,
                "欢迎加入！群内会分享产品更新和运营干货，请勿发广告。" if rng.random() < 0.5 else "",
                status,
                json.dumps([pick_owner(rng)["userid"]] if rng.random() < 0.3 else []),
                ids.version(rng),
            )
        )
        people.append((chat_pk, owner["userid"], 1, None, created, 1, None, owner["name"]))
        colleagues = {owner["userid"]}
        for _ in range(rng.randrange(1, 4)):
            colleague = pick_owner(rng)
            if colleague["userid"] not in colleagues:
                colleagues.add(colleague["userid"])
                people.append(
                    (chat_pk, colleague["userid"], 1, None, created, 1, owner["userid"], colleague["name"])
                )
        size = min(int(rng.paretovariate(1.2) * 25), 400, len(customers))
        for row in rng.sample(customers, size):
            recent = rng.random() < 0.33
            joined = (
                now - rng.randrange(30 * DAY)
                if recent
                else created + rng.randrange(max(1, now - 30 * DAY - created))
            )
            scene = rng.choice((1, 2, 3, 3))
            people.append(
                (
                    chat_pk,
                    row["external_userid"],
                    2,
                    row["unionid"],
                    joined,
                    scene,
                    owner["userid"] if scene in (1, 2) else None,
                    row["name"],
                )
            )
        chat_pk += 1
    state.store.conn.executemany(
        "INSERT INTO groupchat (pk, corp_pk, chat_id, name, owner_pk, create_time, notice, status, admins,"
        " member_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chats,
    )
    state.store.conn.executemany(
        "INSERT INTO groupchat_member (chat_pk, userid, type, unionid, join_time, join_scene, invitor, name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        people,
    )
    return len(people)
