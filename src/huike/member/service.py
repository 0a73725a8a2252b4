"""Departments and members: the full sync from WeCom, change_contact callbacks, the list views,
invitations, and what login and sessions ask about a member's access.

Full sync (``member.sync_from_wecom``, a durable job; resumable from :class:`MemberSyncState`)
----------------------------------------------------------------------------------------------------
1. *departments*: ``department/simplelist`` (app secret: the app's view). A department is read with
   ``department/get`` (for its name) when it is new or its details are older than ``DETAILS_TTL``;
   departments no longer listed are marked deleted.
2. *members*: ``user/list_id`` (cursor pages) needs the 通讯录同步 secret, which a self-built app does not
   have: WeCom (and the emulator) refuse the app secret with 48002, and the run falls back to
   ``user/simplelist`` per department, one department a page. The app secret is used on purpose: the
   app sees exactly its visibility scope, which is what ``in_scope`` means.
3. *details*: ``user/get`` for members that are new, whose listed name changed, or whose details are
   older than ``DETAILS_TTL`` (every member with ``full``); 60011 means out of scope, 60111 gone.
4. *contacts*: ``externalcontact/get_follow_user_list`` (customer-contact secret) → ``has_customer_contact``.
5. *reconcile*: members in scope that the run did not list lose scope (and access).

Each page ends with a checkpoint (commit + lease renewal); a retried job resumes at the phase and
cursor it saved. WeCom's 45009/45033/-1 are retried by the client, token expiry is refreshed by the
client, and anything left fails the attempt, which the job system retries from the checkpoint.
A rerun when nothing changed writes no member or department (only one bulk "seen" update a page) and
makes no ``user/get`` calls while the details are fresh.

Keyword search over names
-------------------------
Names are encrypted (AES-GCM with a random nonce), so SQL cannot search them. A tenant has at most a
few thousand members (5,000 planned), so the list filters by the other criteria in SQL, decrypts
page-sized chunks and matches the normalised keyword (NFKC, case-folded) as a substring of the name or
the UserID in Python, until the page is full. A blind index would only give whole-token equality,
which does not fit Chinese names (one searches 「小明」 in 「王小明」).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from huike.core.db import insert_ignore, utcnow
from huike.core.errors import NotFound
from huike.core.pagination import decode_cursor, encode_cursor
from huike.core.schemas import CursorPage
from huike.core.tasks import Checkpoint, Job, Report, create_job, no_checkpoint, no_report
from huike.core.tenancy import TenantContext
from huike.member.errors import AdminRequired, MemberNotInvitable, SyncRunning
from huike.member.models import (
    Department,
    InvitationStatus,
    Member,
    MemberInvitation,
    MemberStatus,
    MemberSyncState,
    SyncPhase,
)
from huike.member.repository import (
    SYNC_TASK,
    DepartmentRepository,
    InvitationRepository,
    MemberDepartmentRepository,
    MemberRepository,
    SyncStateRepository,
    customer_tag_counts,
)
from huike.member.schemas import (
    DepartmentNode,
    DepartmentRef,
    InvitationRead,
    MemberCustomerTag,
    MemberCustomerTags,
    MemberRead,
)
from huike.permission.schemas import RoleRef
from huike.privacy.audit.service import record
from huike.security.keys import warm_keys
from huike.wecom import wire
from huike.wecom.client import WeComClient
from huike.wecom.errors import WeComError

log = structlog.get_logger(__name__)

DETAILS_TTL = timedelta(hours=24)
DETAIL_BATCH = 50
LIST_ID_PAGE = 1000
INVITATION_LIFETIME = timedelta(days=7)
ADMIN_ROLES = frozenset({"creator", "admin"})
FORBIDDEN_ERRCODES = frozenset({48001, 48002})
OUT_OF_SCOPE_ERRCODES = frozenset({60011, 50002, 81013})
GONE_ERRCODES = frozenset({60111, 40003})
NO_DEPARTMENT = 60123


def _errcode(error: WeComError) -> int:
    try:
        return int(error.details.get("errcode", 0))
    except (TypeError, ValueError):
        return 0


async def _warm(session: AsyncSession, ctx: TenantContext) -> None:
    await warm_keys(session, ctx.tenant_id)


async def _clients(session: AsyncSession, ctx: TenantContext) -> tuple[WeComClient, WeComClient, str]:
    """The app's client (its view is the visibility scope), the customer-contact one, and the corp id."""
    from huike.wecom.service import client_for

    app, connection = await client_for(session, ctx, app_secret=True)
    contact, _ = await client_for(session, ctx)
    return app, contact, connection.corp_id


