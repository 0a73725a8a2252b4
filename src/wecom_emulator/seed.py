"""Generated companies: departments, members, corp tags, customers with their relationships, and
customer groups — deterministic for a given (corp_id, seed), and streamed into SQLite in batches
so a million customers take bounded memory (nothing but one batch and the member list is held).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wecom_emulator import ids
from wecom_emulator.names import (
    CHANNEL_STATES,
    COMPANIES,
    DEPARTMENTS,
    GIVEN,
    NICKNAMES,
    POSITIONS,
    SURNAMES,
    TAG_CATALOGUE,
)
from wecom_emulator.state import Corp, EmulatorState

YEAR = 365 * 24 * 3600
# add_way spread (spec §4.3 values) and how often each happens in a typical retail corp
ADD_WAYS = [(1, 45), (2, 14), (3, 8), (4, 8), (5, 7), (6, 6), (0, 2), (9, 1), (10, 3), (201, 4), (202, 2)]
CUSTOMER_INITIATED = {1, 3, 10}  # oper_userid is the customer's external_userid for these
FOLLOWERS = [(1, 82), (2, 13), (3, 4), (4, 1)]
TAGS_PER_FOLLOW = [(0, 25), (1, 30), (2, 25), (3, 15), (4, 5)]
DESCRIPTIONS = [
    "意向A套餐，下周回访",
    "老客户介绍",
    "已加会员群",
    "对价格敏感",
    "需要发票",
    "周末方便联系",
    "关注新品",
]


@dataclass
class SeedReport:
    corp_id: str
    agent_id: int
    app_secret: str
    contact_secret: str
    sync_secret: str
    members: int
    external_contacts: int
    follows: int
    tags: int
    groups: int
    group_members: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pick(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    values = [v for v, _ in table]
    return rng.choices(values, weights=[w for _, w in table])[0]


class _Picker:
    """Weighted choice with precomputed cumulative weights (rng.choices recomputes them each call)."""

    def __init__(self, values: Sequence[Any], weights: Sequence[float]) -> None:
        self.values = list(values)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _chinese_name(rng: random.Random, surnames: _Picker) -> tuple[str, str]:
    """(name, pinyin) such as ("张伟", "ZhangWei")."""
    surname, s_py = surnames(rng)
    parts = [rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.35 else 2)]
    return surname + "".join(c for c, _ in parts), s_py.capitalize() + "".join(
        p.capitalize() for _, p in parts
    )


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def seed_company(
    state: EmulatorState,
    corp_id: str,
    *,
    members: int = 50,
    external_contacts: int = 500,
    groups: int = 20,
    tags: int = 30,
    seed: int = 42,
    name: str | None = None,
    batch_size: int = 20_000,
) -> SeedReport:
    """Create (or add to) ``corp_id`` a generated company. Same arguments → same data."""
    started = time.perf_counter()
    rng = random.Random(f"{corp_id}:{seed}")  # noqa: S311 - generated test data, not secrets
    conn = state.store.conn
    file_db = state.store.path != ":memory:"
    if file_db:  # a crash mid-seed only loses generated data; durability is not worth the time here
        conn.execute("PRAGMA synchronous=OFF")
    try:
        corp = state.find_corp(corp_id) or state.create_corp(
            corp_id,
            name=name or f"{rng.choice(['云帆', '青禾', '启明', '众合', '锦程'])}零售集团",
            app_secret=ids.secret(rng),
            contact_secret=ids.secret(rng),
            sync_secret=ids.secret(rng),
        )
        now = state.clock.timestamp()
        with state.store.transaction():
            leaf_departments, support_departments = _seed_departments(state, corp)
            member_rows = _seed_members(state, corp, rng, members, leaf_departments, support_departments, now)
            tag_ids = _seed_tags(state, corp, rng, tags, now)
        followers = [m for m in member_rows if m["customer_contact"] and m["status"] in (1, 5)] or member_rows
        follows = 0
        first_customer = (state.store.scalar("SELECT max(pk) FROM customer") or 0) + 1
        if followers and external_contacts:
            follows = _seed_customers(
                state, corp, rng, external_contacts, followers, tag_ids, now, batch_size
            )
        group_members = 0
        if groups and followers:
            group_members = _seed_groups(
                state, corp, rng, groups, followers, first_customer, external_contacts, now, batch_size
            )
    finally:
        if file_db:
            conn.execute("PRAGMA synchronous=NORMAL")
    corp = state.corp(corp_id)
    return SeedReport(
        corp_id=corp.corp_id,
        agent_id=corp.agent_id,
        app_secret=corp.app_secret,
        contact_secret=corp.contact_secret,
        sync_secret=corp.sync_secret,
        members=members,
        external_contacts=external_contacts,
        follows=follows,
        tags=sum(len(group) for group in tag_ids),
        groups=groups,
        group_members=group_members,
        seconds=round(time.perf_counter() - started, 3),
    )


def _seed_departments(state: EmulatorState, corp: Corp) -> tuple[list[int], list[int]]:
    """The tree under the root (id 1). Returns (customer-facing leaves, back-office departments)."""
    if state.store.one("SELECT 1 FROM department WHERE corp_pk = ?", (corp.pk,)):
        existing = state.store.all("SELECT id FROM department WHERE corp_pk = ? AND id != 1", (corp.pk,))
        return [r["id"] for r in existing] or [1], []
    rows: list[tuple[Any, ...]] = [(corp.pk, 1, corp.name, "", 0, 100000)]
    leaves: list[int] = []
    support: list[int] = []
    next_id = 2
    for index, (top, top_en, children) in enumerate(DEPARTMENTS):
        top_id = next_id
        next_id += 1
        rows.append((corp.pk, top_id, top, top_en, 1, 100000 - index * 1000))
        customer_facing = top in ("销售中心", "客户成功部", "门店事业部")
        for child_index, child in enumerate(children):
            rows.append((corp.pk, next_id, child, "", top_id, 100000 - child_index * 1000))
            (leaves if customer_facing else support).append(next_id)
            next_id += 1
        if not children:
            support.append(top_id)
    state.store.conn.executemany(
        "INSERT INTO department (corp_pk, id, name, name_en, parentid, ord) VALUES (?, ?, ?, ?, ?, ?)", rows
    )
    return leaves, support


def _seed_members(
    state: EmulatorState,
    corp: Corp,
    rng: random.Random,
    count: int,
    leaves: list[int],
    support: list[int],
    now: int,
) -> list[dict[str, Any]]:
    surnames = _Picker(SURNAMES, [1.0 / (i + 3) for i in range(len(SURNAMES))])
    taken = {
        r[0].lower()
        for r in state.store.conn.execute("SELECT userid FROM member WHERE corp_pk = ?", (corp.pk,))
    }
    next_pk = (state.store.scalar("SELECT max(pk) FROM member") or 0) + 1
    result: list[dict[str, Any]] = []
    rows = []
    for index in range(count):
        name, pinyin = _chinese_name(rng, surnames)
        userid, n = pinyin, 1
        while userid.lower() in taken:
            n += 1
            userid = f"{pinyin}{n:02d}"
        taken.add(userid.lower())
        facing = rng.random() < 0.8 or not support
        dept = rng.choice(leaves if facing else support)
        status = _pick(rng, [(1, 92), (2, 2), (4, 3), (5, 3)]) if index else 1
        visible = 1 if index == 0 or rng.random() < 0.95 else 0
        customer_contact = 1 if (facing and rng.random() < 0.95) or rng.random() < 0.1 else 0
        member = {
            "pk": next_pk,
            "userid": userid,
            "name": name,
            "status": status,
            "customer_contact": customer_contact,
        }
        result.append(member)
        rows.append(
            (
                next_pk,
                corp.pk,
                userid,
                name,
                json.dumps([dept]),
                dept,
                rng.choice(POSITIONS),
                _mobile(rng),
                rng.choice("12"),
                f"{userid.lower()}@example.com",
                f"https://wework.qpic.cn/wwhead/{ids.opaque(40, rng)}/0",
                status,
                visible,
                customer_contact,
            )
        )
        next_pk += 1
    state.store.conn.executemany(
        "INSERT INTO member (pk, corp_pk, userid, name, departments, main_department, position, mobile, gender,"
        " email, avatar, status, visible, customer_contact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    # resigned members left on some day of the past half year (from the pk, so no draw from rng
    # and every other generated value stays the same)
    state.store.conn.executemany(
        "INSERT INTO resignation (member_pk, dimission_time) VALUES (?, ?)",
        [(m["pk"], now - (1 + m["pk"] * 7919 % 180) * 24 * 3600) for m in result if m["status"] == 5],
    )
    return result


def _seed_tags(state: EmulatorState, corp: Corp, rng: random.Random, count: int, now: int) -> list[list[str]]:
    """``count`` tags from the catalogue (then numbered extra groups); returns tag ids per group."""
    catalogue = list(TAG_CATALOGUE)
    extra = 1
    per_group: list[list[str]] = []
    made = 0
    group_order = 1000
    while made < count:
        if catalogue:
            group_name, names = catalogue.pop(0)
        else:
            group_name, names = f"自定义标签组{extra}", [f"标签{extra}-{i}" for i in range(1, 11)]
            extra += 1
        names = names[: count - made]
        group_id = ids.tag_id(rng)
        create_time = now - rng.randrange(YEAR)
        cur = state.store.conn.execute(
            "INSERT INTO tag_group (corp_pk, group_id, name, ord, create_time, creator) VALUES (?, ?, ?, ?, ?, 'admin')",
            (corp.pk, group_id, group_name, group_order, create_time),
        )
        group_order -= 10
        tag_ids = [ids.tag_id(rng) for _ in names]
        state.store.conn.executemany(
            "INSERT INTO tag (corp_pk, tag_id, group_pk, name, ord, create_time, creator)"
            " VALUES (?, ?, ?, ?, ?, ?, 'admin')",
            [
                (corp.pk, t, cur.lastrowid, n, len(names) - i, create_time)
                for i, (t, n) in enumerate(zip(tag_ids, names, strict=True))
            ],
        )
        per_group.append(tag_ids)
        made += len(names)
    state.tag_cache.pop(corp.pk, None)
    return per_group


def _seed_customers(
    state: EmulatorState,
    corp: Corp,
    rng: random.Random,
    count: int,
    followers: list[dict[str, Any]],
    tag_groups: list[list[str]],
    now: int,
    batch_size: int,
) -> int:
    """Customers and their relationships, streamed in batches. Returns the number of relationships."""
    # A few members hold most customers, as in real sales teams.
    weights = [rng.paretovariate(1.2) for _ in followers]
    pick_member = _Picker(followers, weights)
    pick_add_way = _Picker([a for a, _ in ADD_WAYS], [w for _, w in ADD_WAYS])
    pick_followers = _Picker([n for n, _ in FOLLOWERS], [w for _, w in FOLLOWERS])
    pick_tag_count = _Picker([n for n, _ in TAGS_PER_FOLLOW], [w for _, w in TAGS_PER_FOLLOW])
    surnames = _Picker(SURNAMES, [1.0 / (i + 3) for i in range(len(SURNAMES))])
    customer_pk = (state.store.scalar("SELECT max(pk) FROM customer") or 0) + 1
    taken_pairs = 0
    conn = state.store.conn
    customers: list[tuple[Any, ...]] = []
    follows: list[tuple[Any, ...]] = []

    def flush() -> None:
        with state.store.transaction():
            conn.executemany(
                "INSERT INTO customer (pk, corp_pk, external_userid, name, avatar, type, gender, unionid,"
                " position, corp_name, corp_full_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                customers,
            )
            conn.executemany(
                "INSERT INTO follow (corp_pk, customer_pk, member_pk, remark, description, createtime, tag_ids,"
                " remark_corp_name, remark_mobiles, add_way, oper_userid, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                follows,
            )
        customers.clear()
        follows.clear()

    for _ in range(count):
        external_userid = ids.external_userid(rng)
        is_wecom_user = rng.random() < 0.07
        real_name, _pinyin = _chinese_name(rng, surnames)
        display = real_name if is_wecom_user or rng.random() < 0.55 else rng.choice(NICKNAMES)
        company = rng.choice(COMPANIES) if is_wecom_user else None
        customers.append(
            (
                customer_pk,
                corp.pk,
                external_userid,
                display,
                f"http://wx.qlogo.cn/mmhead/{ids.opaque(40, rng)}/0",
                2 if is_wecom_user else 1,
                _pick(rng, [(0, 10), (1, 45), (2, 45)]),
                ids.unionid(rng) if not is_wecom_user and rng.random() < 0.6 else None,
                rng.choice(POSITIONS[:-1]) if is_wecom_user else None,
                company[:6] if company else None,
                company,
            )
        )
        chosen: set[int] = set()
        for _ in range(pick_followers(rng)):
            member = pick_member(rng)
            if member["pk"] in chosen:
                continue
            chosen.add(member["pk"])
            add_way = pick_add_way(rng)
            if add_way in CUSTOMER_INITIATED:
                oper = external_userid
            elif add_way in (201, 202):
                oper = pick_member(rng)["userid"]
            else:
                oper = member["userid"]
            state_label = rng.choice(CHANNEL_STATES) if add_way == 1 and rng.random() < 0.6 else None
            tag_count = min(pick_tag_count(rng), len(tag_groups))
            tags = [rng.choice(group) for group in rng.sample(tag_groups, tag_count)]
            follows.append(
                (
                    corp.pk,
                    customer_pk,
                    member["pk"],
                    real_name if rng.random() < 0.4 else "",
                    rng.choice(DESCRIPTIONS) if rng.random() < 0.15 else "",
                    now - int(3 * YEAR * rng.random() ** 1.5),
                    ",".join(tags),
                    (rng.choice(COMPANIES) if rng.random() < 0.1 and not is_wecom_user else ""),
                    json.dumps([_mobile(rng)]) if rng.random() < 0.3 else "[]",
                    add_way,
                    oper,
                    state_label,
                )
            )
            taken_pairs += 1
        customer_pk += 1
        if len(customers) >= batch_size:
            flush()
    if customers:
        flush()
    return taken_pairs


def _seed_groups(
    state: EmulatorState,
    corp: Corp,
    rng: random.Random,
    count: int,
    owners: list[dict[str, Any]],
    first_customer: int,
    customers: int,
    now: int,
    batch_size: int,
) -> int:
    """Customer groups with members and customers. Returns the number of group members."""
    conn = state.store.conn
    themes = ["VIP会员福利群", "新品体验群", "老客户交流群", "门店粉丝群", "售后服务群", "直播秒杀群"]
    pick_owner = _Picker(owners, [rng.paretovariate(1.5) for _ in owners])
    chat_pk = (state.store.scalar("SELECT max(pk) FROM groupchat") or 0) + 1
    chats: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    total = 0

    def flush() -> None:
        with state.store.transaction():
            conn.executemany(
                "INSERT INTO groupchat (pk, corp_pk, chat_id, name, owner_pk, create_time, notice, status, admins,"
                " member_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                chats,
            )
            conn.executemany(
                "INSERT INTO groupchat_member (chat_pk, userid, type, unionid, join_time, join_scene, invitor, name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                members,
            )
        chats.clear()
        members.clear()

    for number in range(1, count + 1):
        owner = pick_owner(rng)
        created = now - int(2 * YEAR * rng.random())
        # the owner resigned: the group waits for inheritance (1), is being (2) or was inherited (3)
        status = _pick(rng, [(1, 6), (2, 1), (3, 3)]) if owner["status"] == 5 else 0
        admins = [pick_owner(rng)["userid"]] if rng.random() < 0.2 else []
        chats.append(
            (
                chat_pk,
                corp.pk,
                ids.chat_id(rng),
                f"{rng.choice(themes)}{number}",
                owner["pk"],
                created,
                "欢迎加入，群内定期发布优惠信息" if rng.random() < 0.3 else "",
                status,
                json.dumps(admins),
                ids.version(rng),
            )
        )
        members.append((chat_pk, owner["userid"], 1, None, created, 1, None, owner["name"]))
        colleagues = {owner["userid"]}
        for _ in range(rng.randrange(3)):
            colleague = pick_owner(rng)
            if colleague["userid"] not in colleagues:
                colleagues.add(colleague["userid"])
                members.append(
                    (chat_pk, colleague["userid"], 1, None, created, 1, owner["userid"], colleague["name"])
                )
        size = min(int(rng.paretovariate(1.3) * 8), 480, customers)
        picks = sorted({first_customer + rng.randrange(customers) for _ in range(size)}) if customers else []
        total += len(colleagues)
        for pks in _chunks(picks, 500):
            marks = ",".join("?" * len(pks))
            found = conn.execute(
                f"SELECT external_userid, unionid, name FROM customer WHERE pk IN ({marks})",  # noqa: S608
                pks,
            ).fetchall()
            for row in found:
                scene = _pick(rng, [(1, 30), (2, 30), (3, 40)])
                members.append(
                    (
                        chat_pk,
                        row["external_userid"],
                        2,
                        row["unionid"],
                        created + rng.randrange(max(1, now - created)),
                        scene,
                        owner["userid"] if scene in (1, 2) else None,
                        row["name"],
                    )
                )
                total += 1
        chat_pk += 1
        if len(members) >= batch_size:
            flush()
    if chats:
        flush()
    return total


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
