"""Queries of the customer-group domain; every statement starts from the tenant's scoped select.

Data scopes (the one narrowing hook)
------------------------------------
Every list, detail, count and trend goes through :func:`owner_scope`: the member ids whose groups
the caller may see, or ``None`` for all. It asks, in this order,

1. the rule installed with :func:`set_owner_scope` (tests, or the permissions work if it prefers to
   push its rule in);
2. ``huike.permission.service.visible_member_ids(session, ctx)`` when that module exists (looked up
   at call time, so this domain does not import it): its answer may be ``None`` (everything), a
   collection of member ids, or a SQL ``Select`` of member ids;
3. otherwise everything (the state before permissions existed).

System contexts (jobs, callbacks) are never narrowed. A scope is applied as "the group's owner is one
of these members" (``owner_userid`` joined to ``members.wecom_userid``): an admin who may see other
members' data sees their customer groups, a member sees their own.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Select, and_, exists, false, func, or_, select

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.core.tenancy import TenantContext
from huike.group_chat.models import (
    GroupChat,
    GroupChatDailyStat,
    GroupChatMember,
    GroupChatMemberChange,
    GroupChatSyncState,
    GroupChatTag,
    GroupChatTagLink,
    GroupStatus,
    MemberType,
)
from huike.member.models import Member

SYNC_TASK = "group_chat.sync_from_wecom"

Scope = Collection[uuid.UUID] | Select[Any] | None
ScopeRule = Callable[[Any, TenantContext], Awaitable[Scope]]

_scope_rule: ScopeRule | None = None


def set_owner_scope(rule: ScopeRule | None) -> None:
    """Install the rule that narrows what a caller sees (``None``: back to the default lookup)."""
    global _scope_rule
    _scope_rule = rule


async def owner_scope(session: Any, ctx: TenantContext) -> Scope:
    if ctx.is_system:
        return None
    if _scope_rule is not None:
        return await _scope_rule(session, ctx)
    try:
        module = importlib.import_module("huike.permission.service")
    except ImportError:
        return None
    visible = getattr(module, "visible_member_ids", None)
    if visible is None:
        return None
    found: Scope = await visible(session, ctx)
    return found


def _owner_userids(ctx: TenantContext, member_ids: Select[Any] | Collection[uuid.UUID]) -> Select[Any]:
    ids = member_ids if isinstance(member_ids, Select) else list(member_ids)
    return select(Member.wecom_userid).where(Member.tenant_id == ctx.tenant_id, Member.id.in_(ids))


class GroupChatRepository(TenantRepository[GroupChat]):
    model = GroupChat

    def scoped(self, scope: Scope) -> Select[GroupChat]:
        statement = self.select()
        if scope is None:
            return statement
        if not isinstance(scope, Select) and not scope:
            return statement.where(false())
        return statement.where(GroupChat.owner_userid.in_(_owner_userids(self.ctx, scope)))

    async def get_in_scope(self, id: uuid.UUID, scope: Scope) -> GroupChat | None:
        return (await self.session.execute(self.scoped(scope).where(GroupChat.id == id))).scalar_one_or_none()

    async def by_chat_id(self, chat_id: str) -> GroupChat | None:
        statement = self.select().where(GroupChat.chat_id == chat_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_chat_ids(self, chat_ids: Iterable[str]) -> dict[str, GroupChat]:
        wanted = list(set(chat_ids))
        found: dict[str, GroupChat] = {}
        for start in range(0, len(wanted), 500):
            rows = await self.session.execute(
                self.select().where(GroupChat.chat_id.in_(wanted[start : start + 500]))
            )
            found.update({row.chat_id: row for row in rows.scalars()})
        return found

    async def live_owner_userids(self) -> list[str]:
        statement = select(GroupChat.owner_userid).where(
            GroupChat.tenant_id == self.ctx.tenant_id,
            GroupChat.status != GroupStatus.dismissed,
            GroupChat.owner_userid != "",
        )
        return list(set((await self.session.execute(statement.distinct())).scalars()))

    async def not_seen(self, run_id: uuid.UUID, before: datetime) -> Sequence[GroupChat]:
        """Live groups the run did not list and nobody confirmed since it started."""
        statement = self.select().where(
            GroupChat.status != GroupStatus.dismissed,
            or_(GroupChat.seen_run.is_(None), GroupChat.seen_run != run_id),
            or_(GroupChat.synced_at.is_(None), GroupChat.synced_at < before),
        )
        return (await self.session.execute(statement)).scalars().all()

    def filtered(
        self,
        scope: Scope,
        *,
        owner_userids: Sequence[str] | None,
        keyword: str | None,
        tag_ids: Sequence[uuid.UUID] | None,
        created_from: datetime | None,
        created_to: datetime | None,
        statuses: Sequence[str] | None,
    ) -> Select[GroupChat]:
        statement = self.scoped(scope)
        if owner_userids is not None:
            statement = statement.where(GroupChat.owner_userid.in_(list(owner_userids)))
        if keyword:
            statement = statement.where(GroupChat.name.contains(keyword, autoescape=True))
        if tag_ids:
            linked = select(GroupChatTagLink.group_chat_id).where(
                GroupChatTagLink.tenant_id == self.ctx.tenant_id, GroupChatTagLink.tag_id.in_(list(tag_ids))
            )
            statement = statement.where(GroupChat.id.in_(linked))
        if created_from is not None:
            statement = statement.where(GroupChat.wecom_created_at >= created_from)
        if created_to is not None:
            statement = statement.where(GroupChat.wecom_created_at < created_to)
        if statuses:
            statement = statement.where(GroupChat.status.in_(list(statuses)))
        return statement

    async def page(
        self,
        statement: Select[GroupChat],
        *,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
        sort: str = "created_desc",
    ) -> Sequence[GroupChat]:
        """Newest first (WeCom's creation time, then id) unless ``sort`` says otherwise
        (``created_asc``, ``size_desc``, ``size_asc``); ``after`` is the last row's sort value and id."""
        column: Any = GroupChat.member_count if sort.startswith("size") else GroupChat.wecom_created_at
        descending = sort.endswith("desc")
        if after is not None:
            value, id = after
            if descending:
                keyset: ColumnElement[bool] = or_(column < value, and_(column == value, GroupChat.id < id))
            else:
                keyset = or_(column > value, and_(column == value, GroupChat.id > id))
            statement = statement.where(keyset)
        if descending:
            statement = statement.order_by(column.desc(), GroupChat.id.desc())
        else:
            statement = statement.order_by(column.asc(), GroupChat.id.asc())
        return (await self.session.execute(statement.limit(limit))).scalars().all()

    async def brief(self, statement: Select[GroupChat]) -> list[tuple[uuid.UUID, datetime, int]]:
        """(id, creation time, size) of each group ``statement`` selects."""
        columns = statement.order_by(None).with_only_columns(
            GroupChat.id, GroupChat.wecom_created_at, GroupChat.member_count
        )
        return [(id, created, int(size)) for id, created, size in (await self.session.execute(columns)).all()]

    async def owners(self, scope: Scope) -> list[tuple[str, int]]:
        """The owners of the live groups in scope, with how many groups each has."""
        groups = self.scoped(scope).where(GroupChat.status != GroupStatus.dismissed).subquery()
        statement = (
            select(groups.c.owner_userid, func.count())
            .where(groups.c.owner_userid != "")
            .group_by(groups.c.owner_userid)
            .order_by(func.count().desc(), groups.c.owner_userid)
        )
        return [(userid, int(n)) for userid, n in (await self.session.execute(statement)).all()]

    async def totals(self, statement: Select[GroupChat], since: datetime) -> dict[str, Any]:
        """Over the groups ``statement`` selects: counts by status, and over the live ones the groups,
        the people in them, and the groups created from ``since``."""
        groups = statement.order_by(None).subquery()
        live = groups.c.status != GroupStatus.dismissed
        by_status = await self.session.execute(
            select(groups.c.status, func.count()).group_by(groups.c.status)
        )
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(groups.c.member_count), 0),
                    func.count().filter(groups.c.wecom_created_at >= since),
                ).where(live)
            )
        ).one()
        return {
            "by_status": {status: int(n) for status, n in by_status.all()},
            "groups": int(row[0]),
            "members": int(row[1]),
            "new_groups": int(row[2]),
        }

    async def count(self, statement: Select[GroupChat]) -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.session.execute(counted)).scalar_one())


