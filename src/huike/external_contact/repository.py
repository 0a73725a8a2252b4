"""Queries of the customer domain; every statement starts from the tenant.

Reads of members, departments and tags (to resolve a department to its members, a UserID to a
member row, a WeCom tag id to a tag) are plain SELECTs joined here for speed at scale; nothing of
those domains is written from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, delete, func, select, union, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.core.tenancy import TenantContext
from huike.external_contact.filters import (
    SORT_COLUMNS,
    Resolved,
    Stream,
    after,
    clauses,
    keyset,
    leads,
    probes,
    row_clauses,
    streams,
    until,
)
from huike.external_contact.models import (
    Alert,
    BulkTagOperation,
    ContactEvent,
    ContactSyncState,
    ContactTag,
    ExternalContact,
    FollowRelation,
    KeywordToken,
    RemarkMobile,
)
from huike.member.models import Department, Member, MemberDepartment
from huike.tag.models import Tag

SYNC_TASK = "external_contact.sync_from_wecom"
BULK_TAG_TASK = "external_contact.bulk_tag"
CHUNK = 500


async def visible_member_ids(session: AsyncSession, ctx: TenantContext) -> Sequence[uuid.UUID] | None:
    """The data scope: the members whose customers ``ctx`` may see, or None for every customer.

    The single place scopes narrow the customer domain (lists, counts, exports, details, bulk
    selections): the permission domain's ``visible_member_ids``. Jobs and callbacks
    (``ctx.is_system``) act for WeCom and see everything.
    """
    if ctx.is_system:
        return None
    from huike.permission import service as permission

    found = await permission.visible_member_ids(session, ctx)
    return None if found is None else sorted(found)


class ContactRepository(TenantRepository[ExternalContact]):
    model = ExternalContact
    WINDOW = 5000  # customers a page probes in order (then 4× as many) before the filters' indexes lead
    # a filter admitting fewer customers leads the page from its own index. Looking up its n
    # candidates by id costs about n index descents; walking the list in order until a page of 50 is
    # full costs about 50 × total / n probes: the two meet near n ≈ √(50 × total), ~7,000 for
    # 1,000,000 customers (docs/benchmarks.md, "List at 1,000,000 customers")
    LEAD = 10_000
    # a tag or member filter over at most this many tags or members can be walked in the added_at
    # order: one ordered run of its index per tag or member, merged (see filters.Stream)
    RUNS = 32
    # of several such filters the page walks the sparsest near the cursor: the one whose PICK-th
    # customer from there lies furthest back
    PICK = 500

    async def by_external_userids(self, external_userids: Iterable[str]) -> dict[str, ExternalContact]:
        wanted = list(set(external_userids))
        found: dict[str, ExternalContact] = {}
        for start in range(0, len(wanted), CHUNK):
            rows = await self.session.execute(
                self.select().where(ExternalContact.external_userid.in_(wanted[start : start + CHUNK]))
            )
            found.update({row.external_userid: row for row in rows.scalars()})
        return found

    async def by_ids(self, ids: Iterable[uuid.UUID]) -> Sequence[ExternalContact]:
        wanted = list(set(ids))
        if not wanted:
            return []
        return (
            (await self.session.execute(self.select().where(ExternalContact.id.in_(wanted)))).scalars().all()
        )

    async def by_external_userid(self, external_userid: str) -> ExternalContact | None:
        return (await self.by_external_userids([external_userid])).get(external_userid)

    async def page(
        self,
        filters: Resolved,
        *,
        cursor: tuple[Any, uuid.UUID] | None,
        limit: int,
        descending: bool,
        sort: str = "added_at",
    ) -> Sequence[ExternalContact]:
        """Up to ``limit`` customers after ``cursor``. With filters on relations, tags, keywords or
        groups: when one of them admits fewer than :attr:`LEAD` customers (counted on its own index,
        each count stopping there), the page starts from those candidates — looked up by id, probed
        for the other filters, sorted. Otherwise, in the ``added_at`` order with a tag or member
        filter (of at most :attr:`RUNS` tags or members), the page walks that filter's index, which
        yields its customers in the list's order (:meth:`_streamed`). Otherwise the next
        :attr:`WINDOW` customers in the list's order are probed first, then the 4 × :attr:`WINDOW`
        after them (bounded walks, reading ids from the order's index alone, that fill the page when
        the filters are common); only when those hold fewer than ``limit`` matches are all the
        remaining matches gathered (the filters together are then selective, and their indexes
        lead) and the page completed from them."""
        rows, order, probes = self._walk_parts(filters, cursor=cursor, descending=descending, sort=sort)
        if not probes:
            ids = select(ExternalContact.id).where(*rows).order_by(*order).limit(limit)
            statement = select(ExternalContact).where(ExternalContact.id.in_(ids)).order_by(*order)
            return (await self.session.execute(statement)).scalars().all()
        every = streams(filters)
        walkable = {i for i, s in enumerate(every) if sort == "added_at" and 0 < len(s.values) <= self.RUNS}
        lead = await self._narrowest(filters, walkable)
        if lead is not None:  # few candidates: look them up by id, probe the other filters, sort
            matched = lead.cte("matched").prefix_with("MATERIALIZED")
            statement = (
                select(ExternalContact)
                .where(*rows, ExternalContact.id.in_(select(matched.c[0])), *probes)
                .order_by(*order)
                .limit(limit)
            )
            return (await self.session.execute(statement)).scalars().all()
        if walkable:
            chosen = [every[i] for i in sorted(walkable)]
            return await self._streamed(filters, chosen, cursor=cursor, limit=limit, descending=descending)
        return await self._windows(filters, cursor=cursor, limit=limit, descending=descending, sort=sort)

    @staticmethod
    def _walk_parts(
        filters: Resolved, *, cursor: tuple[Any, uuid.UUID] | None, descending: bool, sort: str
    ) -> tuple[list[Any], tuple[Any, Any], list[Any]]:
        """The conditions on the customer's row (cursor included), the order, and the probes."""
        column = SORT_COLUMNS[sort]
        rows = row_clauses(filters)
        if sort != "added_at":
            rows.append(column.is_not(None))
        if cursor is not None:
            rows.append(after(cursor[0], cursor[1], descending=descending, sort=sort))
        order = (column.desc(), ExternalContact.id.desc()) if descending else (column, ExternalContact.id)
        return rows, order, clauses(filters)[len(row_clauses(filters)) :]

    async def _windows(
        self,
        filters: Resolved,
        *,
        cursor: tuple[Any, uuid.UUID] | None,
        limit: int,
        descending: bool,
        sort: str,
        found: list[ExternalContact] | None = None,
        start: list[Any] | None = None,
    ) -> list[ExternalContact]:
        """The next :attr:`WINDOW`, then 4 × :attr:`WINDOW` customers in the list's order, probed;
        then (too few matches there) every match after them, gathered from the filters' indexes.
        With ``start`` (rows before it were walked already, ``found`` their matches) no window is
        walked: the matches after it are gathered."""
        column = SORT_COLUMNS[sort]
        rows, order, probes = self._walk_parts(filters, cursor=cursor, descending=descending, sort=sort)

        def walk(*bounds: Any, wanted: int) -> Any:
            # the walk reads ids from the order's index alone (no row fetched for customers the
            # probes reject), then the rows of the page
            ids = select(ExternalContact.id).where(*rows, *bounds, *probes).order_by(*order).limit(wanted)
            return select(ExternalContact).where(ExternalContact.id.in_(ids)).order_by(*order)

        found = [] if found is None else found
        sizes = (self.WINDOW, 4 * self.WINDOW) if start is None else ()
        start = [] if start is None else start  # rows after the last window's edge
        for size in sizes:
            # the window: up to the size-th customer from here in the list's order (a keyset bound)
            edge: Any = (
                await self.session.execute(
                    select(column, ExternalContact.id)
                    .where(*rows, *start)
                    .order_by(*order)
                    .offset(size - 1)
                    .limit(1)
                )
            ).first()
            if edge is None:  # fewer customers than that left: the walk is short
                found += (await self.session.execute(walk(*start, wanted=limit - len(found)))).scalars()
                return found
            inside = until(edge[0], edge[1], descending=descending, sort=sort)
            found += (await self.session.execute(walk(*start, inside, wanted=limit - len(found)))).scalars()
            if len(found) >= limit:
                return found
            start = [after(edge[0], edge[1], descending=descending, sort=sort)]
        # a selective filter: all its matches from here, gathered from the filters' own indexes (no
        # order and limit to invite a walk), then the rest of the page among them
        led = clauses(filters, lead=True)[len(row_clauses(filters)) :]
        matched = (
            select(ExternalContact.id).where(*rows, *start, *led).cte("matched").prefix_with("MATERIALIZED")
        )
        statement = (
            select(ExternalContact)
            .where(*rows, *start, ExternalContact.id.in_(select(matched.c.id)))
            .order_by(*order)
            .limit(limit - len(found))
        )
        found += (await self.session.execute(statement)).scalars()
        return found

    async def _streamed(
        self,
        filters: Resolved,
        candidates: Sequence[Stream],
        *,
        cursor: tuple[Any, uuid.UUID] | None,
        limit: int,
        descending: bool,
    ) -> list[ExternalContact]:
        """A page in the ``added_at`` order walked along one filter's index (a :class:`Stream`):
        its customers come out in the list's order — one ordered run per tag or member, merged —
        and the other filters are probed on each (:func:`filters.probes`); the page is the first
        ``limit`` that pass, so a walk reads about ``limit`` entries when the filters together are
        common and stops at the window's edge when they are not.

        The walked filter is the sparsest here: of the candidates, the one whose :attr:`PICK`-th
        customer from the cursor lies furthest back (one statement reads that edge of each). With
        no other filter to match, its first ``limit`` customers are the page. Otherwise the walk
        stays inside the window of its next :attr:`WINDOW` customers (their edge read first); when
        those hold fewer than ``limit`` matches, the next 4 × :attr:`WINDOW` are walked, then the
        remaining matches are gathered as :meth:`_windows` does."""
        sqlite = self.session.get_bind().dialect.name == "sqlite"

        def sort_of(added: Any, contact: Any) -> tuple[Any, Any]:
            return (added.desc(), contact.desc()) if descending else (added, contact)

        def runs(stream: Stream, bounds: Sequence[Any], *, probed: bool) -> list[Select[Any]]:
            link = aliased(stream.model, name="walked")
            value = getattr(link, stream.by)
            added, contact = link.contact_added_at, link.contact_id
            where = [link.tenant_id == filters.tenant_id]
            if filters.added_from is not None:
                where.append(added >= filters.added_from)
            if filters.added_to is not None:
                where.append(added < filters.added_to)
            if cursor is not None:
                where.append(keyset(added, contact, cursor[0], cursor[1], descending=descending))
            where += [bound(added) for bound in bounds]
            if probed:
                where += probes(stream.rest, contact, added)
            run: Any = select(added.label("added"), contact.label("contact_id")).where(*where)
            return [run.where(value == v) for v in stream.values]

        def ordered(parts: list[Select[Any]], *, distinct: bool, limit: int, offset: int = 0) -> Any:
            if len(parts) == 1:
                merged: Any = parts[0].distinct() if distinct else parts[0]
                columns = merged.selected_columns
            elif sqlite:  # a compound's ORDER BY merges its ordered runs (MERGE in the plan)
                merged = union(*parts) if distinct else union_all(*parts)
                columns = merged.selected_columns
            else:  # PostgreSQL merges ordered, limited runs (Merge Append; not a flattened UNION ALL)
                each = [(p.distinct() if distinct else p) for p in parts]
                each = [
                    p.order_by(*sort_of(p.selected_columns.added, p.selected_columns.contact_id)).limit(
                        limit + offset
                    )
                    for p in each
                ]
                runs_ = union_all(*each).subquery("runs")
                merged = select(runs_.c.added, runs_.c.contact_id)
                merged = merged.distinct() if distinct else merged
                columns = runs_.c
            merged = merged.order_by(*sort_of(columns.added, columns.contact_id)).limit(limit)
            return merged.offset(offset) if offset else merged

        def nth(streams_: Sequence[Stream], n: int, bounds: Sequence[Any]) -> Any:
            """The time of each stream's n-th customer from here (None: it has fewer)."""
            edges = [
                select(
                    ordered(runs(s, bounds, probed=False), distinct=False, limit=1, offset=n - 1)
                    .subquery()
                    .c.added
                ).scalar_subquery()
                for s in streams_
            ]
            return self.session.execute(select(*edges))

        driver = candidates[0]
        if len(candidates) > 1:  # the sparsest here: its PICK-th customer lies furthest from the cursor
            driver = candidates[
                _sparsest((await nth(candidates, self.PICK, [])).one(), descending=descending)
            ]

        async def walk(bounds: Sequence[Any], wanted: int) -> list[ExternalContact]:
            ids = ordered(runs(driver, bounds, probed=True), distinct=True, limit=wanted)
            page = ids.subquery("page")
            statement = (
                select(ExternalContact)
                .where(ExternalContact.tenant_id == filters.tenant_id)
                .where(ExternalContact.id.in_(select(page.c.contact_id)))
                .order_by(*sort_of(ExternalContact.added_at, ExternalContact.id))
            )
            return list((await self.session.execute(statement)).scalars())

        if not probes(driver.rest, ExternalContact.id, ExternalContact.added_at):
            return await walk([], limit)  # nothing else to match: the first customers of the walk
        found: list[ExternalContact] = []
        bounds: list[Any] = []  # on the time alone: after the last window's edge
        edge: Any = None
        for size in (self.WINDOW, 4 * self.WINDOW):
            edge = (await nth([driver], size, bounds)).scalar()
            inside = []
            if edge is not None:
                inside = (
                    [lambda added, e=edge: added >= e] if descending else [lambda added, e=edge: added <= e]
                )
            found += await walk([*bounds, *inside], limit - len(found))
            if len(found) >= limit or edge is None:  # full, or the walked filter has no more
                return found
            bounds = [lambda added, e=edge: added < e] if descending else [lambda added, e=edge: added > e]
        start = ExternalContact.added_at < edge if descending else ExternalContact.added_at > edge
        return await self._windows(
            filters,
            cursor=cursor,
            limit=limit,
            descending=descending,
            sort="added_at",
            found=found,
            start=[start],
        )

    async def _narrowest(self, filters: Resolved, walkable: Collection[int] = ()) -> Select[Any] | None:
        """The positive filter (see :func:`filters.leads`) admitting the fewest customers, if fewer
        than :attr:`LEAD`; counted in one statement, each count stopping at :attr:`LEAD` rows.
        ``walkable``: the positions of the leads the page can walk in order instead (they come
        first, see :func:`filters.leads`): None when one of them is the narrowest, and nothing is
        counted when every lead is one of them."""
        candidates = leads(filters)
        if not candidates or set(range(len(candidates))) <= set(walkable):
            return None
        capped = [
            select(func.count()).select_from(c.limit(self.LEAD).subquery()).scalar_subquery()
            for c in candidates
        ]
        sizes = (await self.session.execute(select(*capped))).one()
        size, best = min((int(n), i) for i, n in enumerate(sizes))
        return candidates[best] if size < self.LEAD and best not in walkable else None

    async def count(self, filters: Resolved) -> int:
        statement = select(func.count()).select_from(ExternalContact).where(*clauses(filters, lead=True))
        return int(await self.session.scalar(statement) or 0)


