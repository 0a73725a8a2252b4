"""Corp tags: a mirror of WeCom's tag groups and tags, written through to WeCom.

**WeCom first, then locally.** Every write calls WeCom, and only when WeCom accepts it stores WeCom's
answer (its ids, names and orders). When WeCom refuses, its error is raised and nothing changes here.

**When WeCom accepted but storing failed** (:func:`_locally`): the local part runs in a savepoint; if it
fails, the savepoint is rolled back, a ``tag.sync_from_wecom`` job is queued and an audit row written in
the still-healthy transaction, and the request answers 503 ``tag.reconcile_pending`` with the job's id
*after committing* (:class:`~huike.tag.errors.CommitThenAnswer`). The sync reads WeCom and stores what it
says, so the two agree again without anyone doing anything; the console shows the job in 任务中心. If the
database itself is gone, nothing can be queued: the request fails with 500 and the next sync (a callback,
the sync button) reconciles.

**Order tolerance.** Tag work of one tenant is serialised (:func:`_serialise`: a transaction-scoped
advisory lock on PostgreSQL; SQLite's write transactions are serialised already), and every event
re-reads WeCom inside that lock. So state read later is always stored later, and a late, duplicated or
out-of-order event stores WeCom's *current* state, never the state of its own time. ``version`` counts
the changes of a row and ``synced_at`` says when its state was last read from (or accepted by) WeCom.

**Which WeCom app.** Tag calls use the tenant's self-built app (the app secret): WeCom lets an app edit
and delete only the tags it created (48002 otherwise, answered as ``tag.not_app_owned``), so what Huike
creates stays editable by Huike, and since 2023-12-01 the 客户联系 system secret is no longer available
to new corps for these APIs.

**Who may manage a group** (:func:`require_manage`): the single permission hook. Until roles exist
every user of the tenant may; the roles work installs its rule with :func:`set_permission_check`
(admins may manage every group, including the groups members created; a member only their own).

**Usage counts** (:func:`tag_usage`): summed from providers other domains register with
:func:`register_usage_provider`; with none registered every tag counts zero.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import utcnow
from huike.core.errors import NotFound
from huike.core.tasks import Job, create_job
from huike.core.tenancy import TenantContext
from huike.privacy.audit.models import AuditResult
from huike.privacy.audit.service import record
from huike.tag.errors import (
    CommitThenAnswer,
    DuplicateName,
    GroupNameTaken,
    NotAppOwned,
    NothingToChange,
    OrderMismatch,
    ReconcilePending,
    ReorderIncomplete,
    TagForbidden,
    TagLimitReached,
    TagNameEmpty,
    TagNameTooLong,
    TagsRequired,
)
from huike.tag.models import MAX_NAME, MAX_TAGS, Tag, TagGroup, TagOwner
from huike.tag.repository import SyncJobRepository, TagGroupRepository, TagRepository
from huike.tag.schemas import (
    GroupOrder,
    Rename,
    TagGroupCreate,
    TagGroupList,
    TagGroupRead,
    TagIn,
    TagOrder,
    TagRead,
)
from huike.wecom import wire
from huike.wecom.client import WeComClient
from huike.wecom.errors import ApiForbidden, WeComError
from huike.wecom.service import access_connection, client_for

log = structlog.get_logger(__name__)

SYNC_TASK = "tag.sync_from_wecom"
ORDER_CEILING = 2**32  # WeCom: order is in [0, 2^32)
T = TypeVar("T")

# --- usage counts: the hook other domains fill ---------------------------------------------------------

UsageProvider = Callable[[AsyncSession, TenantContext], Awaitable[Mapping[uuid.UUID, int]]]
_USAGE_PROVIDERS: list[UsageProvider] = []


def register_usage_provider(provider: UsageProvider) -> UsageProvider:
    """Register ``provider(session, ctx) -> {tag_id: count}``, counting the uses a domain owns.

    The customer domain registers one counting its customer–tag links (one per follow relation carrying
    the tag); a domain with tag links of its own (customer groups' local tags, say) adds another. Counts
    of every provider are summed; ids of tags that are not live are ignored. Usable as a decorator."""
    _USAGE_PROVIDERS.append(provider)
    return provider


async def tag_usage(session: AsyncSession, ctx: TenantContext) -> dict[uuid.UUID, int]:
    """How often each live tag is used: zero for every tag until a provider says otherwise."""
    counts = dict.fromkeys(await TagRepository(session, ctx).live_ids(), 0)
    for provider in _USAGE_PROVIDERS:
        for tag_id, count in (await provider(session, ctx)).items():
            if tag_id in counts:
                counts[tag_id] += int(count)
    return counts


# --- the permission hook ---------------------------------------------------------------------------

PermissionCheck = Callable[[AsyncSession, TenantContext, TagGroup | None], Awaitable[bool]]


async def _anyone(session: AsyncSession, ctx: TenantContext, group: TagGroup | None) -> bool:
    return True


_permission_check: PermissionCheck = _anyone


def set_permission_check(check: PermissionCheck | None) -> None:
    """Install the rule deciding who may manage a group (``group`` None: create a new one). ``None``
    restores the default (everyone in the tenant)."""
    global _permission_check
    _permission_check = check or _anyone


async def require_manage(session: AsyncSession, ctx: TenantContext, group: TagGroup | None) -> None:
    """The one check before every write to a group or its tags (jobs and callbacks act for WeCom)."""
    if ctx.is_system:
        return
    if not await _permission_check(session, ctx, group):
        raise TagForbidden()


# --- reading -------------------------------------------------------------------------------------------


async def list_groups(session: AsyncSession, ctx: TenantContext) -> TagGroupList:
    groups = await TagGroupRepository(session, ctx).list_live()
    tags = await TagRepository(session, ctx).live_in([g.id for g in groups])
    usage = await tag_usage(session, ctx)
    by_group: dict[uuid.UUID, list[TagRead]] = {}
    for tag in tags:
        by_group.setdefault(tag.group_id, []).append(_tag_read(tag, usage))
    items = [_group_read(group, by_group.get(group.id, [])) for group in groups]
    return TagGroupList(items=items, tag_count=len(tags))


async def read_group(session: AsyncSession, ctx: TenantContext, group: TagGroup) -> TagGroupRead:
    tags = await TagRepository(session, ctx).live_in([group.id])
    usage = await tag_usage(session, ctx)
    return _group_read(group, [_tag_read(tag, usage) for tag in tags])


async def read_tag(session: AsyncSession, ctx: TenantContext, tag: Tag) -> TagRead:
    return _tag_read(tag, await tag_usage(session, ctx))


def _tag_read(tag: Tag, usage: Mapping[uuid.UUID, int]) -> TagRead:
    read = TagRead.model_validate(tag)
    read.usage = usage.get(tag.id, 0)
    return read


def _group_read(group: TagGroup, tags: list[TagRead]) -> TagGroupRead:
    return TagGroupRead.model_validate({**_columns(group), "tags": tags})


def _columns(group: TagGroup) -> dict[str, Any]:
    return {name: getattr(group, name) for name in TagGroupRead.model_fields if name != "tags"}


async def access_group(session: AsyncSession, ctx: TenantContext, group_id: uuid.UUID) -> TagGroup:
    group = await TagGroupRepository(session, ctx).live(group_id)
    if group is None:
        raise NotFound()
    return group


async def access_tag(session: AsyncSession, ctx: TenantContext, tag_id: uuid.UUID) -> Tag:
    tag = await TagRepository(session, ctx).live(tag_id)
    if tag is None:
        raise NotFound()
    return tag


# --- mirroring WeCom's state ---------------------------------------------------------------------------


def _timestamp(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


async def _serialise(session: AsyncSession, ctx: TenantContext) -> None:
    """Hold the tenant's tag lock until the transaction ends (PostgreSQL; SQLite writers are serial)."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        digest = hashlib.sha256(b"huike.tag:" + ctx.tenant_id.bytes).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class Mirror:
    """Stores what WeCom answered. Rows are created with ``owner``/``created_by``; rows that would not
    change are not written, so a rerun over an unchanged corp writes nothing."""

    def __init__(
        self,
        session: AsyncSession,
        ctx: TenantContext,
        *,
        owner: TagOwner,
        created_by: uuid.UUID | None = None,
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.owner = owner
        self.created_by = created_by
        self.observed_at = utcnow()
        self.counts: Counter[str] = Counter()
        self.groups: dict[str, TagGroup] = {}
        self.tags: dict[str, Tag] = {}
        self._created = 0

    def _new_row(self) -> dict[str, Any]:
        """Columns every new group or tag starts with. Creation times follow WeCom's listing order:
        tags of equal ``order`` and creation second are listed in the order WeCom answered (two rows
        stamped in the same microsecond would otherwise fall back to their random ids)."""
        self._created += 1
        return {
            "tenant_id": self.ctx.tenant_id,
            "deleted": False,
            "owner": self.owner,
            "created_by": self.created_by,
            "version": 1,
            "synced_at": self.observed_at,
            "created_at": self.observed_at + timedelta(microseconds=self._created),
        }

    async def load(
        self, *, group_ids: Sequence[str] = (), tag_ids: Sequence[str] = (), everything: bool = False
    ) -> None:
        groups, tags = TagGroupRepository(self.session, self.ctx), TagRepository(self.session, self.ctx)
        if everything:
            self.groups.update({g.wecom_id: g for g in await groups.all_synced() if g.wecom_id})
            self.tags.update({t.wecom_id: t for t in await tags.all_synced() if t.wecom_id})
            return
        self.groups.update(await groups.by_wecom_ids(group_ids))
        self.tags.update(await tags.by_wecom_ids(tag_ids))

    def _touch(self, row: TagGroup | Tag) -> None:
        row.version = (row.version or 0) + 1
        row.synced_at = self.observed_at

    def _delete(self, row: TagGroup | Tag, counter: str) -> None:
        if row.deleted:
            return
        row.deleted = True
        row.deleted_at = self.observed_at
        self._touch(row)
        self.counts[counter] += 1

    def _update(self, row: TagGroup | Tag, values: Mapping[str, Any], counter: str) -> None:
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            self._touch(row)
            self.counts[counter] += 1
        else:
            self.counts["unchanged"] += 1

    async def apply_group(self, fetched: wire.CorpTagGroup) -> TagGroup | None:
        """Store a group and the tags WeCom listed in it (not those it left out)."""
        row = self.groups.get(fetched.group_id)
        if row is None:
            if fetched.deleted:
                return None
            row = TagGroup(
                id=uuid.uuid4(),
                wecom_id=fetched.group_id,
                name=fetched.group_name,
                order=fetched.order,
                wecom_created_at=_timestamp(fetched.create_time),
                **self._new_row(),
            )
            self.session.add(row)
            self.groups[fetched.group_id] = row
            self.counts["groups_created"] += 1
            await self.session.flush()  # the group before its tags: no ORM relationship orders inserts
        elif fetched.deleted:
            self.delete_group(row)
            return row
        else:
            self._update(
                row,
                {
                    "name": fetched.group_name,
                    "order": fetched.order,
                    "wecom_created_at": _timestamp(fetched.create_time) or row.wecom_created_at,
                    "deleted": False,
                    "deleted_at": None,
                },
                "groups_updated",
            )
        for item in fetched.tag:
            self.apply_tag(row, item)
        return row

    def apply_tag(self, group: TagGroup, fetched: wire.CorpTag) -> Tag | None:
        row = self.tags.get(fetched.id)
        if row is None:
            if fetched.deleted:
                return None
            row = Tag(
                id=uuid.uuid4(),
                group_id=group.id,
                wecom_id=fetched.id,
                name=fetched.name,
                order=fetched.order,
                wecom_created_at=_timestamp(fetched.create_time),
                **self._new_row(),
            )
            self.session.add(row)
            self.tags[fetched.id] = row
            self.counts["tags_created"] += 1
        elif fetched.deleted:
            self._delete(row, "tags_deleted")
        else:
            self._update(
                row,
                {
                    "group_id": group.id,
                    "name": fetched.name,
                    "order": fetched.order,
                    "wecom_created_at": _timestamp(fetched.create_time) or row.wecom_created_at,
                    "deleted": False,
                    "deleted_at": None,
                },
                "tags_updated",
            )
        return row

    def delete_group(self, row: TagGroup) -> None:
        """WeCom deletes a group's tags with it."""
        self._delete(row, "groups_deleted")
        for tag in self.tags.values():
            if tag.group_id == row.id:
                self._delete(tag, "tags_deleted")

    def delete_tag(self, row: Tag) -> None:
        self._delete(row, "tags_deleted")

    def drop_empty_groups(self) -> None:
        """WeCom deletes a group when its last tag goes."""
        live = {tag.group_id for tag in self.tags.values() if not tag.deleted}
        for group in self.groups.values():
            if not group.deleted and group.id not in live:
                self._delete(group, "groups_deleted")


async def _client(session: AsyncSession, ctx: TenantContext) -> WeComClient:
    client, _ = await client_for(session, ctx, app_secret=True)
    return client


async def sync_from_wecom(
    session: AsyncSession, ctx: TenantContext, *, report: Callable[[int, int | None], None] | None = None
) -> dict[str, int]:
    """Read every tag group of the corp (one call) and store it; groups and tags WeCom no longer lists
    are marked deleted. Idempotent; a rerun over an unchanged corp writes nothing."""
    await _serialise(session, ctx)
    client = await _client(session, ctx)
    mirror = Mirror(session, ctx, owner=TagOwner.unknown)
    fetched = await client.get_corp_tag_list()
    await mirror.load(everything=True)
    total = len(fetched)
    seen_groups: set[str] = set()
    seen_tags: set[str] = set()
    for index, group in enumerate(fetched, start=1):
        await mirror.apply_group(group)
        seen_groups.add(group.group_id)
        seen_tags.update(tag.id for tag in group.tag)
        if report is not None:
            report(index, total)
    for wecom_id, tag in mirror.tags.items():
        if wecom_id not in seen_tags:
            mirror.delete_tag(tag)
    for wecom_id, row in mirror.groups.items():
        if wecom_id not in seen_groups:
            mirror.delete_group(row)
    await session.flush()
    counts = {
        name: mirror.counts[name]
        for name in (
            "groups_created",
            "groups_updated",
            "groups_deleted",
            "tags_created",
            "tags_updated",
            "tags_deleted",
            "unchanged",
        )
    }
    log.info("tag.synced", **counts)
    return {"groups": len(seen_groups), "tags": len(seen_tags), **counts}


async def queue_sync(session: AsyncSession, ctx: TenantContext) -> Job:
    """A sync job people can watch; while one is queued or running, that one."""
    existing = await SyncJobRepository(session, ctx).unfinished(SYNC_TASK)
    if existing is not None:
        return existing
    return await create_job(session, ctx, SYNC_TASK)


async def start_sync(session: AsyncSession, ctx: TenantContext) -> Job:
    """``POST /tags/sync``: refuse early when WeCom is not connected, then :func:`queue_sync`."""
    await access_connection(session, ctx)
    return await queue_sync(session, ctx)


async def refresh_from_event(session: AsyncSession, ctx: TenantContext, event: Mapping[str, object]) -> str:
    """A change_external_tag event: re-read what it names from WeCom and store that (events carry ids
    only, and may be late, repeated or out of order). Returns what was done, for logs and tests."""
    if event.get("StrategyId"):
        return "ignored_strategy_tag"  # strategy (规则组) tags are not mirrored
    change = str(event.get("ChangeType", ""))
    some_id = str(event.get("Id", "") or "")
    kind = str(event.get("TagType", "") or "")
    if change == "shuffle":
        kind = "tag_group" if some_id else ""
    await _serialise(session, ctx)
    if not some_id or not kind:  # shuffle without a group: the order of groups changed
        await sync_from_wecom(session, ctx)
        return "synced"
    client = await _client(session, ctx)
    mirror = Mirror(session, ctx, owner=TagOwner.wecom_console)
    if kind == "tag_group":
        fetched = await client.get_corp_tag_list(group_ids=[some_id])
        await mirror.load(group_ids=[some_id])
        group = mirror.groups.get(some_id)
        if group is not None:
            for tag in await TagRepository(session, ctx).of_group(group.id):
                if tag.wecom_id:
                    mirror.tags[tag.wecom_id] = tag
        listed = {g.group_id: g for g in fetched}
        if some_id not in listed:
            if group is not None:
                mirror.delete_group(group)
        else:
            stored = await mirror.apply_group(listed[some_id])
            named = {t.id for t in listed[some_id].tag}
            if stored is not None:
                for wecom_id, tag in mirror.tags.items():
                    if tag.group_id == stored.id and wecom_id not in named:
                        mirror.delete_tag(tag)
    elif kind == "tag":
        fetched = await client.get_corp_tag_list(tag_ids=[some_id])
        await mirror.load(group_ids=[g.group_id for g in fetched], tag_ids=[some_id])
        for listed_group in fetched:
            await mirror.apply_group(listed_group)
        if not any(t.id == some_id for g in fetched for t in g.tag) and some_id in mirror.tags:
            mirror.delete_tag(mirror.tags[some_id])
    else:
        return "ignored_unknown_kind"
    await session.flush()
    log.info("tag.event_applied", change=change, kind=kind, **dict(mirror.counts))
    return "applied"


# --- writing: WeCom first, then here -------------------------------------------------------------------


def clean_name(value: str, field: str) -> str:
    name = value.strip()
    if not name:
        raise TagNameEmpty(field=field)
    if len(name) > MAX_NAME:
        raise TagNameTooLong(field=field, max=MAX_NAME, length=len(name))
    return name


def _clean_tags(tags: Sequence[TagIn], existing: AbstractSet[str] = frozenset()) -> list[tuple[str, int]]:
    if not tags:
        raise TagsRequired()
    cleaned: list[tuple[str, int]] = []
    seen: set[str] = set()
    for index, item in enumerate(tags):
        field = f"tags[{index}].name"
        name = clean_name(item.name, field)
        if name in seen or name in existing:
            raise DuplicateName(field=field)
        seen.add(name)
        cleaned.append((name, item.order))
    return cleaned


async def _check_cap(session: AsyncSession, ctx: TenantContext, adding: int) -> None:
    current = await TagRepository(session, ctx).count_live()
    if current + adding > MAX_TAGS:
        raise TagLimitReached(limit=MAX_TAGS, current=current, adding=adding)


async def _wecom(call: Awaitable[T]) -> T:
    """A WeCom write; 48002 on a tag means it is not this app's own."""
    try:
        return await call
    except ApiForbidden as error:
        raise NotAppOwned(errcode=error.details.get("errcode", 48002)) from error


async def _locally(
    session: AsyncSession,
    ctx: TenantContext,
    work: Callable[[], Awaitable[T]],
    *,
    action: str,
    object_type: str,
    object_id: uuid.UUID | None,
) -> T:
    """Store what WeCom accepted. On failure: roll the savepoint back, queue a reconciling sync, audit,
    and answer ``tag.reconcile_pending`` after the commit (see the module's docstring)."""
    try:
        async with session.begin_nested():
            result = await work()
            await session.flush()
        return result
    except Exception as exc:
        log.error("tag.local_write_failed", action=action, error_type=type(exc).__name__)
        job = await queue_sync(session, ctx)
        await session.flush()
        await record(
            session,
            ctx,
            action,
            object_type=object_type,
            object_id=object_id,
            result=AuditResult.failure,
            details={"applied_in_wecom": True, "reconcile_job_id": str(job.id)},
        )
        raise CommitThenAnswer(ReconcilePending(job_id=str(job.id))) from exc


async def create_group(session: AsyncSession, ctx: TenantContext, data: TagGroupCreate) -> TagGroup:
    await _serialise(session, ctx)
    await require_manage(session, ctx, None)
    name = clean_name(data.name, "name")
    tags = _clean_tags(data.tags)
    if await TagGroupRepository(session, ctx).name_taken(name):
        raise GroupNameTaken(field="name")
    await _check_cap(session, ctx, len(tags))
    client = await _client(session, ctx)
    created = await client.add_corp_tag(tags=tags, group_name=name, order=data.order)

    async def store() -> TagGroup:
        mirror = Mirror(session, ctx, owner=TagOwner.huike, created_by=ctx.user_id)
        await mirror.load(group_ids=[created.group_id], tag_ids=[t.id for t in created.tag])
        group = await mirror.apply_group(created)
        if group is None:
            raise RuntimeError("WeCom answered a deleted group")
        return group

    group = await _locally(session, ctx, store, action="tag.created", object_type="tag_group", object_id=None)
    await record(
        session, ctx, "tag.created", object_type="tag_group", object_id=group.id, details={"tags": len(tags)}
    )
    return group


async def add_tags(
    session: AsyncSession, ctx: TenantContext, group_id: uuid.UUID, items: Sequence[TagIn]
) -> TagGroup:
    await _serialise(session, ctx)
    group = await access_group(session, ctx, group_id)
    await require_manage(session, ctx, group)
    siblings = {t.name for t in await TagRepository(session, ctx).live_in([group.id])}
    tags = _clean_tags(items, siblings)
    await _check_cap(session, ctx, len(tags))
    if group.wecom_id is None:
        raise NotFound()
    client = await _client(session, ctx)
    created = await client.add_corp_tag(tags=tags, group_id=group.wecom_id)

    async def store() -> TagGroup:
        mirror = Mirror(session, ctx, owner=TagOwner.huike, created_by=ctx.user_id)
        await mirror.load(group_ids=[created.group_id], tag_ids=[t.id for t in created.tag])
        stored = await mirror.apply_group(created)
        if stored is None:
            raise RuntimeError("WeCom answered a deleted group")
        return stored

    stored = await _locally(
        session, ctx, store, action="tag.created", object_type="tag_group", object_id=group.id
    )
    await record(
        session, ctx, "tag.created", object_type="tag_group", object_id=stored.id, details={"tags": len(tags)}
    )
    return stored


def _apply_edit(row: TagGroup | Tag, name: str | None, order: int | None) -> None:
    if name is not None:
        row.name = name
    if order is not None:
        row.order = order
    row.version += 1
    row.synced_at = utcnow()


async def _edit(
    session: AsyncSession,
    ctx: TenantContext,
    row: TagGroup | Tag,
    name: str | None,
    order: int | None,
    object_type: str,
) -> None:
    fields = [f for f, v in (("name", name), ("order", order)) if v is not None]
    action = "tag.renamed" if name is not None else "tag.reordered"
    if row.wecom_id is None:
        raise NotFound()
    client = await _client(session, ctx)
    await _wecom(client.edit_corp_tag(row.wecom_id, name=name, order=order))

    async def store() -> None:
        _apply_edit(row, name, order)

    await _locally(session, ctx, store, action=action, object_type=object_type, object_id=row.id)
    await record(session, ctx, action, object_type=object_type, object_id=row.id, details={"fields": fields})


async def rename_group(
    session: AsyncSession, ctx: TenantContext, group_id: uuid.UUID, data: Rename
) -> TagGroup:
    await _serialise(session, ctx)
    group = await access_group(session, ctx, group_id)
    await require_manage(session, ctx, group)
    if data.name is None and data.order is None:
        raise NothingToChange()
    name = clean_name(data.name, "name") if data.name is not None else None
    if name == group.name:
        name = None
    if name is not None and await TagGroupRepository(session, ctx).name_taken(name, besides=group.id):
        raise GroupNameTaken(field="name")
    order = data.order if data.order != group.order else None
    if name is None and order is None:
        return group
    await _edit(session, ctx, group, name, order, "tag_group")
    return group


async def rename_tag(session: AsyncSession, ctx: TenantContext, tag_id: uuid.UUID, data: Rename) -> Tag:
    await _serialise(session, ctx)
    tag = await access_tag(session, ctx, tag_id)
    group = await access_group(session, ctx, tag.group_id)
    await require_manage(session, ctx, group)
    if data.name is None and data.order is None:
        raise NothingToChange()
    name = clean_name(data.name, "name") if data.name is not None else None
    if name == tag.name:
        name = None
    if name is not None:
        siblings = {t.name for t in await TagRepository(session, ctx).live_in([group.id]) if t.id != tag.id}
        if name in siblings:
            raise DuplicateName(field="name")
    order = data.order if data.order != tag.order else None
    if name is None and order is None:
        return tag
    await _edit(session, ctx, tag, name, order, "tag")
    return tag


async def delete_group(session: AsyncSession, ctx: TenantContext, group_id: uuid.UUID) -> None:
    await _serialise(session, ctx)
    group = await access_group(session, ctx, group_id)
    await require_manage(session, ctx, group)
    if group.wecom_id is None:
        raise NotFound()
    client = await _client(session, ctx)
    await _wecom(client.del_corp_tag(group_ids=[group.wecom_id]))

    async def store() -> int:
        mirror = Mirror(session, ctx, owner=TagOwner.huike)
        mirror.groups[group.wecom_id or ""] = group
        for tag in await TagRepository(session, ctx).of_group(group.id):
            mirror.tags[tag.wecom_id or str(tag.id)] = tag
        mirror.delete_group(group)
        return mirror.counts["tags_deleted"]

    tags = await _locally(
        session, ctx, store, action="tag.deleted", object_type="tag_group", object_id=group.id
    )
    await record(
        session, ctx, "tag.deleted", object_type="tag_group", object_id=group.id, details={"tags": tags}
    )


async def delete_tag(session: AsyncSession, ctx: TenantContext, tag_id: uuid.UUID) -> None:
    await _serialise(session, ctx)
    tag = await access_tag(session, ctx, tag_id)
    group = await access_group(session, ctx, tag.group_id)
    await require_manage(session, ctx, group)
    if tag.wecom_id is None:
        raise NotFound()
    client = await _client(session, ctx)
    await _wecom(client.del_corp_tag(tag_ids=[tag.wecom_id]))

    async def store() -> bool:
        mirror = Mirror(session, ctx, owner=TagOwner.huike)
        mirror.groups[group.wecom_id or ""] = group
        for sibling in await TagRepository(session, ctx).of_group(group.id):
            mirror.tags[sibling.wecom_id or str(sibling.id)] = sibling
        mirror.delete_tag(tag)
        mirror.drop_empty_groups()
        return group.deleted

    group_gone = await _locally(
        session, ctx, store, action="tag.deleted", object_type="tag", object_id=tag.id
    )
    await record(
        session,
        ctx,
        "tag.deleted",
        object_type="tag",
        object_id=tag.id,
        details={"group_deleted": group_gone},
    )


# --- reordering ------------------------------------------------------------------------------------------


def plan_order(current: Sequence[int], weights: Sequence[int]) -> list[int]:
    """New orders (strictly decreasing, WeCom's larger-first) for items listed first to last, changing
    as few as possible: the heaviest chain of items whose orders already decrease stays; the others get
    values spread in the gaps. Without room in a gap, everything is spread over [0, 2^32)."""
    n = len(current)
    best = [weights[i] for i in range(n)]
    previous = [-1] * n
    for i in range(n):
        for j in range(i):
            if current[j] > current[i] and best[j] + weights[i] > best[i]:
                best[i], previous[i] = best[j] + weights[i], j
    kept: set[int] = set()
    if n:
        at = max(range(n), key=lambda i: best[i])
        while at != -1:
            kept.add(at)
            at = previous[at]
    planned = _spread(current, kept)
    return planned if planned is not None else (_spread(current, set()) or list(range(n, 0, -1)))


def _spread(current: Sequence[int], kept: set[int]) -> list[int] | None:
    n = len(current)
    result = list(current)
    start = 0
    upper = ORDER_CEILING
    for index in [*sorted(kept), n]:
        lower = current[index] if index < n else -1
        gap = index - start
        if gap:
            step = (upper - lower) // (gap + 1)
            if step < 1:
                return None
            for k in range(gap):
                result[start + k] = upper - step * (k + 1)
        if index < n:
            upper = current[index]
        start = index + 1
    return result


async def _reorder(
    session: AsyncSession,
    ctx: TenantContext,
    rows: Sequence[TagGroup] | Sequence[Tag],
    wanted: Sequence[uuid.UUID],
    object_type: str,
    audit_id: uuid.UUID | None,
) -> None:
    by_id = {row.id: row for row in rows}
    if len(set(wanted)) != len(wanted) or set(wanted) != set(by_id):
        raise OrderMismatch(
            missing=sorted(str(i) for i in set(by_id) - set(wanted)),
            unknown=sorted(str(i) for i in set(wanted) - set(by_id)),
            repeated=sorted({str(i) for i in wanted if list(wanted).count(i) > 1}),
        )
    ordered = [by_id[i] for i in wanted]
    weights = [1 if row.owner == TagOwner.huike else 1000 for row in ordered]
    planned = plan_order([row.order for row in ordered], weights)
    moves = [(row, order) for row, order in zip(ordered, planned, strict=True) if row.order != order]
    if not moves:
        return
    client = await _client(session, ctx)
    applied = 0
    for row, order in moves:
        if row.wecom_id is None:
            raise NotFound()
        try:
            await _wecom(client.edit_corp_tag(row.wecom_id, order=order))
        except (WeComError, NotAppOwned) as error:
            if applied == 0:
                raise
            await record(
                session,
                ctx,
                "tag.reordered",
                object_type=object_type,
                object_id=audit_id,
                result=AuditResult.failure,
                details={"applied": applied, "total": len(moves), "cause": error.code},
            )
            raise CommitThenAnswer(
                ReorderIncomplete(applied=applied, total=len(moves), cause=error.code)
            ) from error

        async def store(row: TagGroup | Tag = row, order: int = order) -> None:
            _apply_edit(row, None, order)

        await _locally(
            session, ctx, store, action="tag.reordered", object_type=object_type, object_id=audit_id
        )
        applied += 1
    await record(
        session, ctx, "tag.reordered", object_type=object_type, object_id=audit_id, details={"moved": applied}
    )


async def reorder_groups(session: AsyncSession, ctx: TenantContext, data: GroupOrder) -> None:
    await _serialise(session, ctx)
    groups = await TagGroupRepository(session, ctx).list_live()
    for group in groups:
        await require_manage(session, ctx, group)
    await _reorder(session, ctx, groups, data.tag_group_ids, "tag_group", None)


async def reorder_tags(
    session: AsyncSession, ctx: TenantContext, group_id: uuid.UUID, data: TagOrder
) -> TagGroup:
    await _serialise(session, ctx)
    group = await access_group(session, ctx, group_id)
    await require_manage(session, ctx, group)
    tags = await TagRepository(session, ctx).live_in([group.id])
    await _reorder(session, ctx, tags, data.tag_ids, "tag_group", group.id)
    return group