class GroupChatMemberRepository(TenantRepository[GroupChatMember]):
    model = GroupChatMember

    async def of_group(self, group_chat_id: uuid.UUID, *, present: bool = False) -> Sequence[GroupChatMember]:
        statement = self.select().where(GroupChatMember.group_chat_id == group_chat_id)
        if present:
            statement = statement.where(GroupChatMember.left_at.is_(None))
        statement = statement.order_by(GroupChatMember.join_time, GroupChatMember.userid)
        return (await self.session.execute(statement)).scalars().all()

    def listed(self, group_chat_id: uuid.UUID, *, state: str, kind: str | None) -> Select[GroupChatMember]:
        statement = self.select().where(GroupChatMember.group_chat_id == group_chat_id)
        if state == "present":
            statement = statement.where(GroupChatMember.left_at.is_(None))
        elif state == "left":
            statement = statement.where(GroupChatMember.left_at.is_not(None))
        if kind is not None:
            statement = statement.where(GroupChatMember.member_type == kind)
        return statement

    async def page_of(
        self, statement: Select[GroupChatMember], *, offset: int, limit: int
    ) -> Sequence[GroupChatMember]:
        """Latest joins first (people without a join time last)."""
        ordered = statement.order_by(
            GroupChatMember.join_time.is_(None),
            GroupChatMember.join_time.desc(),
            GroupChatMember.userid,
        )
        return (await self.session.execute(ordered.offset(offset).limit(limit))).scalars().all()

    async def count_by_type(self, statement: Select[GroupChatMember]) -> dict[str, int]:
        people = statement.order_by(None).subquery()
        rows = await self.session.execute(
            select(people.c.member_type, func.count()).group_by(people.c.member_type)
        )
        return {kind: int(n) for kind, n in rows.all()}

    async def present_by_type(self, groups: Select[GroupChat]) -> dict[str, int]:
        """People in the groups ``groups`` selects, by type (a person in two groups counts twice)."""
        ids = groups.order_by(None).with_only_columns(GroupChat.id)
        statement = (
            select(GroupChatMember.member_type, func.count())
            .where(
                GroupChatMember.tenant_id == self.ctx.tenant_id,
                GroupChatMember.left_at.is_(None),
                GroupChatMember.group_chat_id.in_(ids),
            )
            .group_by(GroupChatMember.member_type)
        )
        return {kind: int(n) for kind, n in (await self.session.execute(statement)).all()}

    async def with_unnamed_externals(self, group_chat_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these groups have an external contact in them with no stored name yet (joined by
        an event that was applied without a call, or stored before names were kept)."""
        found: set[uuid.UUID] = set()
        ids = list(group_chat_ids)
        for start in range(0, len(ids), 500):
            statement = (
                self.select()
                .where(
                    GroupChatMember.group_chat_id.in_(ids[start : start + 500]),
                    GroupChatMember.member_type == MemberType.external,
                    GroupChatMember.left_at.is_(None),
                    GroupChatMember.display_name.is_(None),
                )
                .with_only_columns(GroupChatMember.group_chat_id)
                .distinct()
            )
            found.update((await self.session.execute(statement)).scalars())
        return found

    async def count_present(self, group_chat_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            GroupChatMember.tenant_id == self.ctx.tenant_id,
            GroupChatMember.group_chat_id == group_chat_id,
            GroupChatMember.left_at.is_(None),
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def of_userid(self, userid: str) -> Sequence[tuple[GroupChatMember, GroupChat]]:
        """Every group the person is or was in, with the group."""
        statement = (
            select(GroupChatMember, GroupChat)
            .join(GroupChat, GroupChat.id == GroupChatMember.group_chat_id)
            .where(GroupChatMember.tenant_id == self.ctx.tenant_id, GroupChatMember.userid == userid)
            .order_by(GroupChatMember.join_time, GroupChatMember.id)
        )
        return [(member, group) for member, group in (await self.session.execute(statement)).all()]


def present_userids(tenant_id: uuid.UUID, group_chat_id: uuid.UUID) -> Select[Any]:
    """The ExternalUserIDs of the group's present external members (a subquery; a group has at most a
    few hundred, read from ``uq`` (tenant_id, group_chat_id, userid) or the group's index)."""
    return select(GroupChatMember.userid).where(
        GroupChatMember.tenant_id == tenant_id,
        GroupChatMember.group_chat_id == group_chat_id,
        GroupChatMember.member_type == MemberType.external,
        GroupChatMember.left_at.is_(None),
    )


def present_clause(
    tenant_id: uuid.UUID, userid: ColumnExpressionArgument[str], group_chat_id: uuid.UUID | None
) -> ColumnElement[bool]:
    """A correlated EXISTS: ``userid`` is a present external member of the group (of any group when
    ``group_chat_id`` is None); answered by ``ix_group_chat_members_tenant_userid``."""
    conditions = [
        GroupChatMember.tenant_id == tenant_id,
        GroupChatMember.userid == userid,
        GroupChatMember.member_type == MemberType.external,
        GroupChatMember.left_at.is_(None),
    ]
    if group_chat_id is not None:
        conditions.append(GroupChatMember.group_chat_id == group_chat_id)
    return exists(select(GroupChatMember.id).where(*conditions))


class MemberChangeRepository(TenantRepository[GroupChatMemberChange]):
    model = GroupChatMemberChange

    async def of_userid(self, userid: str, *, limit: int = 200) -> Sequence[GroupChatMemberChange]:
        statement = (
            self.select()
            .where(GroupChatMemberChange.userid == userid)
            .order_by(GroupChatMemberChange.at.desc(), GroupChatMemberChange.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()


class DailyStatRepository(TenantRepository[GroupChatDailyStat]):
    model = GroupChatDailyStat

    async def on(self, group_chat_id: uuid.UUID, day: date) -> GroupChatDailyStat | None:
        statement = self.select().where(
            GroupChatDailyStat.group_chat_id == group_chat_id, GroupChatDailyStat.day == day
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def between(
        self, group_chat_id: uuid.UUID, first: date, last: date
    ) -> Sequence[GroupChatDailyStat]:
        statement = (
            self.select()
            .where(
                GroupChatDailyStat.group_chat_id == group_chat_id,
                GroupChatDailyStat.day >= first,
                GroupChatDailyStat.day <= last,
            )
            .order_by(GroupChatDailyStat.day)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def last_before(self, group_chat_id: uuid.UUID, day: date) -> GroupChatDailyStat | None:
        statement = (
            self.select()
            .where(GroupChatDailyStat.group_chat_id == group_chat_id, GroupChatDailyStat.day < day)
            .order_by(GroupChatDailyStat.day.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def of_groups_between(
        self, groups: Select[GroupChat], first: date, last: date
    ) -> Sequence[GroupChatDailyStat]:
        """The rows from ``first`` to ``last`` of the groups ``groups`` selects, by day."""
        ids = groups.order_by(None).with_only_columns(GroupChat.id)
        statement = (
            self.select()
            .where(
                GroupChatDailyStat.group_chat_id.in_(ids),
                GroupChatDailyStat.day >= first,
                GroupChatDailyStat.day <= last,
            )
            .order_by(GroupChatDailyStat.day)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def last_sizes_before(self, groups: Select[GroupChat], day: date) -> dict[uuid.UUID, int]:
        """For each group ``groups`` selects: its size at the end of its last day with a row before ``day``."""
        ids = groups.order_by(None).with_only_columns(GroupChat.id)
        latest = (
            select(GroupChatDailyStat.group_chat_id, func.max(GroupChatDailyStat.day).label("day"))
            .where(
                GroupChatDailyStat.tenant_id == self.ctx.tenant_id,
                GroupChatDailyStat.group_chat_id.in_(ids),
                GroupChatDailyStat.day < day,
            )
            .group_by(GroupChatDailyStat.group_chat_id)
            .subquery()
        )
        statement = (
            select(GroupChatDailyStat.group_chat_id, GroupChatDailyStat.size)
            .join(
                latest,
                and_(
                    GroupChatDailyStat.group_chat_id == latest.c.group_chat_id,
                    GroupChatDailyStat.day == latest.c.day,
                ),
            )
            .where(GroupChatDailyStat.tenant_id == self.ctx.tenant_id)
        )
        return {id: int(size) for id, size in (await self.session.execute(statement)).all()}


class GroupChatTagRepository(TenantRepository[GroupChatTag]):
    model = GroupChatTag

    async def all(self) -> Sequence[GroupChatTag]:
        statement = self.select().order_by(GroupChatTag.created_at, GroupChatTag.id)
        return (await self.session.execute(statement)).scalars().all()

    async def by_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, GroupChatTag]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.execute(self.select().where(GroupChatTag.id.in_(wanted)))
        return {row.id: row for row in rows.scalars()}

    async def name_taken(self, name: str, *, besides: uuid.UUID | None = None) -> bool:
        statement = self.select().where(GroupChatTag.name == name)
        if besides is not None:
            statement = statement.where(GroupChatTag.id != besides)
        return (await self.session.execute(statement.limit(1))).first() is not None

    async def usage(self) -> dict[uuid.UUID, int]:
        statement = (
            select(GroupChatTagLink.tag_id, func.count())
            .where(GroupChatTagLink.tenant_id == self.ctx.tenant_id)
            .group_by(GroupChatTagLink.tag_id)
        )
        return {tag_id: int(n) for tag_id, n in (await self.session.execute(statement)).all()}


class GroupChatTagLinkRepository(TenantRepository[GroupChatTagLink]):
    model = GroupChatTagLink

    async def of_groups(self, group_chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[GroupChatTagLink]]:
        found: dict[uuid.UUID, list[GroupChatTagLink]] = {id: [] for id in group_chat_ids}
        if not group_chat_ids:
            return found
        statement = self.select().where(GroupChatTagLink.group_chat_id.in_(list(group_chat_ids)))
        for link in (await self.session.execute(statement)).scalars():
            found[link.group_chat_id].append(link)
        return found


class SyncStateRepository(TenantRepository[GroupChatSyncState]):
    model = GroupChatSyncState

    async def current(self) -> GroupChatSyncState | None:
        return (await self.session.execute(self.select())).scalar_one_or_none()


class SyncJobRepository(TenantRepository[Job]):
    model = Job

    async def unfinished(self) -> Job | None:
        statement = (
            self.select()
            .where(Job.kind == SYNC_TASK, Job.status.in_([JobStatus.queued, JobStatus.running]))
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


class MemberLookup:
    """Read-only lookups of the member domain's rows by UserID (ids and names for display). The member
    domain has no service function for batch lookups by UserID; this reads its table, never writes."""

    def __init__(self, session: Any, ctx: TenantContext) -> None:
        self.session = session
        self.ctx = ctx

    async def by_userids(self, userids: Iterable[str]) -> dict[str, Member]:
        wanted = [u for u in set(userids) if u]
        found: dict[str, Member] = {}
        for start in range(0, len(wanted), 500):
            statement = select(Member).where(
                Member.tenant_id == self.ctx.tenant_id, Member.wecom_userid.in_(wanted[start : start + 500])
            )
            found.update({m.wecom_userid: m for m in (await self.session.execute(statement)).scalars()})
        return found

    async def known(self, userids: Iterable[str]) -> set[str]:
        """Which of these UserIDs are members (a column query: no keys needed)."""
        wanted = [u for u in set(userids) if u]
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            statement = select(Member.wecom_userid).where(
                Member.tenant_id == self.ctx.tenant_id, Member.wecom_userid.in_(wanted[start : start + 500])
            )
            found.update((await self.session.execute(statement)).scalars())
        return found

    async def userids_of(self, member_ids: Sequence[uuid.UUID]) -> list[str]:
        if not member_ids:
            return []
        return list((await self.session.execute(_owner_userids(self.ctx, member_ids))).scalars())

    async def all_userids(self) -> list[str]:
        statement = select(Member.wecom_userid).where(
            Member.tenant_id == self.ctx.tenant_id, Member.deleted_at.is_(None)
        )
        return list((await self.session.execute(statement)).scalars())