def _sparsest(edges: Sequence[Any], *, descending: bool) -> int:
    """Of runs whose window edges (the time of their n-th customer from the cursor, None when they
    hold fewer) are ``edges``: the one that ends inside its window, else the one reaching furthest."""

    def reach(i: int) -> tuple[int, float, int]:
        if edges[i] is None:
            return (0, 0.0, i)
        seconds = float(edges[i].timestamp())
        return (1, seconds if descending else -seconds, i)

    return min(range(len(edges)), key=reach)


class FollowRepository(TenantRepository[FollowRelation]):
    model = FollowRelation

    async def of_contacts(self, contact_ids: Sequence[uuid.UUID]) -> list[FollowRelation]:
        found: list[FollowRelation] = []
        ids = list(contact_ids)
        for start in range(0, len(ids), CHUNK):
            rows = await self.session.execute(
                self.select()
                .where(FollowRelation.contact_id.in_(ids[start : start + CHUNK]))
                .order_by(FollowRelation.added_at, FollowRelation.id)
            )
            found.extend(rows.scalars())
        return found

    async def of_contact(self, contact_id: uuid.UUID, userid: str) -> FollowRelation | None:
        statement = self.select().where(
            FollowRelation.contact_id == contact_id, FollowRelation.member_userid == userid
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def mark_seen(self, ids: Sequence[uuid.UUID], run_id: uuid.UUID) -> None:
        for start in range(0, len(ids), CHUNK):
            await self.session.execute(
                update(FollowRelation)
                .where(
                    FollowRelation.tenant_id == self.ctx.tenant_id,
                    FollowRelation.id.in_(ids[start : start + CHUNK]),
                )
                .values(seen_run=run_id, updated_at=FollowRelation.updated_at)
                .execution_options(synchronize_session=False)
            )

    async def not_seen(
        self, run_id: uuid.UUID, userids: Sequence[str], started_at: Any, *, limit: int
    ) -> Sequence[FollowRelation]:
        """Live relations of the listed members that the run did not see and nothing confirmed since."""
        statement = (
            self.select()
            .where(
                FollowRelation.status.in_(["active", "customer_deleted_member"]),
                (FollowRelation.seen_run.is_(None)) | (FollowRelation.seen_run != run_id),
                (FollowRelation.confirmed_at.is_(None)) | (FollowRelation.confirmed_at < started_at),
                FollowRelation.member_userid.in_(list(userids)),
            )
            .order_by(FollowRelation.id)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def statuses(self, contact_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            select(FollowRelation.status).where(
                FollowRelation.tenant_id == self.ctx.tenant_id, FollowRelation.contact_id == contact_id
            )
        )
        return list(rows.scalars())


class MobileRepository(TenantRepository[RemarkMobile]):
    model = RemarkMobile

    async def of_follows(self, follow_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[RemarkMobile]]:
        found: dict[uuid.UUID, list[RemarkMobile]] = {}
        ids = list(follow_ids)
        for start in range(0, len(ids), CHUNK):
            rows = await self.session.execute(
                self.select()
                .where(RemarkMobile.follow_id.in_(ids[start : start + CHUNK]))
                .order_by(RemarkMobile.follow_id, RemarkMobile.position)
            )
            for row in rows.scalars():
                found.setdefault(row.follow_id, []).append(row)
        return found

    async def clear(self, follow_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(RemarkMobile).where(
                RemarkMobile.tenant_id == self.ctx.tenant_id, RemarkMobile.follow_id == follow_id
            )
        )


class TagLinkRepository(TenantRepository[ContactTag]):
    model = ContactTag

    async def of_follows(self, follow_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        found: dict[uuid.UUID, set[uuid.UUID]] = {}
        ids = list(follow_ids)
        for start in range(0, len(ids), CHUNK):
            rows = await self.session.execute(
                select(ContactTag.follow_id, ContactTag.tag_id).where(
                    ContactTag.tenant_id == self.ctx.tenant_id,
                    ContactTag.follow_id.in_(ids[start : start + CHUNK]),
                )
            )
            for follow_id, tag_id in rows:
                found.setdefault(follow_id, set()).add(tag_id)
        return found

    async def remove(self, follow_id: uuid.UUID, tag_ids: Iterable[uuid.UUID]) -> None:
        wanted = list(tag_ids)
        if wanted:
            await self.session.execute(
                delete(ContactTag).where(
                    ContactTag.tenant_id == self.ctx.tenant_id,
                    ContactTag.follow_id == follow_id,
                    ContactTag.tag_id.in_(wanted),
                )
            )

    async def repeat_added_at(self, contact_id: uuid.UUID, added_at: Any) -> None:
        """The customer's links carry its new ``added_at`` (``contact_added_at``)."""
        await self.session.execute(
            update(ContactTag)
            .where(
                ContactTag.tenant_id == self.ctx.tenant_id,
                ContactTag.contact_id == contact_id,
                ContactTag.contact_added_at != added_at,
            )
            .values(contact_added_at=added_at)
            .execution_options(synchronize_session=False)
        )

    async def usage(self) -> dict[uuid.UUID, int]:
        rows = await self.session.execute(
            select(ContactTag.tag_id, func.count())
            .join(FollowRelation, FollowRelation.id == ContactTag.follow_id)
            .where(
                ContactTag.tenant_id == self.ctx.tenant_id,
                FollowRelation.status.in_(["active", "customer_deleted_member"]),
            )
            .group_by(ContactTag.tag_id)
        )
        return {tag_id: int(count) for tag_id, count in rows}


class EventRepository(TenantRepository[ContactEvent]):
    model = ContactEvent

    async def of_contact(self, contact_id: uuid.UUID, *, limit: int = 200) -> Sequence[ContactEvent]:
        statement = (
            self.select()
            .where(ContactEvent.contact_id == contact_id)
            .order_by(ContactEvent.occurred_at.desc(), ContactEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()


class KeywordRepository:
    def __init__(self, session: AsyncSession, ctx: TenantContext) -> None:
        self.session, self.ctx = session, ctx

    async def replace(self, contact_id: uuid.UUID, tokens: Iterable[str], *, new: bool) -> None:
        if not new:
            await self.session.execute(
                delete(KeywordToken).where(
                    KeywordToken.tenant_id == self.ctx.tenant_id, KeywordToken.contact_id == contact_id
                )
            )
        rows = [
            {"tenant_id": self.ctx.tenant_id, "token": t, "contact_id": contact_id}
            for t in sorted(set(tokens))
        ]
        if rows:
            from sqlalchemy import insert

            await self.session.execute(insert(KeywordToken), rows)

    async def replace_many(self, stale: Sequence[uuid.UUID], rows: Sequence[dict[str, Any]]) -> None:
        """Drop the tokens of the ``stale`` customers, then insert ``rows`` (of any customers)."""
        for start in range(0, len(stale), CHUNK):
            await self.session.execute(
                delete(KeywordToken).where(
                    KeywordToken.tenant_id == self.ctx.tenant_id,
                    KeywordToken.contact_id.in_(stale[start : start + CHUNK]),
                )
            )
        if rows:
            from sqlalchemy import insert

            await self.session.execute(insert(cast(Table, KeywordToken.__table__)), list(rows))  # Core


class SyncStateRepository(TenantRepository[ContactSyncState]):
    model = ContactSyncState

    async def current(self) -> ContactSyncState | None:
        return (await self.session.execute(self.select())).scalar_one_or_none()

    async def running_job(self, kind: str = SYNC_TASK) -> Job | None:
        statement = (
            select(Job)
            .where(
                Job.tenant_id == self.ctx.tenant_id,
                Job.kind == kind,
                Job.status.in_([JobStatus.queued, JobStatus.running]),
            )
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()


class BulkTagRepository(TenantRepository[BulkTagOperation]):
    model = BulkTagOperation


class AlertRepository(TenantRepository[Alert]):
    model = Alert

    async def page(
        self, user_id: uuid.UUID, *, cursor: tuple[Any, uuid.UUID] | None, limit: int, unread_only: bool
    ) -> Sequence[Alert]:
        statement = self.select().where(Alert.user_id == user_id)
        if unread_only:
            statement = statement.where(Alert.read_at.is_(None))
        if cursor is not None:
            statement = statement.where(
                (Alert.created_at < cursor[0]) | ((Alert.created_at == cursor[0]) & (Alert.id < cursor[1]))
            )
        statement = statement.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def unread(self, user_id: uuid.UUID) -> int:
        statement = (
            select(func.count())
            .select_from(Alert)
            .where(Alert.tenant_id == self.ctx.tenant_id, Alert.user_id == user_id, Alert.read_at.is_(None))
        )
        return int(await self.session.scalar(statement) or 0)

    async def mark_all_read(self, user_id: uuid.UUID, now: Any) -> int:
        from huike.core.db import rowcount

        result = await self.session.execute(
            update(Alert)
            .where(Alert.tenant_id == self.ctx.tenant_id, Alert.user_id == user_id, Alert.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)


async def refresh_statistics(session: AsyncSession) -> None:
    """PostgreSQL: ``ANALYZE`` the tables a full sync fills. A first sync grows them from nothing
    inside one job, faster than autovacuum re-analyzes them; with statistics that still say "empty"
    the planner answers each page's lookup by external_userid / contact id by scanning every row of
    the tenant, so each page gets slower than the last. SQLite keeps no statistics unless asked."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    tables = (ExternalContact, FollowRelation, ContactTag, RemarkMobile)
    await session.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in tables)))


# --- reads of other domains' tables (see the module's docstring) -----------------------------------


async def member_ids_by_userid(
    session: AsyncSession, ctx: TenantContext, userids: Iterable[str]
) -> dict[str, uuid.UUID]:
    wanted = list(set(userids))
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(Member.wecom_userid, Member.id).where(
                Member.tenant_id == ctx.tenant_id, Member.wecom_userid.in_(wanted[start : start + CHUNK])
            )
        )
        found.update({str(userid): member_id for userid, member_id in rows.all()})
    return found


async def admin_user_ids(session: AsyncSession, ctx: TenantContext, roles: Sequence[str]) -> list[uuid.UUID]:
    from huike.account.models import Membership

    rows = await session.execute(
        select(Membership.user_id).where(
            Membership.tenant_id == ctx.tenant_id, Membership.role.in_(list(roles))
        )
    )
    return list(rows.scalars())


async def member_user_ids(
    session: AsyncSession, ctx: TenantContext, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """{member id: Huike user id} of the members who activated an account."""
    wanted = [m for m in set(member_ids) if m is not None]
    if not wanted:
        return {}
    rows = await session.execute(
        select(Member.id, Member.user_id).where(
            Member.tenant_id == ctx.tenant_id, Member.id.in_(wanted), Member.user_id.is_not(None)
        )
    )
    return {member_id: user_id for member_id, user_id in rows if user_id is not None}


async def members_by_id(
    session: AsyncSession, ctx: TenantContext, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Member]:
    wanted = list({m for m in member_ids if m is not None})
    if not wanted:
        return {}
    rows = await session.execute(
        select(Member).where(Member.tenant_id == ctx.tenant_id, Member.id.in_(wanted))
    )
    return {row.id: row for row in rows.scalars()}


async def department_member_ids(
    session: AsyncSession, ctx: TenantContext, department_id: uuid.UUID
) -> list[uuid.UUID]:
    """Members of the department and of every department below it (an unknown id: nobody)."""
    departments = (
        await session.execute(
            select(Department.id, Department.wecom_id, Department.parent_wecom_id).where(
                Department.tenant_id == ctx.tenant_id, Department.deleted_at.is_(None)
            )
        )
    ).all()
    root = next((wecom_id for row_id, wecom_id, _ in departments if row_id == department_id), None)
    if root is None:
        return []
    children: dict[int, list[int]] = {}
    for _, wecom_id, parent in departments:
        if wecom_id != parent:
            children.setdefault(parent, []).append(wecom_id)
    wanted, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in wanted:
                wanted.add(child)
                todo.append(child)
    rows = await session.execute(
        select(MemberDepartment.member_id)
        .where(
            MemberDepartment.tenant_id == ctx.tenant_id,
            MemberDepartment.department_wecom_id.in_(sorted(wanted)),
        )
        .distinct()
    )
    return list(rows.scalars())


async def tags_by_wecom_id(
    session: AsyncSession, ctx: TenantContext, wecom_ids: Iterable[str]
) -> dict[str, uuid.UUID]:
    wanted = list(set(wecom_ids))
    if not wanted:
        return {}
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(Tag.wecom_id, Tag.id).where(
                Tag.tenant_id == ctx.tenant_id,
                Tag.deleted.is_(False),
                Tag.wecom_id.in_(wanted[start : start + CHUNK]),
            )
        )
        found.update({str(wecom_id): tag_id for wecom_id, tag_id in rows})
    return found


async def live_tags(
    session: AsyncSession, ctx: TenantContext, tag_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Tag]:
    wanted = list(set(tag_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Tag).where(Tag.tenant_id == ctx.tenant_id, Tag.deleted.is_(False), Tag.id.in_(wanted))
    )
    return {row.id: row for row in rows.scalars()}
