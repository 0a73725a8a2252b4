"""Benchmark: the customer list at full size — first page of filtered lists, and the count.

    python -m bench.customer_list                      # SQLite file /tmp/bench/list.db
    python -m bench.customer_list --database-url postgresql+asyncpg://postgres@127.0.0.1/huike_bench_list
    python -m bench.customer_list --reuse              # measure again without generating

**Generator.** One tenant with 2,000 members in 111 departments, 300 tags, then (default sizes)
1,000,000 customers, 3,000,000 follow relations, 5,000,000 tag links, the keyword index of every
customer and 20,000 customer groups with their members, written straight into the database: COPY on
PostgreSQL, ``executemany`` in large transactions on SQLite, secondary indexes built after the load.
Names, corp names and remarks are real AES-GCM ciphertext under the tenant's data key, each bound to
its own row (the AAD names the row, so a ciphertext cannot be reused); keyword tokens are the real
HMACs (computed once per distinct gram). The data directory (master key) and database are kept, so
``--reuse`` measures again without the minutes of generation.

**Measurement.** Each query runs ``--repeat`` times (parameters drawn afresh each time: other tags,
owners, dates, keywords) through ``service.list_contacts`` — what ``GET /external-contacts`` calls —
with the API's default page size (50), each in its own session; p50/p95/p99 in ms. Then the same
for ``service.count_contacts`` (``GET /external-contacts/count``). Targets: first page p95 ≤ 100 ms
on PostgreSQL, ≤ 300 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬辉鹏飞斌宇浩凯健俊帆帅旭宁龙林欣悦思雨晨曦梓涵子轩一诺欢乐佳琪嘉怡心怡雅婷文博天佑梦瑶"
CORPS = ["腾讯", "阿里", "京东", "美团", "字节", "华为", "小米", "百度", "网易", "携程", "顺丰", "万科"]
REMARKS = ["VIP", "老客户", "意向强", "待回访", "王总", "李经理", "门店", "复购", "团购", "转介绍"]
T0 = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_S = 3 * 365 * 86400
BATCH = 20_000


@dataclasses.dataclass
class Sizes:
    customers: int
    follows: int
    tag_links: int
    groups: int


# --- writing rows fast -----------------------------------------------------------------------------


class Writer:
    """Rows straight into tables: COPY (asyncpg) or executemany (sqlite3), every column given."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.conn: Any = None
        self.columns: dict[str, list[Any]] = {}

    async def open(self) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(self.url)
        if self.sqlite:
            import sqlite3

            self.conn = sqlite3.connect(parsed.database, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-262144")
            self.conn.execute("BEGIN")
        else:
            import asyncpg

            self.conn = await asyncpg.connect(
                host=parsed.host or "127.0.0.1",
                port=parsed.port or 5432,
                user=parsed.username or "postgres",
                password=parsed.password,
                database=parsed.database,
            )

    async def close(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
            self.conn.close()
        else:
            await self.conn.close()

    def _prepare(self, table: Any) -> list[Any]:
        if table.name not in self.columns:
            from sqlalchemy.dialects import sqlite

            dialect = sqlite.dialect()
            prepared = []
            for column in table.columns:
                default = column.default
                if default is None:
                    make: Callable[[], Any] = lambda: None  # noqa: E731
                elif default.is_scalar:
                    make = lambda value=default.arg: value  # noqa: E731
                else:
                    make = lambda fn=default.arg: fn(None)  # noqa: E731
                bind = column.type._cached_bind_processor(dialect) if self.sqlite else None
                prepared.append((column.name, make, bind))
            self.columns[table.name] = prepared
        return self.columns[table.name]

    async def write(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        prepared = self._prepare(table)
        records = []
        for row in rows:
            record = []
            for name, make, bind in prepared:
                value = row[name] if name in row else make()
                record.append(bind(value) if bind is not None and value is not None else value)
            records.append(tuple(record))
        names = [name for name, _, _ in prepared]
        if self.sqlite:
            marks = ", ".join("?" for _ in names)
            quoted = ", ".join(f'"{n}"' for n in names)
            self.conn.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', records)
        else:
            await self.conn.copy_records_to_table(table.name, records=records, columns=names)

    async def commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN")

    async def execute(self, sql: str) -> None:
        if self.sqlite:
            self.conn.execute(sql)
        else:
            await self.conn.execute(sql)


# --- the generator ----------------------------------------------------------------------------------


def _weights(n: int, skew: float) -> list[float]:
    return [1.0 / (i + 1) ** skew for i in range(n)]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


async def setup_tenant(url: str, data_dir: Path) -> dict[str, Any]:
    """Tenant, keys, departments, members and tags through the ORM (small), returns their ids."""
    from huike.core.db import Base, Database, commit
    from huike.member.models import Department, Member, MemberDepartment
    from huike.security.keys import ensure_keys
    from huike.tag.models import Tag, TagGroup
    from huike.tenant.models import Tenant

    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    rng = random.Random(7)
    async with db.sessionmaker() as session:
        tenant = Tenant(name="压测租户（客户列表）")
        session.add(tenant)
        await session.flush()
        await ensure_keys(session, tenant.id)
        departments = [Department(tenant_id=tenant.id, wecom_id=1, name="总部", parent_wecom_id=0)]
        for region in range(10):
            departments.append(
                Department(tenant_id=tenant.id, wecom_id=10 + region, name=f"大区{region}", parent_wecom_id=1)
            )
            for store in range(10):
                departments.append(
                    Department(
                        tenant_id=tenant.id,
                        wecom_id=100 + region * 10 + store,
                        name=f"门店{region}-{store}",
                        parent_wecom_id=10 + region,
                    )
                )
        session.add_all(departments)
        members = []
        for n in range(2000):
            store = 100 + n % 100
            member = Member(
                tenant_id=tenant.id,
                wecom_userid=f"staff{n:05d}",
                name=_name(rng),
                position="导购",
                main_department_wecom_id=store,
                status="active",
                in_scope=True,
                has_customer_contact=True,
            )
            members.append(member)
        session.add_all(members)
        await session.flush()
        session.add_all(
            MemberDepartment(
                tenant_id=tenant.id, member_id=m.id, department_wecom_id=m.main_department_wecom_id
            )
            for m in members
        )
        groups = [
            TagGroup(tenant_id=tenant.id, wecom_id=f"etGROUP{g:04d}", name=f"标签组{g}") for g in range(30)
        ]
        session.add_all(groups)
        await session.flush()
        tags = [
            Tag(tenant_id=tenant.id, group_id=groups[t // 10].id, wecom_id=f"etTAG{t:05d}", name=f"标签{t}")
            for t in range(300)
        ]
        session.add_all(tags)
        await commit(session)
        info = {
            "tenant_id": str(tenant.id),
            "members": [(str(m.id), m.wecom_userid, m.main_department_wecom_id) for m in members],
            "tags": [str(t.id) for t in tags],
            "departments": {str(d.wecom_id): str(d.id) for d in departments},
        }
    await db.dispose()
    return info


async def tenant_keys(url: str, tenant_id: uuid.UUID) -> tuple[tuple[bytes, int], tuple[bytes, int]]:
    from huike.core.db import Database
    from huike.security.keys import KeyFamily, cached_scope_keys, scope_of, warm_keys

    db = Database(url)
    async with db.read_sessionmaker() as session:
        await warm_keys(session, tenant_id)
        found = []
        for family in (KeyFamily.data, KeyFamily.blind_index):
            keys = cached_scope_keys(session.sync_session, scope_of(tenant_id), family)
            assert keys is not None
            assert keys.active is not None
            found.append((keys.keys[keys.active], keys.active))
    await db.dispose()
    return found[0], found[1]


def _gram_tokens(index_key: tuple[bytes, int]) -> Callable[[str], set[str]]:
    from huike.external_contact.service import _token, grams

    cache: dict[str, str] = {}

    def tokens(text: str) -> set[str]:
        found = set()
        for gram in grams(text):
            token = cache.get(gram)
            if token is None:
                token = cache[gram] = _token(index_key[0], index_key[1], gram)
            found.add(token)
        return found

    return tokens


async def generate(url: str, info: dict[str, Any], sizes: Sizes) -> None:
    import huike.models  # noqa: F401
    from huike.external_contact.models import ContactTag, ExternalContact, FollowRelation, KeywordToken
    from huike.group_chat.models import GroupChat, GroupChatMember
    from huike.security.crypto import FieldContext, encrypt_value

    tenant_id = uuid.UUID(info["tenant_id"])
    (data_key, data_version), index_key = await tenant_keys(url, tenant_id)
    tokens_of = _gram_tokens(index_key)
    members = [(uuid.UUID(m), userid) for m, userid, _ in info["members"]]
    member_weights = _weights(len(members), 0.6)
    tags = [uuid.UUID(t) for t in info["tags"]]
    tag_weights = _weights(len(tags), 0.9)
    states = [None] * 8 + [f"channel-{n:02d}" for n in range(50)]
    rng = random.Random(11)

    def seal(table: str, column: str, row: uuid.UUID, value: str) -> Any:
        return encrypt_value(value, data_key, data_version, FieldContext(tenant_id, table, column, str(row)))

    big = [ExternalContact, FollowRelation, ContactTag, KeywordToken, GroupChatMember]
    writer = Writer(url)
    await writer.open()
    for model in big:  # secondary indexes are built once, after the load
        for index in model.__table__.indexes:
            await writer.execute(f'DROP INDEX IF EXISTS "{index.name}"')
    await writer.commit()

    follows_per = sizes.follows / sizes.customers
    tags_per = sizes.tag_links / sizes.follows
    now = datetime.now(UTC)
    made = {"customers": 0, "follows": 0, "tag_links": 0, "keywords": 0, "group_members": 0}
    userids: list[str] = []  # a sample of ExternalUserIDs for the groups
    started = time.perf_counter()
    for first in range(0, sizes.customers, BATCH):
        contacts, follows, links, keywords = [], [], [], []
        for _ in range(min(BATCH, sizes.customers - first)):
            contact_id = uuid.uuid4()
            external_userid = "wm" + uuid.uuid4().hex[:30]
            if len(userids) < 400_000 and rng.random() < 0.4:
                userids.append(external_userid)
            name = _name(rng)
            wecom_user = rng.random() < 0.2
            corp = rng.choice(CORPS) if wecom_user else None
            count = max(1, min(8, round(rng.expovariate(1 / follows_per)) or 1))
            added = [T0 + timedelta(seconds=rng.randrange(SPAN_S)) for _ in range(count)]
            first_added = min(added)  # the customer's added_at, repeated on its relations and links
            fate = rng.random()
            status = "active" if fate < 0.92 else ("lost" if fate < 0.97 else "gone")
            texts = [name] + ([corp] if corp else [])
            owners = rng.choices(range(len(members)), weights=member_weights, k=count)
            seen_owner: set[int] = set()
            for owner, when in zip(owners, added, strict=True):
                if owner in seen_owner:
                    continue
                seen_owner.add(owner)
                follow_id = uuid.uuid4()
                remark = rng.choice(REMARKS) if rng.random() < 0.3 else None
                if remark:
                    texts.append(remark)
                relation_status = (
                    "active"
                    if status == "active"
                    else ("member_deleted_customer" if status == "lost" else "removed")
                )
                follows.append(
                    {
                        "id": follow_id,
                        "tenant_id": tenant_id,
                        "contact_id": contact_id,
                        "member_userid": members[owner][1],
                        "member_id": members[owner][0],
                        "remark": seal("external_contact_follows", "remark", follow_id, remark)
                        if remark
                        else None,
                        "description": None,
                        "remark_corp_name": None,
                        "add_way": rng.choice((1, 1, 1, 2, 3, 202)),
                        "state": rng.choice(states),
                        "oper_userid": members[owner][1],
                        "added_at": when,
                        "contact_added_at": first_added,
                        "status": relation_status,
                        "status_changed_at": None if status == "active" else now,
                        "confirmed_at": now,
                    }
                )
                n_tags = min(len(tags), max(0, round(rng.expovariate(1 / tags_per))))
                for tag_id in set(rng.choices(tags, weights=tag_weights, k=n_tags)):
                    links.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tenant_id,
                            "follow_id": follow_id,
                            "contact_id": contact_id,
                            "tag_id": tag_id,
                            "contact_added_at": first_added,
                        }
                    )
            contacts.append(
                {
                    "id": contact_id,
                    "tenant_id": tenant_id,
                    "external_userid": external_userid,
                    "name": seal("external_contacts", "name", contact_id, name),
                    "corp_name": seal("external_contacts", "corp_name", contact_id, corp) if corp else None,
                    "contact_type": "wecom" if wecom_user else "wechat",
                    "status": status,
                    "added_at": first_added,
                    "lost_at": now - timedelta(days=rng.randrange(365)) if status == "lost" else None,
                    "content_hash": "",
                    "keywords_hash": "generated",
                }
            )
            keywords.extend(
                {"tenant_id": tenant_id, "token": token, "contact_id": contact_id}
                for token in sorted({t for text in texts for t in tokens_of(text)})
            )
        await writer.write(ExternalContact.__table__, contacts)
        await writer.write(FollowRelation.__table__, follows)
        await writer.write(ContactTag.__table__, links)
        await writer.write(KeywordToken.__table__, keywords)
        await writer.commit()
        made["customers"] += len(contacts)
        made["follows"] += len(follows)
        made["tag_links"] += len(links)
        made["keywords"] += len(keywords)
        done = first + len(contacts)
        if done % 100_000 < BATCH:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:>9,} customers ({rate:,.0f}/s) {made}", flush=True)

    for first in range(0, sizes.groups, 1000):
        groups, group_members = [], []
        for g in range(first, min(sizes.groups, first + 1000)):
            group_id = uuid.uuid4()
            owner = members[g % len(members)]
            size = rng.randint(5, 95)
            groups.append(
                {
                    "id": group_id,
                    "tenant_id": tenant_id,
                    "chat_id": f"wrBENCH{g:08d}",
                    "name": f"客户群{g}",
                    "owner_userid": owner[1],
                    "wecom_created_at": T0 + timedelta(seconds=rng.randrange(SPAN_S)),
                    "member_count": size + 1,
                }
            )
            group_members.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "group_chat_id": group_id,
                    "userid": owner[1],
                    "member_type": "member",
                    "join_time": now,
                }
            )
            for userid in set(rng.sample(userids, size)):
                group_members.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant_id,
                        "group_chat_id": group_id,
                        "userid": userid,
                        "member_type": "external",
                        "join_scene": 3,
                        "join_time": now,
                        "left_at": now if rng.random() < 0.1 else None,
                    }
                )
        await writer.write(GroupChat.__table__, groups)
        await writer.write(GroupChatMember.__table__, group_members)
        await writer.commit()
        made["group_members"] += len(group_members)
    print(f"  rows written in {time.perf_counter() - started:.0f} s: {made}", flush=True)

    started = time.perf_counter()
    await writer.close()
    from huike.core.db import make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:
        for model in big:
            for index in model.__table__.indexes:
                await conn.run_sync(lambda sync, index=index: index.create(sync, checkfirst=True))
        await conn.exec_driver_sql("ANALYZE")
    if not writer.sqlite:  # the visibility map, without which an index-only scan visits the heap
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for model in big:
                await autocommit.exec_driver_sql(f'VACUUM "{model.__tablename__}"')
    await engine.dispose()
    print(f"  indexes, ANALYZE and VACUUM in {time.perf_counter() - started:.0f} s", flush=True)


