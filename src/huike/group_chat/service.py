"""Customer groups (客户群): the full sync from WeCom, change_external_chat callbacks, the list and detail
views, daily statistics, and the tenant's own group tags.

What the policy lets us keep
----------------------------
§一（二）5.4 covers managing customer groups (welcome material, handing resigned members' groups to
others) and 5.3 messaging them; 5.2 covers customers' lists, nicknames, remarks and tags. So Huike keeps
what managing a group needs: the group (chat_id, name, owner, creation time, status, member_version)
and who is in it (UserID or ExternalUserID, member or customer, join scene and time, the inviting
member, when they left), and for an external contact the name the group shows (群昵称, else the
WeChat name that groupchat/get returns with ``need_name=1``; 5.2's 昵称, encrypted): an operator reads
a group by its people's names, and a person in the group who is nobody's customer has no other name.
Dropped on arrival: members' names (the member directory has them), unionid, the join way ``state``,
the admin list and the group notice (群公告, free text of the owner's that the policy does not name).

Names on the group's pages
--------------------------
A member: their name from the member directory. An external contact who is a customer of the tenant:
the customer's name, type and id (a link to the customer) from the customer domain, but only when the
caller may see that customer (``customers.view`` and the customer's data scope); a customer outside
it shows no name at all (not even the group's), so a group in scope does not leak the names of other
members' customers. An external contact who is nobody's customer: the stored name the group shows.
Stored names are refreshed whenever a read applies a membership change, and filled in by the next read
of a group that has people without one (joins applied from an event without a call).

Full sync (``group_chat.sync_from_wecom``, a durable job; resumable from :class:`GroupChatSyncState`)
----------------------------------------------------------------------------------------------------
1. *owners*: the customer-contact members (get_follow_user_list) ∪ the members Huike knows ∪ the
   owners of live groups (a resigned owner's groups still list), in UserID order.
2. *listing*: groupchat/list per batch of ``OWNER_BATCH`` (100) owners, cursor-paged: WeCom refuses
   more than 100 owners, and an unfiltered list over a scope above 1000 people fails with 81017.
   Each listed group is read with groupchat/get when it is new, its status changed, or its details are
   older than ``DETAILS_TTL`` (every group with ``full``); a read whose member_version equals the
   stored one does not touch the members. Each page ends with a checkpoint (owner batch + cursor).
3. *reconcile*: live groups the run did not list and nothing confirmed since it started are
   dismissed.

A rerun when nothing changed makes the list calls only, no groupchat/get, and writes one bulk "seen"
update a page.

Callbacks (change_external_chat)
--------------------------------
``create``, ``change_owner`` and ``change_name`` re-read the group. ``add_member``/``del_member`` are
applied from MemChangeList without a call while the stored member_version equals LastMemVer (and,
for joins, every id is recognisably a member or a customer); otherwise the group is re-read. An event
whose CurMemVer is already stored changes nothing. ``change_notice`` only advances ``event_time`` (the
notice is not kept). ``dismiss`` marks the group dismissed; events older than a dismissal are ignored,
and a re-read answered with 86003 dismisses. Joins and quits are counted per event and person into
``group_chat_member_changes`` (unique by CurMemVer), so a duplicate counts nothing and events count in
any order. Only events count joins and quits: a full sync corrects membership and size, not history.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import ColumnElement, ColumnExpressionArgument, Select, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import insert_ignore, rowcount, utcnow
from huike.core.errors import NotFound
from huike.core.pagination import decode_keyset, encode_cursor
from huike.core.tasks import Checkpoint, Job, Report, create_job, no_checkpoint, no_report
from huike.core.tenancy import TenantContext
from huike.group_chat.errors import (
    InvalidRange,
    SyncRunning,
    TagNameEmpty,
    TagNameTaken,
    TagNameTooLong,
    UnknownTags,
)
from huike.group_chat.models import (
    MAX_TAG_NAME,
    GroupChat,
    GroupChatDailyStat,
    GroupChatMember,
    GroupChatMemberChange,
    GroupChatSyncState,
    GroupChatTag,
    GroupChatTagLink,
    GroupStatus,
    MemberType,
    SyncPhase,
)
from huike.group_chat.repository import (
    SYNC_TASK,
    DailyStatRepository,
    GroupChatMemberRepository,
    GroupChatRepository,
    GroupChatTagLinkRepository,
    GroupChatTagRepository,
    MemberChangeRepository,
    MemberLookup,
    SyncJobRepository,
    SyncStateRepository,
    owner_scope,
    present_clause,
    present_userids,
)
from huike.group_chat.schemas import (
    GroupBulkTags,
    GroupBulkTagsResult,
    GroupChatDetail,
    GroupChatPage,
    GroupChatRead,
    GroupChatTagRef,
    GroupMemberPage,
    GroupMemberRead,
    GroupOverview,
    GroupOwner,
    GroupOwnerList,
    GroupSort,
    GroupStatistics,
    GroupTagIn,
    GroupTagList,
    GroupTagRead,
    GroupTagUpdate,
    MemberState,
    NameSource,
    OwnerRef,
    Trend,
    TrendPoint,
)
from huike.privacy.audit.service import record
from huike.security.keys import KeyFamily, cached_scope_keys, scope_of, warm_keys
from huike.wecom import wire
from huike.wecom.client import WeComClient
from huike.wecom.errors import WeComError

log = structlog.get_logger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
OWNER_BATCH = 100  # WeCom: owner_filter.userid_list takes at most 100 UserIDs
LIST_PAGE = 1000  # WeCom: limit 1..1000
DETAILS_TTL = timedelta(hours=24)
GONE_ERRCODES = frozenset({86001, 86003})
EXTERNAL_PREFIXES = ("wm", "wo")  # ExternalUserIDs of WeChat users and of other corps' members
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_of(at: datetime) -> date:
    """The calendar day (Asia/Shanghai) a moment falls on."""
    return at.astimezone(CHINA).date()


def _ts(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC) if value > 0 else EPOCH


def _set(obj: Any, name: str, value: Any) -> bool:
    """Assign only when the value differs, so that an unchanged row is never written."""
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    return True


def _errcode(error: WeComError) -> int:
    try:
        return int(error.details.get("errcode", 0))
    except (TypeError, ValueError):
        return 0


async def _warm(session: AsyncSession, ctx: TenantContext) -> None:
    """The tenant's data keys in the session, so that members' stored names decrypt as rows load
    (read once per session: callbacks come in batches)."""
    if cached_scope_keys(session.sync_session, scope_of(ctx.tenant_id), KeyFamily.data) is None:
        await warm_keys(session, ctx.tenant_id, families=(KeyFamily.data,))


async def _client(session: AsyncSession, ctx: TenantContext) -> WeComClient:
    from huike.wecom.service import client_for

    client, _ = await client_for(session, ctx)  # the customer-contact secret
    return client


async def _read(client: WeComClient, chat_id: str) -> wire.GroupChat | None:
    """groupchat/get with names; None when WeCom says the group is gone (86001/86003)."""
    try:
        return await client.groupchat_get(chat_id, need_name=True)
    except WeComError as error:
        if _errcode(error) in GONE_ERRCODES:
            return None
        raise


# --- applying what WeCom says ------------------------------------------------------------------------


async def _snapshot_size(session: AsyncSession, ctx: TenantContext, group: GroupChat, day: date) -> None:
    """Record the group's size on ``day``; no row when the size is what the last row says already."""
    stats = DailyStatRepository(session, ctx)
    row = await stats.on(group.id, day)
    if row is not None:
        _set(row, "size", group.member_count)
        return
    previous = await stats.last_before(group.id, day)
    if previous is not None and previous.size == group.member_count:
        return
    stats.add(GroupChatDailyStat(group_chat_id=group.id, day=day, size=group.member_count, joins=0, quits=0))
    await session.flush()