async def require_admin(session: AsyncSession, ctx: TenantContext) -> None:
    from huike.permission.service import has_permission  # roles: members.manage (sync, invite)

    if not await has_permission(session, ctx, "members.manage"):
        raise AdminRequired()


# --- applying what WeCom says ------------------------------------------------------------------------


def _set(obj: Any, name: str, value: Any) -> bool:
    """Assign only when the value differs, so that an unchanged row is never written."""
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    return True


async def _department_details(app: WeComClient, wecom_id: int) -> wire.Department | None:
    """``department/get``; None when WeCom no longer has the department (60123)."""
    try:
        payload = await app.call("GET", "department/get", params={"id": wecom_id}, ground="org.sync")
    except WeComError as error:
        if _errcode(error) == NO_DEPARTMENT or _errcode(error) in OUT_OF_SCOPE_ERRCODES:
            return None
        raise
    return wire.Department.model_validate(payload.get("department", {}))


def _apply_department(department: Department, found: wire.Department, now: datetime) -> bool:
    changed = _set(department, "name", found.name[:100])
    changed |= _set(department, "parent_wecom_id", found.parentid)
    changed |= _set(department, "order", found.order)
    changed |= _set(department, "deleted_at", None)
    department.details_synced_at = now
    return changed


async def _apply_member(
    session: AsyncSession, ctx: TenantContext, member: Member, found: wire.Member, now: datetime, corp_id: str
) -> bool:
    """Apply ``user/get``; returns whether anything the member's record shows changed. Losing access
    (WeCom status disabled or resigned) revokes the member's sessions."""
    # a member whose state was never read (just listed, or renamed) had no access to lose
    had_access = member.can_access and (member.details_synced_at is not None or member.user_id is not None)
    status = MemberStatus.from_wecom(found.status)
    changed = _set(member, "name", found.name[:100] or member.name)
    changed |= _set(member, "position", found.position[:128])
    changed |= _set(member, "status", str(status))
    changed |= _set(member, "main_department_wecom_id", found.main_department)
    changed |= _set(member, "in_scope", True)
    if status == MemberStatus.resigned:
        if member.deleted_at is None:
            member.deleted_at = now
            changed = True
    else:
        changed |= _set(member, "deleted_at", None)
    await session.flush()
    departments = found.department or ([found.main_department] if found.main_department else [])
    changed |= await MemberDepartmentRepository(session, ctx).replace(member, departments)
    member.details_synced_at = now
    if had_access and not member.can_access:
        await lose_access(session, ctx, member, corp_id, reason=f"status_{status}")
    return changed


async def lose_access(
    session: AsyncSession, ctx: TenantContext, member: Member, corp_id: str, *, reason: str
) -> int:
    """The member may no longer use Huike (R-WX-3): revoke their sessions for this tenant and stop the
    jobs they started there (queued or running), at once, and audit it. Returns the sessions revoked."""
    from huike.account.service import member_accounts, revoke_member_sessions
    from huike.job.service import stop_jobs_of

    accounts = await member_accounts(
        session, user_id=member.user_id, corp_id=corp_id, userid=member.wecom_userid
    )
    revoked = await revoke_member_sessions(session, ctx.tenant_id, accounts)
    stopped = await stop_jobs_of(session, ctx, accounts)
    await record(
        session,
        ctx,
        "member.access_revoked",
        object_type="member",
        object_id=member.id,
        details={"reason": reason, "sessions_revoked": revoked, "jobs_stopped": stopped},
    )
    log.info(
        "member.access_revoked",
        member_id=str(member.id),
        reason=reason,
        sessions_revoked=revoked,
        jobs_stopped=stopped,
    )
    return revoked


async def _mark_out_of_scope(
    session: AsyncSession,
    ctx: TenantContext,
    member: Member,
    corp_id: str,
    *,
    reason: str,
    gone: bool,
    now: datetime,
) -> bool:
    had_access = member.can_access
    changed = _set(member, "in_scope", False)
    if gone and member.deleted_at is None:
        member.deleted_at = now
        changed = True
    if had_access:
        await lose_access(session, ctx, member, corp_id, reason=reason)
    return changed