async def build_missing_indexes(url: str) -> None:
    """Tables and indexes declared in the models since the database was generated."""
    import huike.models  # noqa: F401
    from huike.core.db import Base, make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)  # new tables (with their indexes)
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                await conn.run_sync(lambda sync, index=index: index.create(sync, checkfirst=True))
    await engine.dispose()


# --- measuring --------------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return statistics.median(ordered), at(0.95), at(0.99)


async def measure(
    url: str, info: dict[str, Any], repeat: int, only: str | None, freeze_gc: bool = False
) -> list[tuple[str, Any]]:
    from huike.core.db import Database
    from huike.core.tenancy import TenantContext
    from huike.external_contact import service
    from huike.external_contact.schemas import ContactFilters

    tenant_id = uuid.UUID(info["tenant_id"])
    admin = TenantContext(
        tenant_id, uuid.uuid4(), role="admin", permissions=frozenset({"customers.view"}), data_scope="company"
    )
    members = info["members"]
    tags = info["tags"]
    regions = [info["departments"][str(10 + r)] for r in range(10)]
    rng = random.Random(5)
    db = Database(url)

    async with db.read_sessionmaker() as session:
        from sqlalchemy import select

        from huike.group_chat.models import GroupChat

        group_ids = list((await session.execute(select(GroupChat.id).limit(500))).scalars())

    def manager() -> tuple[TenantContext, dict[str, Any]]:
        # a store manager's data scope: their store (department scope), as resolve() would give it
        member_id = uuid.UUID(rng.choice(members)[0])
        return dataclasses.replace(admin, role=None, data_scope="department", member_id=member_id), {}

    def day() -> datetime:
        return T0 + timedelta(days=rng.randrange(3 * 365 - 30))

    cases: list[tuple[str, Callable[[], tuple[TenantContext, dict[str, Any]]]]] = [
        ("no filter", lambda: (admin, {})),
        ("tag any-of (3 tags)", lambda: (admin, {"tag_any": rng.sample(tags, 3)})),
        ("tag any-of (rare tag)", lambda: (admin, {"tag_any": [rng.choice(tags[200:])]})),
        ("tag all-of (2 tags)", lambda: (admin, {"tag_all": rng.sample(tags[:20], 2)})),
        ("tag none-of (2 tags)", lambda: (admin, {"tag_none": rng.sample(tags[:10], 2)})),
        ("owner (1 member)", lambda: (admin, {"owner_ids": [rng.choice(members)[0]]})),
        ("department (region)", lambda: (admin, {"department_id": rng.choice(regions)})),
        ("scope: store manager", manager),
        (
            "added in a 30-day range",
            lambda: (admin, {"added_from": (d := day()), "added_to": d + timedelta(days=30)}),
        ),
        ("lost", lambda: (admin, {"status": "lost"})),
        ("keyword (2 chars)", lambda: (admin, {"keyword": rng.choice(SURNAMES) + rng.choice(GIVEN)})),
        ("keyword (1 char)", lambda: (admin, {"keyword": rng.choice(GIVEN)})),
        (
            "tag any-of + owner",
            lambda: (admin, {"tag_any": rng.sample(tags, 3), "owner_ids": [rng.choice(members)[0]]}),
        ),
    ]
    if "group_chat_id" in ContactFilters.model_fields and group_ids:
        cases.append(("in group", lambda: (admin, {"group_chat_id": rng.choice(group_ids)})))
        cases.append(("in any group", lambda: (admin, {"group_membership": "any"})))

    async def timed(call: Callable[[Any, TenantContext, ContactFilters], Awaitable[Any]], case: Any) -> float:
        ctx, values = case()
        filters = ContactFilters.model_validate(values)
        async with db.read_sessionmaker() as session:
            started = time.perf_counter()
            await call(session, ctx, filters)
            return 1000 * (time.perf_counter() - started)

    async def first_page(session: Any, ctx: TenantContext, filters: ContactFilters) -> Any:
        return await service.list_contacts(session, ctx, filters, limit=50, cursor=None)

    results = []
    for label, case in cases:
        if only and only not in label:
            continue
        await timed(first_page, case)  # warm-up
        if freeze_gc:  # what is alive now is kept: no full collection walks it again
            gc.collect()
            gc.freeze()
        pages = [await timed(first_page, case) for _ in range(repeat)]
        counts = [await timed(service.count_contacts, case) for _ in range(max(3, repeat // 4))]
        results.append((label, (_percentiles(pages), _percentiles(counts))))
        p, c = results[-1][1]
        print(
            f"  {label:<26} page p50 {p[0]:7.1f}  p95 {p[1]:7.1f}  p99 {p[2]:7.1f} ms"
            f"   count p50 {c[0]:8.1f}  p95 {c[1]:8.1f} ms",
            flush=True,
        )
    await db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--dir", default="/tmp/bench", help="where the SQLite file and keys are kept")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--follows", type=int, default=3_000_000)
    parser.add_argument("--tag-links", type=int, default=5_000_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="measure the database generated before")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--only", default=None, help="only the cases whose label contains this")
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="gc.freeze() after each warm-up, as a server that freezes its startup objects runs: a"
        " full collection then skips the ~170,000 objects of the loaded app (70-110 ms at load 4-5)",
    )
    args = parser.parse_args()

    from huike import registry
    from huike.config import Settings
    from huike.core.logging import configure_logging
    from huike.security.keys import configure_keys
    from huike.security.kms import ensure_master_key

    kind = "pg" if args.database_url else "sqlite"
    home = Path(args.dir) / f"list-{kind}"
    home.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite+aiosqlite:///{home / 'list.db'}"
    registry.load()
    settings = Settings(data_dir=home, database_url=url, redis_url=None, log_level="WARNING")
    configure_logging(settings)
    ensure_master_key(settings)
    configure_keys(settings)
    marker = home / "generated.json"
    if not args.reuse:
        if args.database_url:
            from tests.support import reset_database

            asyncio.run(reset_database(url))
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{home / 'list.db'}{suffix}").unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        sizes = Sizes(args.customers, args.follows, args.tag_links, args.groups)
        started = time.perf_counter()
        info = asyncio.run(setup_tenant(url, home))
        asyncio.run(generate(url, info, sizes))
        info["sizes"] = dataclasses.asdict(sizes)
        info["generation_s"] = time.perf_counter() - started
        marker.write_text(json.dumps(info))
        print(f"generated in {info['generation_s']:.0f} s", flush=True)
    info = json.loads(marker.read_text())
    asyncio.run(build_missing_indexes(url))
    db_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\nfirst page (50 rows) and count on {db_name}, {info['sizes']}; {args.repeat} runs each")
    asyncio.run(measure(url, info, args.repeat, args.only, args.freeze_gc))


if __name__ == "__main__":
    main()