def _shown_name(item: wire.GroupMember) -> str | None:
    """The name the group shows for an external contact (群昵称, else the WeChat name); None for members,
    whose names the member directory has."""
    if item.type == 1:
        return None
    return (item.group_nickname or item.name).strip()


async def _reconcile_members(
    session: AsyncSession,
    ctx: TenantContext,
    group: GroupChat,
    listed: Sequence[wire.GroupMember],
    at: datetime,
    *,
    new: bool,
) -> None:
    repository = GroupChatMemberRepository(session, ctx)
    rows = {} if new else {row.userid: row for row in await repository.of_group(group.id)}
    present: set[str] = set()
    for item in listed:
        present.add(item.userid)
        kind = MemberType.member if item.type == 1 else MemberType.external
        join_time = _ts(item.join_time) if item.join_time else None
        invitor = item.invitor.get("userid") or None
        row = rows.get(item.userid)
        if row is None:
            rows[item.userid] = repository.add(
                GroupChatMember(
                    group_chat_id=group.id,
                    userid=item.userid,
                    member_type=kind,
                    display_name=_shown_name(item),
                    join_scene=item.join_scene,
                    join_time=join_time,
                    invitor_userid=invitor,
                )
            )
            continue
        _set(row, "member_type", kind)
        _set(row, "display_name", _shown_name(item))
        _set(row, "join_scene", item.join_scene)
        _set(row, "join_time", join_time)
        _set(row, "invitor_userid", invitor)
        _set(row, "left_at", None)
    for userid, row in rows.items():
        if userid not in present and row.left_at is None:
            row.left_at = at
    group.member_count = len(present)


async def _apply_read(
    session: AsyncSession,
    ctx: TenantContext,
    group: GroupChat | None,
    read: wire.GroupChat,
    read_at: datetime,
    *,
    listed_status: GroupStatus | None = None,
    unnamed: bool | None = None,
) -> GroupChat:
    """Store what groupchat/get said (a read older than the stored state changes nothing). The members
    are reconciled when their version changed, or when an external contact in the group has no stored
    name yet (``unnamed``, if the caller knows; otherwise asked)."""
    new = group is None
    if group is None:
        group = GroupChatRepository(session, ctx).add(
            GroupChat(
                id=uuid.uuid4(),
                chat_id=read.chat_id,
                wecom_created_at=_ts(read.create_time),
                status=listed_status or GroupStatus.normal,
                member_version="",
                member_count=0,
                event_time=0,
            )
        )
    elif group.synced_at is not None and read_at < group.synced_at:
        return group
    _set(group, "name", read.name)
    _set(group, "owner_userid", read.owner)
    if read.create_time:
        _set(group, "wecom_created_at", _ts(read.create_time))
    if listed_status is not None:
        _set(group, "status", listed_status)
    elif group.status == GroupStatus.dismissed:
        group.status = GroupStatus.normal  # WeCom answered: the group exists
    if group.status != GroupStatus.dismissed:
        _set(group, "dismissed_at", None)
    if (
        new
        or read.member_version != group.member_version
        or not read.member_version
        or (
            unnamed
            if unnamed is not None
            else bool(await GroupChatMemberRepository(session, ctx).with_unnamed_externals([group.id]))
        )
    ):
        await _reconcile_members(session, ctx, group, read.member_list, read_at, new=new)
        _set(group, "member_version", read.member_version)
    group.synced_at = read_at
    await session.flush()
    await _snapshot_size(session, ctx, group, day_of(read_at))
    return group


async def _dismiss(
    session: AsyncSession, ctx: TenantContext, group: GroupChat, at: datetime, event_time: int = 0
) -> None:
    group.status = GroupStatus.dismissed
    group.dismissed_at = group.dismissed_at or at
    group.event_time = max(group.event_time, event_time)
    for row in await GroupChatMemberRepository(session, ctx).of_group(group.id, present=True):
        row.left_at = at
    group.member_count = 0
    await session.flush()
    await _snapshot_size(session, ctx, group, day_of(at))


async def _count(
    session: AsyncSession,
    ctx: TenantContext,
    group: GroupChat,
    *,
    kind: str,
    userids: Sequence[str],
    version: str,
    scene: int,
    at: datetime,
) -> int:
    """Count the event's joins or quits once: a person's change at a member_version is unique."""
    counted = 0
    for userid in dict.fromkeys(userids):
        result = await session.execute(
            insert_ignore(
                session,
                GroupChatMemberChange,
                ["tenant_id", "group_chat_id", "userid", "kind", "member_version"],
            ).values(
                id=uuid.uuid4(),
                tenant_id=ctx.tenant_id,
                group_chat_id=group.id,
                userid=userid,
                kind=kind,
                scene=scene,
                member_version=version,
                at=at,
                created_at=utcnow(),
            )
        )
        counted += rowcount(result)
    if not counted:
        return 0
    stats = DailyStatRepository(session, ctx)
    day = day_of(at)
    row = await stats.on(group.id, day)
    if row is None:
        row = stats.add(
            GroupChatDailyStat(group_chat_id=group.id, day=day, size=group.member_count, joins=0, quits=0)
        )
    if kind == "join":
        row.joins = (row.joins or 0) + counted
    else:
        row.quits = (row.quits or 0) + counted
    await session.flush()
    return counted