async def _refresh_member(
    session: AsyncSession,
    ctx: TenantContext,
    app: WeComClient,
    member: Member,
    now: datetime,
    corp_id: str,
    stats: Counter[str],
) -> None:
    try:
        found = await app.user_get(member.wecom_userid)
    except WeComError as error:
        code = _errcode(error)
        if code in OUT_OF_SCOPE_ERRCODES:
            if await _mark_out_of_scope(
                session, ctx, member, corp_id, reason="out_of_scope", gone=False, now=now
            ):
                stats["out_of_scope"] += 1
        elif code in GONE_ERRCODES:
            if await _mark_out_of_scope(session, ctx, member, corp_id, reason="deleted", gone=True, now=now):
                stats["deleted"] += 1
        else:
            raise
        member.details_synced_at = now
        return
    stats["details_read"] += 1
    if await _apply_member(session, ctx, member, found, now, corp_id):
        stats["updated"] += 1


# --- the full sync -------------------------------------------------------------------------------------


async def start_sync(session: AsyncSession, ctx: TenantContext, *, full: bool = False) -> Job:
    """Queue a full sync with a job row (409 while one is queued or running)."""
    from huike.wecom.service import access_connection

    await require_admin(session, ctx)
    await access_connection(session, ctx)
    # one sync state row per tenant, locked: two requests cannot both start a run (PostgreSQL)
    await session.execute(
        insert_ignore(session, MemberSyncState, ["tenant_id"]).values(
            id=uuid.uuid4(),
            tenant_id=ctx.tenant_id,
            run_id=uuid.uuid4(),
            phase=SyncPhase.done,
            mode="",
            cursor="",
            stats={},
            started_at=utcnow(),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    states = SyncStateRepository(session, ctx)
    await session.execute(states.select().with_for_update())
    running = await states.running_job()
    if running is not None:
        raise SyncRunning(job_id=str(running.id))
    job = await create_job(session, ctx, SYNC_TASK, full=full)
    await record(
        session, ctx, "member.sync_started", object_type="job", object_id=job.id, details={"full": full}
    )
    return job


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
            MemberSyncState(tenant_id=ctx.tenant_id, run_id=run_id, phase=SyncPhase.departments)
        )
        state.stats, state.started_at, state.mode, state.cursor = {}, now, "", ""
    elif state.run_id != run_id:
        state.run_id, state.phase, state.mode, state.cursor = run_id, SyncPhase.departments, "", ""
        state.stats, state.started_at, state.finished_at = {}, now, None
    elif state.phase == SyncPhase.done:
        return dict(state.stats)  # this run finished already (a duplicate delivery)
    else:
        log.info("member.sync_resumed", phase=state.phase)
    stats: Counter[str] = Counter({k: int(v) for k, v in (state.stats or {}).items()})
    app, contact, corp_id = await _clients(session, ctx)
    stale_before = state.started_at if full else min(now - DETAILS_TTL, state.started_at)

    async def save(progress: int) -> None:
        state.stats = dict(stats)
        report(progress, 100)
        await checkpoint()
        await _warm(session, ctx)

    if state.phase == SyncPhase.departments:
        await _sync_departments(session, ctx, app, run_id, stale_before, stats)
        state.phase, state.cursor = SyncPhase.members, ""
        await save(10)
    if state.phase == SyncPhase.members:
        await _sync_member_list(session, ctx, app, state, stats, save)
        state.phase, state.cursor = SyncPhase.details, ""
        await save(50)
    if state.phase == SyncPhase.details:
        members = MemberRepository(session, ctx)
        while batch := await members.needing_details(run_id, stale_before, limit=DETAIL_BATCH):
            for member in batch:
                await _refresh_member(session, ctx, app, member, utcnow(), corp_id, stats)
            await session.flush()
            await save(min(89, 50 + stats["details_read"] // DETAIL_BATCH))
        state.phase = SyncPhase.contacts
        await save(90)
    if state.phase == SyncPhase.contacts:
        await _sync_contacts(session, ctx, contact, stats)
        state.phase = SyncPhase.reconcile
        await save(95)
    if state.phase == SyncPhase.reconcile:
        for member in await MemberRepository(session, ctx).in_scope_not_seen(run_id, state.started_at):
            if await _mark_out_of_scope(
                session, ctx, member, corp_id, reason="not_listed", gone=False, now=utcnow()
            ):
                stats["out_of_scope"] += 1
        state.phase, state.finished_at = SyncPhase.done, utcnow()
        stats["members"] = await MemberRepository(session, ctx).count()
        state.stats = dict(stats)
        report(100, 100)
    log.info("member.sync_finished", **{k: int(v) for k, v in stats.items()})
    return dict(stats)


async def _sync_departments(
    session: AsyncSession,
    ctx: TenantContext,
    app: WeComClient,
    run_id: uuid.UUID,
    stale_before: datetime,
    stats: Counter[str],
) -> None:
    listed = await app.department_simplelist()
    repository = DepartmentRepository(session, ctx)
    existing = {d.wecom_id: d for d in await repository.all(include_deleted=True)}
    now = utcnow()
    seen: list[uuid.UUID] = []
    for item in listed:
        department = existing.get(item.id)
        if department is None:
            department = repository.add(
                Department(
                    tenant_id=ctx.tenant_id, wecom_id=item.id, parent_wecom_id=item.parentid, order=item.order
                )
            )
            stats["departments_created"] += 1
            existing[item.id] = department
        else:
            changed = _set(department, "parent_wecom_id", item.parentid)
            changed |= _set(department, "order", item.order)
            if changed:
                stats["departments_updated"] += 1
        stale = department.details_synced_at is None or department.details_synced_at < stale_before
        if stale or department.deleted_at is not None:
            found = await _department_details(app, item.id)
            if found is not None and _apply_department(department, found, now) and department.created_at:
                stats["departments_updated"] += 1
        if department.seen_run != run_id:
            if department.id is None:
                department.seen_run = run_id
            else:
                seen.append(department.id)
    await session.flush()
    if seen:
        await session.execute(
            update(Department)
            .where(Department.tenant_id == ctx.tenant_id, Department.id.in_(seen))
            .values(seen_run=run_id, updated_at=Department.updated_at)
            .execution_options(synchronize_session=False)
        )
    for department in await repository.not_seen(run_id):
        department.deleted_at = now
        stats["departments_deleted"] += 1
    stats["departments"] = len(listed)


async def _sync_member_list(
    session: AsyncSession,
    ctx: TenantContext,
    app: WeComClient,
    state: MemberSyncState,
    stats: Counter[str],
    save: Callable[[int], Awaitable[None]],
) -> None:
    """List the app's members page by page: user/list_id when allowed, else user/simplelist per
    department. Each page marks its members seen by this run and saves the cursor."""
    if state.mode in ("", "list_id"):
        try:
            while True:
                page = await app.user_list_id(cursor=state.cursor, limit=LIST_ID_PAGE)
                state.mode = "list_id"
                await _upsert_listed(
                    session, ctx, state.run_id, [(r.userid, None) for r in page.dept_user], stats
                )
                state.cursor = page.next_cursor
                await save(30)
                if not page.next_cursor:
                    return
        except WeComError as error:
            if _errcode(error) not in FORBIDDEN_ERRCODES or state.mode == "list_id":
                raise
            log.info("member.sync_list_id_refused", errcode=_errcode(error))
            state.mode, state.cursor = "simplelist", ""
    departments = sorted(d.wecom_id for d in await DepartmentRepository(session, ctx).all())
    after = int(state.cursor) if state.cursor else None
    todo = [d for d in departments if after is None or d > after]
    for index, department_id in enumerate(todo):
        try:
            payload = await app.call(
                "GET", "user/simplelist", params={"department_id": department_id}, ground="org.sync"
            )
        except WeComError as error:
            if _errcode(error) not in (NO_DEPARTMENT, *OUT_OF_SCOPE_ERRCODES):
                raise
            payload = {"userlist": []}
        users = [(str(u["userid"]), str(u.get("name") or "")) for u in payload.get("userlist", [])]
        await _upsert_listed(session, ctx, state.run_id, users, stats)
        state.cursor = str(department_id)
        await save(10 + 40 * (index + 1) // max(1, len(todo)))


async def _upsert_listed(
    session: AsyncSession,
    ctx: TenantContext,
    run_id: uuid.UUID,
    users: Sequence[tuple[str, str | None]],
    stats: Counter[str],
) -> None:
    if not users:
        return
    repository = MemberRepository(session, ctx)
    existing = await repository.by_userids(userid for userid, _ in users)
    now = utcnow()
    seen: list[uuid.UUID] = []
    for userid, name in users:
        member = existing.get(userid)
        if member is None:
            member = repository.add(
                Member(
                    tenant_id=ctx.tenant_id,
                    wecom_userid=userid,
                    name=name or None,
                    in_scope=True,
                    seen_run=run_id,
                    last_synced_at=now,
                    details_synced_at=None,
                )
            )
            existing[userid] = member
            stats["created"] += 1
            continue
        if member.seen_run == run_id and member.id not in seen:
            continue  # a member of two departments, listed again
        if name and member.name != name:
            member.name, member.details_synced_at = name, None  # read the details again
        if not member.in_scope:
            member.details_synced_at = None  # back in scope: the details decide
        if member.id not in seen:
            seen.append(member.id)
    await session.flush()
    for start in range(0, len(seen), 500):
        await session.execute(
            update(Member)
            .where(Member.tenant_id == ctx.tenant_id, Member.id.in_(seen[start : start + 500]))
            .values(seen_run=run_id, last_synced_at=now, updated_at=Member.updated_at)
            .execution_options(synchronize_session=False)
        )
    marked = set(seen)
    for member in existing.values():  # keep the loaded objects in step with the bulk update
        if member.id in marked:
            set_committed_value(member, "seen_run", run_id)
            set_committed_value(member, "last_synced_at", now)
    stats["listed"] += len(users)


async def _sync_contacts(
    session: AsyncSession, ctx: TenantContext, contact: WeComClient, stats: Counter[str]
) -> None:
    try:
        followers = set(await contact.get_follow_user_list())
    except WeComError as error:
        if error.retryable:
            raise
        log.info("member.sync_contacts_unavailable", code=error.code)
        return
    for member in await MemberRepository(session, ctx).all():
        if _set(member, "has_customer_contact", member.wecom_userid in followers):
            stats["contact_flags_changed"] += 1


# --- change_contact callbacks -------------------------------------------------------------------------


def _event_time(fields: dict[str, Any]) -> int:
    try:
        return int(str(fields.get("CreateTime", "0")))
    except ValueError:
        return 0


async def on_user_changed(session: AsyncSession, ctx: TenantContext, fields: dict[str, Any]) -> None:
    """create_user / update_user (also a NewUserID rename): compare the event's time with the member's
    and re-read the member from WeCom (the inbox keeps no names, and the latest state wins)."""
    await _warm(session, ctx)
    when = _event_time(fields)
    userid = str(fields.get("UserID", ""))
    new_userid = str(fields.get("NewUserID", "") or "")
    if not userid:
        return
    app, _, corp_id = await _clients(session, ctx)
    members = MemberRepository(session, ctx)
    member = await members.by_userid(userid)
    if member is not None and when < member.event_time:
        log.info("member.event_stale", change="update_user")
        return
    if new_userid and new_userid != userid:
        member = await _rename(session, ctx, member, new_userid, when, corp_id)
        userid = new_userid
    elif member is None:
        member = await members.by_userid(userid)
    now = utcnow()
    try:
        found = await app.user_get(userid)
    except WeComError as error:
        code = _errcode(error)
        if code not in OUT_OF_SCOPE_ERRCODES | GONE_ERRCODES:
            raise
        if member is not None:
            await _mark_out_of_scope(
                session,
                ctx,
                member,
                corp_id,
                reason="deleted" if code in GONE_ERRCODES else "out_of_scope",
                gone=code in GONE_ERRCODES,
                now=now,
            )
            member.event_time = max(member.event_time, when)
        return
    if member is None:
        member = members.add(Member(tenant_id=ctx.tenant_id, wecom_userid=userid, name=found.name or None))
        await session.flush()
    await _apply_member(session, ctx, member, found, now, corp_id)
    member.last_synced_at = now
    member.event_time = max(member.event_time, when)


async def _rename(
    session: AsyncSession, ctx: TenantContext, member: Member | None, new_userid: str, when: int, corp_id: str
) -> Member | None:
    """UserID → NewUserID. If the new id is already known (a sync listed it first), the old row
    hands over its Huike account link and invitation and is marked gone."""
    from huike.account.service import relink_wecom

    members = MemberRepository(session, ctx)
    target = await members.by_userid(new_userid)
    if member is None:
        return target
    if target is None:
        member.wecom_userid = new_userid
        await session.flush()
        target = member
    elif target.id != member.id:
        if member.user_id is not None and target.user_id is None:
            target.user_id, member.user_id = member.user_id, None
        invitations = InvitationRepository(session, ctx)
        old_invitation = await invitations.of_member(member.id)
        if old_invitation is not None and await invitations.of_member(target.id) is None:
            old_invitation.member_id = target.id
        member.in_scope, member.deleted_at = False, member.deleted_at or utcnow()
        member.event_time = max(member.event_time, when)
        await session.flush()
    if target.user_id is not None:
        await relink_wecom(session, target.user_id, corp_id=corp_id, userid=new_userid)
    await record(session, ctx, "member.userid_changed", object_type="member", object_id=target.id, details={})
    return target


async def on_user_deleted(session: AsyncSession, ctx: TenantContext, fields: dict[str, Any]) -> None:
    """delete_user: the member left, or was taken out of the app's visibility scope. Access ends now."""
    await _warm(session, ctx)
    when = _event_time(fields)
    member = await MemberRepository(session, ctx).by_userid(str(fields.get("UserID", "")))
    if member is None:
        return
    if when < member.event_time:
        log.info("member.event_stale", change="delete_user")
        return
    from huike.wecom.service import access_connection

    connection = await access_connection(session, ctx)
    await _mark_out_of_scope(
        session, ctx, member, connection.corp_id, reason="deleted", gone=True, now=utcnow()
    )
    member.event_time = when


async def on_party_changed(session: AsyncSession, ctx: TenantContext, fields: dict[str, Any]) -> None:
    """create_party / update_party: re-read the department (the inbox keeps no names)."""
    await _warm(session, ctx)
    when = _event_time(fields)
    try:
        wecom_id = int(str(fields.get("Id", "")))
    except ValueError:
        return
    repository = DepartmentRepository(session, ctx)
    department = await repository.by_wecom_id(wecom_id)
    if department is not None and when < department.event_time:
        log.info("member.event_stale", change="party")
        return
    app, _, _ = await _clients(session, ctx)
    found = await _department_details(app, wecom_id)
    now = utcnow()
    if found is None:
        if department is not None and department.deleted_at is None:
            department.deleted_at = now
            department.event_time = when
        return
    if department is None:
        department = repository.add(Department(tenant_id=ctx.tenant_id, wecom_id=wecom_id))
    _apply_department(department, found, now)
    department.event_time = max(department.event_time or 0, when)


async def on_party_deleted(session: AsyncSession, ctx: TenantContext, fields: dict[str, Any]) -> None:
    await _warm(session, ctx)
    when = _event_time(fields)
    try:
        wecom_id = int(str(fields.get("Id", "")))
    except ValueError:
        return
    department = await DepartmentRepository(session, ctx).by_wecom_id(wecom_id)
    if department is None or when < department.event_time:
        return
    if department.deleted_at is None:
        department.deleted_at = utcnow()
    department.event_time = when


# --- reading -------------------------------------------------------------------------------------------


def normalise_keyword(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _matches(member: Member, keyword: str) -> bool:
    name = normalise_keyword(member.name or "")
    return keyword in name or keyword in member.wecom_userid.casefold()


async def _department_refs(session: AsyncSession, ctx: TenantContext) -> dict[int, Department]:
    return {d.wecom_id: d for d in await DepartmentRepository(session, ctx).all(include_deleted=True)}


def _ref(wecom_id: int, departments: dict[int, Department]) -> DepartmentRef:
    found = departments.get(wecom_id)
    return DepartmentRef(
        id=found.id if found else None, wecom_id=wecom_id, name=found.name if found else None
    )


async def _roles(
    session: AsyncSession, ctx: TenantContext, members: Sequence[Member]
) -> dict[uuid.UUID, RoleRef]:
    from huike.permission.service import member_roles  # the permission domain reads member tables

    return await member_roles(session, ctx, [m.id for m in members])


def _read(member: Member, links: list[int], departments: dict[int, Department], role: RoleRef) -> MemberRead:
    main = member.main_department_wecom_id
    return MemberRead(
        id=member.id,
        wecom_userid=member.wecom_userid,
        name=member.name,
        position=member.position,
        status=MemberStatus(member.status),
        in_scope=member.in_scope,
        has_customer_contact=member.has_customer_contact,
        activated=member.user_id is not None,
        main_department=_ref(main, departments) if main is not None else None,
        departments=[_ref(d, departments) for d in links],
        last_synced_at=member.last_synced_at,
        deleted_at=member.deleted_at,
        role=role,
    )


async def list_members(
    session: AsyncSession,
    ctx: TenantContext,
    *,
    limit: int,
    cursor: str | None,
    department_id: uuid.UUID | None = None,
    keyword: str | None = None,
    status: MemberStatus | None = None,
    in_scope: bool | None = None,
) -> CursorPage[MemberRead]:
    """Members ordered by UserID, with keyset pagination (the cursor is the last UserID)."""
    await _warm(session, ctx)
    after = decode_cursor(cursor, 1)[0] if cursor else None
    department_wecom_id = None
    if department_id is not None:
        department = await DepartmentRepository(session, ctx).get(department_id)
        if department is None:
            return CursorPage[MemberRead](items=[], next_cursor=None)
        department_wecom_id = department.wecom_id
    repository = MemberRepository(session, ctx)
    wanted = normalise_keyword(keyword or "")
    found: list[Member] = []
    chunk = limit + 1 if not wanted else max(200, limit + 1)
    while len(found) <= limit:
        rows = await repository.page(
            after=after,
            limit=chunk,
            status=str(status) if status else None,
            in_scope=in_scope,
            department_wecom_id=department_wecom_id,
        )
        found.extend(row for row in rows if not wanted or _matches(row, wanted))
        if len(rows) < chunk:
            break
        after = rows[-1].wecom_userid
    page = found[:limit]
    links = await MemberDepartmentRepository(session, ctx).of_members([m.id for m in page])
    departments = await _department_refs(session, ctx)
    roles = await _roles(session, ctx, page)
    return CursorPage[MemberRead](
        items=[_read(m, links.get(m.id, []), departments, roles[m.id]) for m in page],
        next_cursor=encode_cursor(page[-1].wecom_userid) if len(found) > limit else None,
    )


async def get_member(session: AsyncSession, ctx: TenantContext, member_id: uuid.UUID) -> MemberRead:
    await _warm(session, ctx)
    member = await MemberRepository(session, ctx).get_or_404(member_id)
    links = await MemberDepartmentRepository(session, ctx).of_members([member.id])
    roles = await _roles(session, ctx, [member])
    return _read(member, links[member.id], await _department_refs(session, ctx), roles[member.id])


async def department_tree(session: AsyncSession, ctx: TenantContext) -> list[DepartmentNode]:
    """The live departments as a tree (children by WeCom's order, larger first)."""
    departments = await DepartmentRepository(session, ctx).all()
    counts = await MemberDepartmentRepository(session, ctx).counts()
    nodes = {
        d.wecom_id: DepartmentNode(
            id=d.id,
            wecom_id=d.wecom_id,
            name=d.name,
            order=d.order,
            member_count=counts.get(d.wecom_id, 0),
            children=[],
        )
        for d in departments
    }
    roots: list[DepartmentNode] = []
    for d in departments:
        parent = nodes.get(d.parent_wecom_id) if d.parent_wecom_id != d.wecom_id else None
        (parent.children if parent is not None else roots).append(nodes[d.wecom_id])

    def sort(items: list[DepartmentNode]) -> None:
        items.sort(key=lambda n: (-n.order, n.wecom_id))
        for item in items:
            sort(item.children)

    sort(roots)
    return roots


# --- invitations and access ---------------------------------------------------------------------------


async def invite(session: AsyncSession, ctx: TenantContext, member_id: uuid.UUID) -> InvitationRead:
    """An admin invites a member: a pending membership (role member) for the member's WeCom UserID,
    valid 7 days; a WeCom QR login by that UserID activates it (R-WX-2)."""
    await _warm(session, ctx)
    member = await MemberRepository(session, ctx).get_or_404(member_id)
    await require_admin(session, ctx)
    if member.deleted_at is not None:
        raise MemberNotInvitable(reason="left")
    if not member.in_scope:
        raise MemberNotInvitable(reason="out_of_scope")
    if member.status == MemberStatus.disabled:
        raise MemberNotInvitable(reason="disabled")
    if member.user_id is not None:
        raise MemberNotInvitable(reason="already_active")
    invitations = InvitationRepository(session, ctx)
    invitation = await invitations.of_member(member.id)
    now = utcnow()
    if invitation is None:
        invitation = invitations.add(MemberInvitation(tenant_id=ctx.tenant_id, member_id=member.id))
    invitation.role, invitation.status, invitation.invited_by = (
        "member",
        InvitationStatus.pending,
        ctx.user_id,
    )
    invitation.expires_at, invitation.accepted_at = now + INVITATION_LIFETIME, None
    await session.flush()
    await record(
        session,
        ctx,
        "member.invited",
        object_type="member",
        object_id=member.id,
        details={"role": "member", "invitation": str(invitation.id)},
    )
    return InvitationRead.model_validate(invitation)


@dataclass(frozen=True, slots=True)
class LoginMember:
    """What a WeCom QR login needs to know about the UserID in this tenant."""

    member: Member
    invitation: MemberInvitation | None

    @property
    def invitation_pending(self) -> bool:
        return self.invitation is not None and self.invitation.status == InvitationStatus.pending

    @property
    def invitation_valid(self) -> bool:
        return (
            self.invitation_pending and self.invitation is not None and self.invitation.expires_at > utcnow()
        )


async def login_member(session: AsyncSession, tenant_id: uuid.UUID, userid: str) -> LoginMember | None:
    ctx = TenantContext.system(tenant_id)
    await _warm(session, ctx)
    member = await MemberRepository(session, ctx).by_userid(userid)
    if member is None:
        return None
    return LoginMember(member, await InvitationRepository(session, ctx).of_member(member.id))


async def link_user(session: AsyncSession, found: LoginMember, user_id: uuid.UUID) -> None:
    """A member's WeCom login reached a Huike account: remember it (session checks use the link)."""
    if found.member.user_id != user_id:
        found.member.user_id = user_id
        await session.flush()


async def activate(session: AsyncSession, found: LoginMember, user_id: uuid.UUID) -> str:
    """Accept the member's pending invitation for ``user_id``; returns the invited role."""
    invitation = found.invitation
    assert invitation is not None
    invitation.status, invitation.accepted_at = InvitationStatus.accepted, utcnow()
    await link_user(session, found, user_id)
    ctx = TenantContext(found.member.tenant_id, user_id)
    await record(
        session,
        ctx,
        "member.activated",
        object_type="member",
        object_id=found.member.id,
        details={"role": invitation.role, "invitation": str(invitation.id)},
    )
    return invitation.role


async def member_for_user(session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> Member | None:
    await _warm(session, ctx)
    return await MemberRepository(session, ctx).by_user(user_id)


async def customer_tags(
    session: AsyncSession, ctx: TenantContext, member_id: uuid.UUID
) -> MemberCustomerTags:
    """R-ADM-1 「查看成员…成员给客户添加的标签」: the corp tags the member put on their customers (live
    relations), with how many of their customers carry each. A missing or another tenant's member is
    404; another member's tags need a data scope that covers them (403 ``permission.member_outside_
    scope`` otherwise), and each view of them writes one F4 row (``member.tags_viewed``, the member's
    id only). One's own tags write none."""
    from huike.permission import service as permission_service  # the permission domain reads member tables

    if not await MemberRepository(session, ctx).exists(member_id):
        raise NotFound()
    await permission_service.require_members_visible(session, ctx, [member_id])
    await permission_service.audit_member_view(session, ctx, [member_id], "tags")
    counts = await customer_tag_counts(session, ctx, member_id)
    return MemberCustomerTags(
        member_id=member_id,
        items=[
            MemberCustomerTag(
                id=c.tag_id, name=c.name, group_id=c.group_id, group_name=c.group_name, customers=c.customers
            )
            for c in counts
        ],
    )