# --- the full sync -------------------------------------------------------------------------------------


async def start_sync(session: AsyncSession, ctx: TenantContext, *, full: bool = False) -> Job:
    """Queue a full sync with a job row (admins; 409 while one is queued or running)."""
    from huike.member.service import require_admin
    from huike.wecom.service import access_connection

    await require_admin(session, ctx)
    await access_connection(session, ctx)
    now = utcnow()
    # one state row per tenant, locked: two requests cannot both start a run (PostgreSQL)
    await session.execute(
        insert_ignore(session, GroupChatSyncState, ["tenant_id"]).values(
            id=uuid.uuid4(),
            tenant_id=ctx.tenant_id,
            run_id=uuid.uuid4(),
            phase=SyncPhase.done,
            owner_after="",
            cursor="",
            stats={},
            started_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    states = SyncStateRepository(session, ctx)
    await session.execute(states.select().with_for_update())
    running = await SyncJobRepository(session, ctx).unfinished()
    if running is not None:
        raise SyncRunning(job_id=str(running.id))
    job = await create_job(session, ctx, SYNC_TASK, full=full)
    await record(
        session, ctx, "group_chat.sync_started", object_type="job", object_id=job.id, details={"full": full}
    )
    return job


async def _owners(session: AsyncSession, ctx: TenantContext, client: WeComClient) -> list[str]:
    owners: set[str] = set()
    try:
        owners.update(await client.get_follow_user_list())
    except WeComError as error:
        if error.retryable:
            raise
        log.info("group_chat.sync_follow_users_unavailable", code=error.code)
    owners.update(await MemberLookup(session, ctx).all_userids())
    owners.update(await GroupChatRepository(session, ctx).live_owner_userids())
    return sorted(o for o in owners if o)


async def sync_from_wecom(
    session: AsyncSession,
    ctx: TenantContext,
    run_id: uuid.UUID,
    *,
    full: bool = False,
    checkpoint: Checkpoint = no_checkpoint,
    report: Report = no_report,
) -> dict[str, int]:
    """Run (or resume) the full sync ``run_id``; see the module's docstring. Returns counts."""
    await _warm(session, ctx)
    states = SyncStateRepository(session, ctx)
    state = await states.current()
    now = utcnow()
    if state is None:
        state = states.add(
            GroupChatSyncState(
                run_id=run_id, phase=SyncPhase.listing, owner_after="", cursor="", stats={}, started_at=now
            )
        )
    elif state.run_id != run_id:
        state.run_id, state.phase, state.owner_after, state.cursor = run_id, SyncPhase.listing, "", ""
        state.stats, state.started_at, state.finished_at = {}, now, None
    elif state.phase == SyncPhase.done:
        return {k: int(v) for k, v in (state.stats or {}).items()}  # a duplicate delivery
    else:
        log.info("group_chat.sync_resumed", phase=state.phase)
    stats: Counter[str] = Counter({k: int(v) for k, v in (state.stats or {}).items()})
    client = await _client(session, ctx)
    stale_before = state.started_at if full else min(now - DETAILS_TTL, state.started_at)

    async def save(progress: int) -> None:
        state.stats = dict(stats)
        report(progress, 100)
        await checkpoint()

    if state.phase == SyncPhase.listing:
        owners = await _owners(session, ctx, client)
        batches = max(1, -(-len(owners) // OWNER_BATCH))
        while batch := [o for o in owners if o > state.owner_after][:OWNER_BATCH]:
            page = await client.groupchat_list(owners=batch, cursor=state.cursor, limit=LIST_PAGE)
            await _apply_page(session, ctx, client, state, page.group_chat_list, stale_before, stats)
            stats["pages"] += 1
            if page.next_cursor:
                state.cursor = page.next_cursor
            else:
                state.owner_after, state.cursor = batch[-1], ""
            done = len([o for o in owners if o <= state.owner_after])
            await save(min(89, 5 + 85 * done // max(1, len(owners))))
        stats["owner_batches"] = batches
        state.phase = SyncPhase.reconcile
        await save(90)
    if state.phase == SyncPhase.reconcile:
        repository = GroupChatRepository(session, ctx)
        for group in await repository.not_seen(state.run_id, state.started_at):
            await _dismiss(session, ctx, group, utcnow())
            stats["dismissed"] += 1
        state.phase, state.finished_at = SyncPhase.done, utcnow()
        state.stats = dict(stats)
        report(100, 100)
    log.info("group_chat.sync_finished", **{k: int(v) for k, v in stats.items()})
    return dict(stats)


async def _apply_page(
    session: AsyncSession,
    ctx: TenantContext,
    client: WeComClient,
    state: GroupChatSyncState,
    items: Sequence[wire.GroupChatListItem],
    stale_before: datetime,
    stats: Counter[str],
) -> None:
    repository = GroupChatRepository(session, ctx)
    existing = await repository.by_chat_ids(item.chat_id for item in items)

    def fresh(group: GroupChat | None, status: GroupStatus) -> bool:
        return (
            group is not None
            and group.status == status
            and group.synced_at is not None
            and group.synced_at >= stale_before
        )

    to_read = [
        group.id
        for item in items
        if (group := existing.get(item.chat_id)) is not None
        and not fresh(group, GroupStatus.from_wecom(item.status))
    ]
    unnamed = await GroupChatMemberRepository(session, ctx).with_unnamed_externals(to_read)
    seen: list[uuid.UUID] = []
    for item in items:
        stats["listed"] += 1
        group = existing.get(item.chat_id)
        status = GroupStatus.from_wecom(item.status)
        if group is not None and fresh(group, status):
            if group.seen_run != state.run_id:
                seen.append(group.id)
            continue
        read_at = utcnow()
        read = await _read(client, item.chat_id)
        stats["read"] += 1
        if read is None:
            if group is not None and group.status != GroupStatus.dismissed:
                await _dismiss(session, ctx, group, read_at)
                stats["dismissed"] += 1
            continue
        before = (group.member_version, group.name, group.owner_userid) if group else None
        group = await _apply_read(
            session,
            ctx,
            group,
            read,
            read_at,
            listed_status=status,
            unnamed=group is not None and group.id in unnamed,
        )
        group.seen_run = state.run_id
        if before is None:
            stats["created"] += 1
        elif before != (group.member_version, group.name, group.owner_userid):
            stats["updated"] += 1
    await session.flush()
    for start in range(0, len(seen), 500):
        await session.execute(
            update(GroupChat)
            .where(GroupChat.tenant_id == ctx.tenant_id, GroupChat.id.in_(seen[start : start + 500]))
            .values(seen_run=state.run_id, updated_at=GroupChat.updated_at)
            .execution_options(synchronize_session=False)
        )
    for group in existing.values():
        if group.id in seen:
            from sqlalchemy.orm.attributes import set_committed_value

            set_committed_value(group, "seen_run", state.run_id)


# --- change_external_chat callbacks ----------------------------------------------------------------------


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _ids(value: str | list[str] | None) -> list[str]:
    """MemChangeList: ``<Item>`` elements (a list) or a comma-separated string; accept both."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [item.strip() for item in items if item and item.strip()]


def _text(event: dict[str, str | list[str]], name: str) -> str:
    value = event.get(name, "")
    return ",".join(value) if isinstance(value, list) else str(value)


async def _refresh(
    session: AsyncSession,
    ctx: TenantContext,
    chat_id: str,
    group: GroupChat | None,
    at: datetime,
    event_time: int,
) -> GroupChat | None:
    """Re-read the group and store it; a group WeCom no longer has is dismissed."""
    read_at = utcnow()
    read = await _read(await _client(session, ctx), chat_id)
    if read is None:
        if group is not None and group.status != GroupStatus.dismissed:
            await _dismiss(session, ctx, group, at, event_time)
        return None
    group = await _apply_read(session, ctx, group, read, read_at)
    group.event_time = max(group.event_time, event_time)
    return group


async def on_chat_event(session: AsyncSession, ctx: TenantContext, event: dict[str, str | list[str]]) -> None:
    """One change_external_chat event (create / update / dismiss); idempotent and order-tolerant."""
    chat_id = _text(event, "ChatId")
    if not chat_id:
        return
    change = _text(event, "ChangeType")
    event_time = _int(_text(event, "CreateTime"))
    at = _ts(event_time) if event_time else utcnow()
    await _warm(session, ctx)
    repository = GroupChatRepository(session, ctx)
    group = await repository.by_chat_id(chat_id)
    if change == "dismiss":
        if group is None:  # dismissed before we heard of it: remember, so late events stay ignored
            group = repository.add(
                GroupChat(
                    id=uuid.uuid4(),
                    chat_id=chat_id,
                    wecom_created_at=EPOCH,
                    status=GroupStatus.dismissed,
                    member_count=0,
                    event_time=event_time,
                    dismissed_at=at,
                )
            )
            await session.flush()
        elif group.status != GroupStatus.dismissed or event_time > group.event_time:
            await _dismiss(session, ctx, group, at, event_time)
        return
    if group is not None and group.status == GroupStatus.dismissed and event_time <= group.event_time:
        return  # older than the dismissal
    detail = _text(event, "UpdateDetail")
    if change == "update" and detail in ("add_member", "del_member"):
        await _member_change(session, ctx, chat_id, group, event, at, event_time)
    elif change == "update" and detail == "change_notice":
        if group is not None:  # the notice is not kept: nothing to read
            group.event_time = max(group.event_time, event_time)
    elif change in ("create", "update"):
        if group is not None and change == "create" and group.synced_at is not None and group.synced_at >= at:
            return  # read after the group was created: nothing newer to learn
        await _refresh(session, ctx, chat_id, group, at, event_time)
    log.info("group_chat.event_applied", change=change, detail=detail)


async def _classify(
    session: AsyncSession, ctx: TenantContext, userids: Sequence[str]
) -> dict[str, MemberType] | None:
    """Member or customer for each id of a join, or None when one cannot be told without WeCom."""
    members = await MemberLookup(session, ctx).known(userids)
    found: dict[str, MemberType] = {}
    for userid in userids:
        if userid in members:
            found[userid] = MemberType.member
        elif userid.startswith(EXTERNAL_PREFIXES):
            found[userid] = MemberType.external
        else:
            return None
    return found


async def _member_change(
    session: AsyncSession,
    ctx: TenantContext,
    chat_id: str,
    group: GroupChat | None,
    event: dict[str, str | list[str]],
    at: datetime,
    event_time: int,
) -> None:
    joined = _text(event, "UpdateDetail") == "add_member"
    userids = _ids(event.get("MemChangeList"))
    last, current = _text(event, "LastMemVer"), _text(event, "CurMemVer")
    scene = _int(_text(event, "JoinScene" if joined else "QuitScene"))
    if group is not None and current and group.member_version == current:
        pass  # applied already (a duplicate, or a read that saw this change)
    elif group is not None and last and group.member_version == last and userids:
        kinds = await _classify(session, ctx, userids) if joined else {}
        if kinds is None:
            group = await _refresh(session, ctx, chat_id, group, at, event_time)
        else:
            await _apply_directly(session, ctx, group, userids, kinds, joined, scene, at)
            group.member_version = current
    else:
        group = await _refresh(session, ctx, chat_id, group, at, event_time)
    if group is None:
        return
    group.event_time = max(group.event_time, event_time)
    await _count(
        session,
        ctx,
        group,
        kind="join" if joined else "quit",
        userids=userids,
        version=current or f"t{event_time}",
        scene=scene,
        at=at,
    )
    await _snapshot_size(session, ctx, group, day_of(utcnow()))


async def _apply_directly(
    session: AsyncSession,
    ctx: TenantContext,
    group: GroupChat,
    userids: Sequence[str],
    kinds: dict[str, MemberType],
    joined: bool,
    scene: int,
    at: datetime,
) -> None:
    repository = GroupChatMemberRepository(session, ctx)
    rows = {row.userid: row for row in await repository.of_group(group.id)}
    for userid in userids:
        row = rows.get(userid)
        if joined:
            join_scene = 3 if scene == 3 else 0  # the event tells a QR scan from an invitation only
            if row is None:
                rows[userid] = repository.add(
                    GroupChatMember(
                        group_chat_id=group.id,
                        userid=userid,
                        member_type=kinds[userid],
                        join_scene=join_scene,
                        join_time=at,
                        invitor_userid=None,
                    )
                )
            elif row.left_at is not None:
                row.left_at, row.join_time, row.join_scene, row.invitor_userid = None, at, join_scene, None
        elif row is not None and row.left_at is None:
            row.left_at = at
    await session.flush()
    group.member_count = await repository.count_present(group.id)


# --- reading ---------------------------------------------------------------------------------------------


async def _owner_refs(
    session: AsyncSession, ctx: TenantContext, userids: Sequence[str]
) -> dict[str, OwnerRef]:
    members = await MemberLookup(session, ctx).by_userids(userids)
    refs: dict[str, OwnerRef] = {}
    for userid in userids:
        member = members.get(userid)
        refs[userid] = OwnerRef(
            userid=userid, member_id=member.id if member else None, name=member.name if member else None
        )
    return refs


async def _tag_refs(
    session: AsyncSession, ctx: TenantContext, group_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[GroupChatTagRef]]:
    links = await GroupChatTagLinkRepository(session, ctx).of_groups(group_ids)
    tags = await GroupChatTagRepository(session, ctx).by_ids(
        link.tag_id for found in links.values() for link in found
    )
    return {
        group_id: sorted(
            (
                GroupChatTagRef(id=link.tag_id, name=tags[link.tag_id].name)
                for link in found
                if link.tag_id in tags
            ),
            key=lambda ref: ref.name,
        )
        for group_id, found in links.items()
    }


async def _people(
    session: AsyncSession, ctx: TenantContext, rows: Sequence[GroupChatMember]
) -> list[GroupMemberRead]:
    """The group's people as the caller may read them (see "Names on the group's pages" above):
    members and inviters by the member directory; external contacts by the customer domain when they
    are customers (a customer the caller may not see gets no name), else by the name the group shows."""
    from huike.external_contact import service as customers

    names = await MemberLookup(session, ctx).by_userids(
        [
            *(r.userid for r in rows if r.member_type == MemberType.member),
            *(r.invitor_userid for r in rows if r.invitor_userid),
        ]
    )
    known = await customers.customers_by_external_userid(
        session, ctx, [r.userid for r in rows if r.member_type == MemberType.external]
    )
    people: list[GroupMemberRead] = []
    for row in rows:
        invitor = names.get(row.invitor_userid) if row.invitor_userid else None
        read = GroupMemberRead(
            userid=row.userid,
            type=MemberType(row.member_type),
            member_id=None,
            name=None,
            join_scene=row.join_scene,
            join_time=row.join_time,
            invitor_userid=row.invitor_userid,
            invitor_name=invitor.name if invitor else None,
            left_at=row.left_at,
        )
        if row.member_type == MemberType.member:
            member = names.get(row.userid)
            if member is not None:
                read.member_id, read.name = member.id, member.name
                read.name_source = NameSource.member if member.name else None
        elif row.userid in known:
            customer = known[row.userid]
            if customer is not None:  # None: a customer outside the caller's scope stays unnamed
                read.customer_id = customer.id
                read.customer_type = "wecom" if customer.contact_type == "wecom" else "wechat"
                read.corp_name = customer.corp_name
                read.name = customer.name or row.display_name or None
                read.name_source = NameSource.customer if read.name else None
        elif row.display_name:
            read.name, read.name_source = row.display_name, NameSource.group
        people.append(read)
    return people


def _read_group(group: GroupChat, owner: OwnerRef, tags: list[GroupChatTagRef]) -> GroupChatRead:
    return GroupChatRead(
        id=group.id,
        chat_id=group.chat_id,
        name=group.name,
        owner=owner,
        status=GroupStatus(group.status),
        member_count=group.member_count,
        wecom_created_at=group.wecom_created_at,
        dismissed_at=group.dismissed_at,
        synced_at=group.synced_at,
        tags=tags,
    )


async def _viewed_owners(
    session: AsyncSession,
    ctx: TenantContext,
    scope: Any,
    owner_ids: Sequence[uuid.UUID],
    owner_userids: Sequence[str],
    *,
    audit: bool,
) -> list[str]:
    """The UserIDs of a group list filtered by owner: another member's group list (R-ADM-1), asked for
    by member id or by UserID (the console's owner filter) alike. The members must be in the caller's
    data scope (403 ``permission.member_outside_scope``); under a narrower scope so must every UserID
    (one that is no member of the tenant is outside it, like a missing member id). ``audit``: the first
    page is the view, one F4 row naming the other members (the next pages are the same view). Only
    these requests get a write session (``router._audited_view``): every other list request reads only.
    """
    from huike.permission import service as permission_service
    from huike.permission.errors import MemberOutsideScope

    lookup = MemberLookup(session, ctx)
    by_userid = await lookup.by_userids(owner_userids)
    if scope is not None and set(owner_userids) - set(by_userid):
        raise MemberOutsideScope()
    members = [*owner_ids, *(member.id for member in by_userid.values())]
    await permission_service.require_members_visible(session, ctx, members)
    if audit:
        await permission_service.audit_member_view(session, ctx, members, "groups")
    return [*(await lookup.userids_of(list(owner_ids))), *owner_userids]


async def list_groups(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    limit: int,
    cursor: str | None = None,
    owner_ids: Sequence[uuid.UUID] | None = None,
    keyword: str | None = None,
    tag_ids: Sequence[uuid.UUID] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    statuses: Sequence[GroupStatus] | None = None,
    owner_userids: Sequence[str] | None = None,
    sort: GroupSort = GroupSort.created_desc,
) -> GroupChatPage:
    """Groups newest first (WeCom's creation time) or in ``sort``'s order, keyset-paged, with the
    count of all matches. ``owner_ids`` (members) and ``owner_userids`` (UserIDs, e.g. of owners who
    left) add up."""
    if created_from is not None and created_to is not None and created_from > created_to:
        raise InvalidRange()
    await warm_keys(session, ctx.tenant_id)
    scope = await owner_scope(session, ctx)
    owners: list[str] | None = None
    if owner_ids or owner_userids:
        owners = await _viewed_owners(
            session, ctx, scope, owner_ids or [], owner_userids or [], audit=cursor is None
        )
    repository = GroupChatRepository(session, ctx)
    statement = repository.filtered(
        scope,
        owner_userids=owners,
        keyword=keyword.strip() if keyword else None,
        tag_ids=tag_ids,
        created_from=created_from,
        created_to=created_to,
        statuses=[str(s) for s in statuses] if statuses else None,
    )
    total = await repository.count(statement)
    by_size = sort in (GroupSort.size_desc, GroupSort.size_asc)
    after = decode_keyset(cursor, int) if by_size else decode_keyset(cursor, datetime.fromisoformat)
    rows = await repository.page(statement, after=after, limit=limit + 1, sort=sort)
    page = rows[:limit]
    owner_refs = await _owner_refs(session, ctx, [g.owner_userid for g in page])
    tags = await _tag_refs(session, ctx, [g.id for g in page])
    last = page[-1] if page else None
    next_cursor = None
    if last is not None and len(rows) > limit:
        key = last.member_count if by_size else last.wecom_created_at.isoformat()
        next_cursor = encode_cursor(key, last.id)
    return GroupChatPage(
        items=[_read_group(g, owner_refs[g.owner_userid], tags.get(g.id, [])) for g in page],
        next_cursor=next_cursor,
        total=total,
    )


async def _visible_group(session: AsyncSession, ctx: TenantContext, group_chat_id: uuid.UUID) -> GroupChat:
    scope = await owner_scope(session, ctx)
    group = await GroupChatRepository(session, ctx).get_in_scope(group_chat_id, scope)
    if group is None:
        raise NotFound()
    return group


async def get_group(session: AsyncSession, ctx: TenantContext, group_chat_id: uuid.UUID) -> GroupChatDetail:
    await warm_keys(session, ctx.tenant_id)
    group = await _visible_group(session, ctx, group_chat_id)
    rows = await GroupChatMemberRepository(session, ctx).of_group(group.id, present=True)
    owner_refs = await _owner_refs(session, ctx, [group.owner_userid])
    tags = await _tag_refs(session, ctx, [group.id])
    members = await _people(session, ctx, rows)
    today = day_of(utcnow())
    window = await DailyStatRepository(session, ctx).between(group.id, today - timedelta(days=29), today)
    on_today = next((s for s in window if s.day == today), None)
    statistics = GroupStatistics(
        size=group.member_count,
        members=sum(1 for r in rows if r.member_type == MemberType.member),
        externals=sum(1 for r in rows if r.member_type == MemberType.external),
        joins_today=on_today.joins if on_today else 0,
        quits_today=on_today.quits if on_today else 0,
        joins_30d=sum(s.joins for s in window),
        quits_30d=sum(s.quits for s in window),
    )
    base = _read_group(group, owner_refs[group.owner_userid], tags.get(group.id, []))
    return GroupChatDetail(**base.model_dump(), members=members, statistics=statistics)


async def trend(session: AsyncSession, ctx: TenantContext, group_chat_id: uuid.UUID, days: int) -> Trend:
    """The last ``days`` days up to today (Asia/Shanghai): size at the end of each day, joins, quits."""
    group = await _visible_group(session, ctx, group_chat_id)
    stats = DailyStatRepository(session, ctx)
    today = day_of(utcnow())
    first = today - timedelta(days=days - 1)
    rows = {row.day: row for row in await stats.between(group.id, first, today)}
    previous = await stats.last_before(group.id, first)
    created = day_of(group.wecom_created_at) if group.wecom_created_at > EPOCH else None
    if previous is not None:
        size = previous.size
    elif rows:
        earliest = rows[min(rows)]
        size = max(0, earliest.size - earliest.joins + earliest.quits)
    else:
        size = group.member_count
    points: list[TrendPoint] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = rows.get(day)
        if row is not None:
            size = row.size
        shown = 0 if created is not None and day < created else size
        points.append(
            TrendPoint(day=day, size=shown, joins=row.joins if row else 0, quits=row.quits if row else 0)
        )
    return Trend(items=points)


# --- local group tags --------------------------------------------------------------------------------------


def _tag_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise TagNameEmpty()
    if len(name) > MAX_TAG_NAME:
        raise TagNameTooLong(max=MAX_TAG_NAME, length=len(name))
    return name


async def list_tags(session: AsyncSession, ctx: TenantContext) -> GroupTagList:
    repository = GroupChatTagRepository(session, ctx)
    usage = await repository.usage()
    return GroupTagList(
        items=[
            GroupTagRead(id=t.id, name=t.name, usage=usage.get(t.id, 0), created_at=t.created_at)
            for t in await repository.all()
        ]
    )


async def _tag_read(session: AsyncSession, ctx: TenantContext, tag: GroupChatTag) -> GroupTagRead:
    usage = await GroupChatTagRepository(session, ctx).usage()
    return GroupTagRead(id=tag.id, name=tag.name, usage=usage.get(tag.id, 0), created_at=tag.created_at)


async def create_tag(session: AsyncSession, ctx: TenantContext, body: GroupTagIn) -> GroupTagRead:
    name = _tag_name(body.name)
    repository = GroupChatTagRepository(session, ctx)
    if await repository.name_taken(name):
        raise TagNameTaken()
    tag = repository.add(GroupChatTag(name=name, created_by=ctx.user_id, created_at=utcnow()))
    await session.flush()
    return await _tag_read(session, ctx, tag)


async def update_tag(
    session: AsyncSession, ctx: TenantContext, tag_id: uuid.UUID, body: GroupTagUpdate
) -> GroupTagRead:
    repository = GroupChatTagRepository(session, ctx)
    tag = await repository.get_or_404(tag_id)
    if body.name is not None:
        name = _tag_name(body.name)
        if await repository.name_taken(name, besides=tag.id):
            raise TagNameTaken()
        _set(tag, "name", name)
        await session.flush()
    return await _tag_read(session, ctx, tag)


async def delete_tag(session: AsyncSession, ctx: TenantContext, tag_id: uuid.UUID) -> None:
    repository = GroupChatTagRepository(session, ctx)
    tag = await repository.get_or_404(tag_id)
    await session.execute(
        delete(GroupChatTagLink)
        .where(GroupChatTagLink.tenant_id == ctx.tenant_id, GroupChatTagLink.tag_id == tag.id)
        .execution_options(synchronize_session=False)
    )
    await session.delete(tag)
    await session.flush()


async def set_group_tags(
    session: AsyncSession, ctx: TenantContext, group_chat_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> GroupChatDetail:
    """Replace the group's local tags with ``tag_ids`` (unknown ids: 422, nothing changes)."""
    group = await _visible_group(session, ctx, group_chat_id)
    wanted = list(dict.fromkeys(tag_ids))
    found = await GroupChatTagRepository(session, ctx).by_ids(wanted)
    unknown = [str(t) for t in wanted if t not in found]
    if unknown:
        raise UnknownTags(tag_ids=", ".join(unknown))
    links = GroupChatTagLinkRepository(session, ctx)
    current = {link.tag_id: link for link in (await links.of_groups([group.id]))[group.id]}
    for tag_id, link in current.items():
        if tag_id not in found:
            await session.delete(link)
    for tag_id in wanted:
        if tag_id not in current:
            links.add(GroupChatTagLink(group_chat_id=group.id, tag_id=tag_id, created_at=utcnow()))
    await session.flush()
    return await get_group(session, ctx, group.id)


# --- for the customer domain: a customer's groups ----------------------------------------------------------


@dataclass(frozen=True)
class CustomerGroup:
    """A group a customer is in now."""

    group_chat_id: uuid.UUID
    name: str
    join_time: datetime | None
    join_scene: int


@dataclass(frozen=True)
class CustomerGroupEvent:
    """A join or quit of one customer: from a change event, or (for what happened before Huike
    received events) from the membership's join time and leaving time."""

    id: uuid.UUID
    group_chat_id: uuid.UUID
    name: str
    kind: str  # "joined" or "left"
    at: datetime


def customers_in_groups(
    ctx: TenantContext, external_userid: ColumnExpressionArgument[str], group_chat_id: uuid.UUID | None = None
) -> ColumnElement[bool]:
    """SQL: the customer whose ExternalUserID is ``external_userid`` is in the group now (in any group
    when ``group_chat_id`` is None). A correlated EXISTS for the customer list's filters."""
    return present_clause(ctx.tenant_id, external_userid, group_chat_id)


def customers_of_group(ctx: TenantContext, group_chat_id: uuid.UUID) -> Select[Any]:
    """SQL: the ExternalUserIDs of the group's present external members. The customer list starts from
    these when the group is its narrowest filter (SQLite cannot turn :func:`customers_in_groups` into
    a join that starts from the group)."""
    return present_userids(ctx.tenant_id, group_chat_id)


async def group_visible(session: AsyncSession, ctx: TenantContext, group_chat_id: uuid.UUID) -> bool:
    """Whether the group is the tenant's and within the caller's data scope."""
    scope = await owner_scope(session, ctx)
    return await GroupChatRepository(session, ctx).get_in_scope(group_chat_id, scope) is not None


# a membership's join or leaving time this close to a recorded event is that event
_SAME_CHANGE = timedelta(minutes=2)


async def customer_groups(
    session: AsyncSession, ctx: TenantContext, external_userid: str
) -> tuple[list[CustomerGroup], list[CustomerGroupEvent]]:
    """The groups the customer is in now, and their joins and quits, newest first."""
    await _warm(session, ctx)
    rows = await GroupChatMemberRepository(session, ctx).of_userid(external_userid)
    changes = await MemberChangeRepository(session, ctx).of_userid(external_userid)
    names = {group.id: group.name for _, group in rows}
    current = [
        CustomerGroup(group.id, group.name, member.join_time, member.join_scene)
        for member, group in rows
        if member.left_at is None and group.status != GroupStatus.dismissed
    ]
    events = [
        CustomerGroupEvent(
            c.id,
            c.group_chat_id,
            names.get(c.group_chat_id, ""),
            "joined" if c.kind == "join" else "left",
            c.at,
        )
        for c in changes
    ]
    recorded = {
        (e.group_chat_id, e.kind): [
            x.at for x in events if (x.group_chat_id, x.kind) == (e.group_chat_id, e.kind)
        ]
        for e in events
    }
    for member, group in rows:
        for kind, at in (("joined", member.join_time), ("left", member.left_at)):
            if at is None or at <= EPOCH:
                continue
            if any(abs(at - seen) <= _SAME_CHANGE for seen in recorded.get((group.id, kind), [])):
                continue
            events.append(CustomerGroupEvent(member.id, group.id, group.name, kind, at))
    events.sort(key=lambda e: (e.at, str(e.id)), reverse=True)
    return current, events


# --- across groups: owners, overview, trend; a group's people; tags on many groups -----------------------


def _start_of_day(day: date) -> datetime:
    """Midnight (Asia/Shanghai) at the start of ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)


async def _owner_filter(
    session: AsyncSession,
    ctx: TenantContext,
    owner_ids: Sequence[uuid.UUID] | None,
    owner_userids: Sequence[str] | None,
) -> list[str] | None:
    if not owner_ids and not owner_userids:
        return None
    owners = await MemberLookup(session, ctx).userids_of(list(owner_ids)) if owner_ids else []
    return [*owners, *(owner_userids or [])]


async def _groups_in_scope(
    session: AsyncSession,
    ctx: TenantContext,
    owner_ids: Sequence[uuid.UUID] | None,
    owner_userids: Sequence[str] | None,
) -> Any:
    scope = await owner_scope(session, ctx)
    return GroupChatRepository(session, ctx).filtered(
        scope,
        owner_userids=await _owner_filter(session, ctx, owner_ids, owner_userids),
        keyword=None,
        tag_ids=None,
        created_from=None,
        created_to=None,
        statuses=None,
    )


async def list_owners(session: AsyncSession, ctx: TenantContext) -> GroupOwnerList:
    """The owners of the live groups the caller may see, most groups first (the owner filter's
    choices; an owner who left the corp keeps their UserID and has no member id)."""
    await warm_keys(session, ctx.tenant_id)
    counted = await GroupChatRepository(session, ctx).owners(await owner_scope(session, ctx))
    refs = await _owner_refs(session, ctx, [userid for userid, _ in counted])
    return GroupOwnerList(items=[GroupOwner(**refs[userid].model_dump(), groups=n) for userid, n in counted])


async def overview(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    owner_ids: Sequence[uuid.UUID] | None = None,
    owner_userids: Sequence[str] | None = None,
) -> GroupOverview:
    """Totals over the groups the caller may see (of these owners): live groups, the people in them,
    groups created today, joins and quits today and in the last 7 days (Asia/Shanghai)."""
    groups = await _groups_in_scope(session, ctx, owner_ids, owner_userids)
    today = day_of(utcnow())
    totals = await GroupChatRepository(session, ctx).totals(groups, _start_of_day(today))
    live = groups.where(GroupChat.status != GroupStatus.dismissed)
    people = await GroupChatMemberRepository(session, ctx).present_by_type(live)
    rows = await DailyStatRepository(session, ctx).of_groups_between(groups, today - timedelta(days=6), today)
    return GroupOverview(
        groups=totals["groups"],
        members=totals["members"],
        internal_members=people.get(MemberType.member, 0),
        externals=people.get(MemberType.external, 0),
        new_groups_today=totals["new_groups"],
        joins_today=sum(r.joins for r in rows if r.day == today),
        quits_today=sum(r.quits for r in rows if r.day == today),
        joins_7d=sum(r.joins for r in rows),
        quits_7d=sum(r.quits for r in rows),
        by_status={GroupStatus(k): v for k, v in totals["by_status"].items()},
    )


async def trend_of_groups(
    session: AsyncSession,
    ctx: TenantContext,
    days: int,
    *,
    owner_ids: Sequence[uuid.UUID] | None = None,
    owner_userids: Sequence[str] | None = None,
) -> Trend:
    """The per-group trend (:func:`trend`) summed over the groups the caller may see (of these owners):
    each day's total size at its end, joins and quits."""
    groups = await _groups_in_scope(session, ctx, owner_ids, owner_userids)
    today = day_of(utcnow())
    first = today - timedelta(days=days - 1)
    stats = DailyStatRepository(session, ctx)
    previous = await stats.last_sizes_before(groups, first)
    by_group: dict[uuid.UUID, list[GroupChatDailyStat]] = {}
    joins, quits = [0] * days, [0] * days
    for row in await stats.of_groups_between(groups, first, today):
        by_group.setdefault(row.group_chat_id, []).append(row)
        joins[(row.day - first).days] += row.joins
        quits[(row.day - first).days] += row.quits
    change = [0] * (days + 1)  # size differences: the sizes are their running sum
    for id, created_at, member_count in await GroupChatRepository(session, ctx).brief(groups):
        rows = by_group.get(id, [])
        if id in previous:
            size = previous[id]
        elif rows:
            size = max(0, rows[0].size - rows[0].joins + rows[0].quits)
        else:
            size = member_count
        start = 0
        if created_at > EPOCH and id not in previous:
            start = max(0, (day_of(created_at) - first).days)
        if rows:
            start = min(start, (rows[0].day - first).days)
        if start >= days:
            continue
        change[start] += size
        for row in rows:
            change[(row.day - first).days] += row.size - size
            size = row.size
    points: list[TrendPoint] = []
    size = 0
    for offset in range(days):
        size += change[offset]
        points.append(
            TrendPoint(
                day=first + timedelta(days=offset), size=size, joins=joins[offset], quits=quits[offset]
            )
        )
    return Trend(items=points)


async def list_people(
    session: AsyncSession,
    ctx: TenantContext,
    group_chat_id: uuid.UUID,
    *,
    state: MemberState = MemberState.present,
    kind: MemberType | None = None,
    offset: int = 0,
    limit: int = 50,
) -> GroupMemberPage:
    """A page of the group's people, latest joins first, named as :func:`_people` says."""
    await warm_keys(session, ctx.tenant_id)
    group = await _visible_group(session, ctx, group_chat_id)
    repository = GroupChatMemberRepository(session, ctx)
    everyone = repository.listed(group.id, state=state, kind=None)
    counts = await repository.count_by_type(everyone)
    statement = repository.listed(group.id, state=state, kind=kind)
    rows = await repository.page_of(statement, offset=offset, limit=limit)
    items = await _people(session, ctx, rows)
    members, externals = counts.get(MemberType.member, 0), counts.get(MemberType.external, 0)
    total = {None: members + externals, MemberType.member: members, MemberType.external: externals}[kind]
    return GroupMemberPage(items=items, total=total, members=members, externals=externals)


async def bulk_tags(session: AsyncSession, ctx: TenantContext, body: GroupBulkTags) -> GroupBulkTagsResult:
    """Add ``add_tag_ids`` to and remove ``remove_tag_ids`` from every group of ``group_chat_ids``
    (a group the caller may not see: 404 and nothing changes; unknown tags: 422)."""
    wanted_groups = list(dict.fromkeys(body.group_chat_ids))
    add = list(dict.fromkeys(body.add_tag_ids))
    remove = [t for t in dict.fromkeys(body.remove_tag_ids) if t not in add]
    found = await GroupChatTagRepository(session, ctx).by_ids([*add, *remove])
    unknown = [str(t) for t in [*add, *remove] if t not in found]
    if unknown:
        raise UnknownTags(tag_ids=", ".join(unknown))
    repository = GroupChatRepository(session, ctx)
    visible = await session.execute(
        repository.scoped(await owner_scope(session, ctx))
        .where(GroupChat.id.in_(wanted_groups))
        .with_only_columns(GroupChat.id)
    )
    if len(set(visible.scalars())) != len(wanted_groups):
        raise NotFound()
    added = removed = 0
    now = utcnow()
    for group_id in wanted_groups:
        for tag_id in add:
            result = await session.execute(
                insert_ignore(session, GroupChatTagLink, ["tenant_id", "group_chat_id", "tag_id"]).values(
                    id=uuid.uuid4(),
                    tenant_id=ctx.tenant_id,
                    group_chat_id=group_id,
                    tag_id=tag_id,
                    created_at=now,
                )
            )
            added += rowcount(result)
    if remove:
        result = await session.execute(
            delete(GroupChatTagLink)
            .where(
                GroupChatTagLink.tenant_id == ctx.tenant_id,
                GroupChatTagLink.group_chat_id.in_(wanted_groups),
                GroupChatTagLink.tag_id.in_(remove),
            )
            .execution_options(synchronize_session=False)
        )
        removed = rowcount(result)
    await session.flush()
    return GroupBulkTagsResult(groups=len(wanted_groups), added=added, removed=removed)
