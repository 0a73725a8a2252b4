"""Customers: the full sync from WeCom, change_external_contact callbacks, the list with its filters,
details, remark edits, bulk tagging, lost-customer alerts.

Full sync (``external_contact.sync_from_wecom``; resumable from :class:`ContactSyncState`)
----------------------------------------------------------------------------------------------------
1. *listing*: ``get_follow_user_list`` → the members with customer contact, kept in the state row.
2. *pages*: those UserIDs in chunks of 100, each through ``batch/get_by_user`` with cursor paging
   (limit 100). Each page upserts customers, relations, remark mobiles and tag links, then saves the
   chunk and cursor and checkpoints (commit + lease renewal): a retried job resumes at that page.
   New rows are written as plain rows (one executemany a table, encrypted columns sealed by
   :func:`~huike.security.fields.sealed_rows`), changed ones through the ORM; see :class:`Applier`.
3. *reconcile*: only after the complete pass, live relations of the listed members that the run did
   not see (and that no callback confirmed since the run started) become ``removed``.

A rerun when nothing changed writes no customer, relation, tag link or timeline row: each row keeps
a SHA-256 of what WeCom said (``content_hash``) and is only written when it differs; the one write a
page makes is a bulk "seen by this run" update of the relations. 45009/45033/-1 are retried by the
client and token expiry is refreshed by it; what is left fails the attempt, and the job system
retries from the last checkpoint.

Order tolerance
---------------
Callbacks re-read ``externalcontact/get`` (events carry ids only) and store what WeCom says *now*.
Status changes carry the event's CreateTime, kept per relation (``wecom_event_time``): an event older
than the relation's is ignored, and one of the same time whose status is already applied is a
duplicate. A sync page read before a relation's status last changed does not revive it, and a
relation confirmed by a callback after a sync began is not reconciled away by that sync.

Keyword search over encrypted names and remarks
-----------------------------------------------
Names, corp names and remarks are AES-GCM encrypted with random nonces, so SQL cannot search them,
and a tenant may have 2,000,000 customers, so decrypting to scan is out. Each customer has a set of
*keyword tokens* (``external_contact_keywords``): the truncated HMAC-SHA256, under the tenant's
blind-index key, of every character and every pair of adjacent characters of its normalised (NFKC,
case-folded) nickname, corp name and its relations' remarks and remark corp names. A keyword becomes
the tokens of its characters (one character) or adjacent pairs (longer words); customers having all
of them are candidates (one indexed GROUP BY over ``(tenant_id, token)``), and each candidate is
confirmed by decrypting it and matching the keyword as a substring, which removes the rare pair
that matched out of order. Substrings of Chinese names work (「小明」 finds 「王小明」), which a
whole-value blind index could not do. Without the key the tokens reveal only equality of grams
within one tenant; they are rebuilt when a text changes (``keywords_hash``) and by
:func:`rebuild_keywords` after ``huike keys rotate --index``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import unicodedata
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import insert_ignore, utcnow
from huike.core.errors import NotFound
from huike.core.pagination import decode_keyset, encode_cursor
from huike.core.schemas import CursorPage
from huike.core.tasks import Checkpoint, Job, Report, create_job, no_checkpoint, no_report
from huike.core.tenancy import TenantContext
from huike.external_contact.errors import (
    GroupRequired,
    InvalidMobile,
    NothingToChange,
    NothingToTag,
    RelationGone,
    SyncRunning,
    UnknownGroup,
    UnknownTags,
)
from huike.external_contact.filters import Resolved, sort_key
from huike.external_contact.models import (
    LIVE_STATUSES,
    LOST_STATUSES,
    Alert,
    AlertKind,
    BulkTagOperation,
    ContactEvent,
    ContactStatus,
    ContactSyncState,
    ContactTag,
    ContactType,
    EventKind,
    ExternalContact,
    FollowRelation,
    RelationStatus,
    RemarkMobile,
    SyncPhase,
)
from huike.external_contact.repository import (
    BULK_TAG_TASK,
    SYNC_TASK,
    AlertRepository,
    BulkTagRepository,
    ContactRepository,
    EventRepository,
    FollowRepository,
    KeywordRepository,
    MobileRepository,
    SyncStateRepository,
    TagLinkRepository,
    department_member_ids,
    live_tags,
    member_ids_by_userid,
    member_user_ids,
    members_by_id,
    refresh_statistics,
    tags_by_wecom_id,
    visible_member_ids,
)
from huike.external_contact.schemas import (
    AlertPage,
    AlertRead,
    BulkTagIn,
    ContactDetail,
    ContactFilters,
    ContactRead,
    CustomerGroupRef,
    CustomerTagRef,
    FollowRelationEdit,
    FollowRelationRead,
    FollowRelationTagsIn,
    GroupMembership,
    MemberRef,
    RevealedMobiles,
    RevealRead,
    TimelineItem,
)
from huike.privacy.audit.service import record
from huike.security.blind_index import blind_index_terms
from huike.security.fields import sealed_rows
from huike.security.keys import KeyFamily, cached_scope_keys, scope_of, warm_keys
from huike.tag.models import Tag
from huike.wecom import wire
from huike.wecom.client import WeComClient
from huike.wecom.errors import InvalidExternalUserId, NotExternalContact, WeComError

log = structlog.get_logger(__name__)

USER_CHUNK = 100  # batch/get_by_user: at most 100 userids
PAGE_LIMIT = 100  # and at most 100 rows a page
RECONCILE_BATCH = 500
FAILURES_KEPT = 1000
ANALYZE_AFTER = 1000  # relations a sync creates before it refreshes the planner's statistics
TOKEN_CACHE = 200_000  # grams whose keyword token a sync keeps (a few tens of MB at most)
ADMIN_ROLES = ("creator", "admin")
TRANSFER_SOURCE = "DELETE_BY_TRANSFER"


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(max(0, seconds), UTC)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()


def _errcode(error: WeComError) -> int:
    try:
        return int(error.details.get("errcode", 0))
    except (TypeError, ValueError):
        return 0


# --- keyword tokens --------------------------------------------------------------------------------


def normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def grams(text: str) -> set[str]:
    found: set[str] = set()
    for word in normalise(text).split():
        found.update(word)
        found.update(word[i : i + 2] for i in range(len(word) - 1))
    return found


def query_grams(keyword: str) -> list[str]:
    wanted: list[str] = []
    for word in normalise(keyword).split():
        parts = [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]
        wanted.extend(g for g in parts if g not in wanted)
    return wanted


def _token(key: bytes, version: int, gram: str) -> str:
    return f"v{version}:" + hmac.new(key, f"kw|{gram}".encode(), hashlib.sha256).hexdigest()[:24]


async def _index_key(session: AsyncSession, ctx: TenantContext, *, create: bool) -> tuple[bytes, int] | None:
    scope = scope_of(ctx.tenant_id)
    keys = cached_scope_keys(session.sync_session, scope, KeyFamily.blind_index)
    if keys is None or keys.active is None:
        await warm_keys(session, ctx.tenant_id, families=(KeyFamily.blind_index,), create=create)
        keys = cached_scope_keys(session.sync_session, scope, KeyFamily.blind_index)
    if keys is None or keys.active is None:
        return None
    return keys.keys[keys.active], keys.active


def _texts(contact: ExternalContact, relations: Iterable[FollowRelation]) -> list[str]:
    texts = [contact.name or "", contact.corp_name or ""]
    for relation in relations:
        texts += [relation.remark or "", relation.remark_corp_name or ""]
    return [t for t in texts if t]


def _matches(texts: Sequence[str], keyword: str) -> bool:
    normalised = [normalise(t) for t in texts]
    return all(any(word in text for text in normalised) for word in normalise(keyword).split())


async def _reindex(
    session: AsyncSession,
    ctx: TenantContext,
    contact: ExternalContact,
    relations: Iterable[FollowRelation],
    *,
    new: bool,
) -> bool:
    return bool(await _reindex_many(session, ctx, [(contact, list(relations), new)]))


async def _reindex_many(
    session: AsyncSession,
    ctx: TenantContext,
    items: Sequence[tuple[ExternalContact, Sequence[FollowRelation], bool]],
) -> int:
    """Rebuild the keyword tokens of the customers whose texts changed (``new``: none stored yet)
    with one DELETE and one INSERT for all of them; the hash is set before the flush, so a new
    customer is inserted with it. Returns how many were rebuilt."""
    stale, rows, changed = await _keyword_rows(session, ctx, items)
    if changed:
        await session.flush()
        await KeywordRepository(session, ctx).replace_many(stale, rows)
    return changed


async def _keyword_rows(
    session: AsyncSession,
    ctx: TenantContext,
    items: Sequence[tuple[ExternalContact, Sequence[FollowRelation], bool]],
    tokens: dict[tuple[int, str], str] | None = None,
) -> tuple[list[uuid.UUID], list[dict[str, Any]], int]:
    """What :func:`_reindex_many` writes, without writing it: the customers whose tokens go, the
    token rows, how many customers changed (their ``keywords_hash`` is set). ``tokens``: a cache of
    gram → token kept by the caller (a sync computes each gram's HMAC once per run, not per row)."""
    key: tuple[bytes, int] | None = None
    stale: list[uuid.UUID] = []
    rows: list[dict[str, Any]] = []
    changed = 0
    cache: dict[tuple[int, str], str] = {} if tokens is None else tokens
    for contact, relations, new in items:
        texts = _texts(contact, relations)
        digest = _digest(sorted(texts))
        if not new and contact.keywords_hash == digest:
            continue
        if key is None:
            key = await _index_key(session, ctx, create=True)
            assert key is not None
        found: set[str] = set()
        for text in texts:
            for gram in grams(text):
                token = cache.get((key[1], gram))
                if token is None:
                    token = cache[(key[1], gram)] = _token(key[0], key[1], gram)
                found.add(token)
        rows.extend({"tenant_id": ctx.tenant_id, "token": t, "contact_id": contact.id} for t in sorted(found))
        if not new:
            stale.append(contact.id)
        contact.keywords_hash = digest
        changed += 1
    if len(cache) > TOKEN_CACHE:
        cache.clear()
    return stale, rows, changed


async def rebuild_keywords(session: AsyncSession, ctx: TenantContext, *, batch: int = 500) -> int:
    """Rebuild every customer's keyword tokens (after an index key rotation). Returns the count."""
    await warm_keys(session, ctx.tenant_id)
    contacts = ContactRepository(session, ctx)
    done, last = 0, None
    while True:
        statement = contacts.select().order_by(ExternalContact.id).limit(batch)
        if last is not None:
            statement = statement.where(ExternalContact.id > last)
        rows = (await session.execute(statement)).scalars().all()
        if not rows:
            return done
        relations = await FollowRepository(session, ctx).of_contacts([c.id for c in rows])
        by_contact: dict[uuid.UUID, list[FollowRelation]] = {}
        for relation in relations:
            by_contact.setdefault(relation.contact_id, []).append(relation)
        for contact in rows:
            contact.keywords_hash = ""
        done += await _reindex_many(session, ctx, [(c, by_contact.get(c.id, []), False) for c in rows])
        last = rows[-1].id


# --- applying what WeCom says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Follow:
    """One relation as WeCom describes it (batch's follow_info or get's follow_user)."""

    userid: str
    remark: str
    description: str
    createtime: int
    tag_ids: tuple[str, ...]
    remark_corp_name: str
    remark_mobiles: tuple[str, ...]
    add_way: int
    oper_userid: str
    state: str

    @classmethod
    def from_info(cls, info: wire.FollowInfo) -> Follow:
        return cls(
            info.userid,
            info.remark,
            info.description,
            info.createtime,
            tuple(info.tag_id),
            info.remark_corp_name,
            tuple(info.remark_mobiles),
            info.add_way,
            info.oper_userid,
            info.state,
        )

    @classmethod
    def from_user(cls, user: wire.FollowUser) -> Follow:
        tags = tuple(t.tag_id for t in user.tags if t.tag_id and t.type != 2)
        return cls(
            user.userid,
            user.remark,
            user.description,
            user.createtime,
            tags,
            user.remark_corp_name,
            tuple(user.remark_mobiles),
            user.add_way,
            user.oper_userid,
            user.state,
        )


def _contact_hash(found: wire.ExternalContact) -> str:
    corp = found.corp_name if found.type == 2 else ""
    return _digest(found.name, found.type, corp)


def _relation_hash(follow: Follow, tag_ids: Sequence[uuid.UUID]) -> str:
    return _digest(
        follow.remark,
        follow.description,
        follow.remark_corp_name,
        list(follow.remark_mobiles),
        follow.add_way,
        follow.state,
        follow.createtime,
        follow.oper_userid,
        sorted(str(t) for t in tag_ids),
    )


def _event_values(
    ctx: TenantContext,
    contact_id: uuid.UUID,
    kind: EventKind,
    *,
    relation: FollowRelation | None = None,
    tag_id: uuid.UUID | None = None,
    source: str,
    reason: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A timeline row's columns (every one, so rows can be inserted together)."""
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "tenant_id": ctx.tenant_id,
        "contact_id": contact_id,
        "follow_id": relation.id if relation is not None else None,
        "member_id": relation.member_id if relation is not None else None,
        "kind": str(kind),
        "tag_id": tag_id,
        "source": source,
        "reason": reason,
        "actor_user_id": ctx.user_id,
        "occurred_at": when or now,
        "created_at": now,
    }


def _event(
    ctx: TenantContext,
    contact_id: uuid.UUID,
    kind: EventKind,
    *,
    relation: FollowRelation | None = None,
    tag_id: uuid.UUID | None = None,
    source: str,
    reason: str | None = None,
    when: datetime | None = None,
) -> ContactEvent:
    return ContactEvent(
        **_event_values(
            ctx, contact_id, kind, relation=relation, tag_id=tag_id, source=source, reason=reason, when=when
        )
    )


def _table(model: type[Any]) -> Table:
    """The model's table, for a Core ``insert`` of plain rows (one executemany, None values kept)."""
    return cast(Table, model.__table__)


def _link_values(ctx: TenantContext, relation: FollowRelation, tag_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": ctx.tenant_id,
        "follow_id": relation.id,
        "contact_id": relation.contact_id,
        "tag_id": tag_id,
    }


@dataclass
class RunCache:
    """What one full sync looks up once instead of once a page: members by UserID and tags by WeCom
    id (a sync reads WeCom as of its run; both were synced before it), and keyword tokens by gram."""

    members: dict[str, uuid.UUID | None] = field(default_factory=dict)
    tags: dict[str, uuid.UUID | None] = field(default_factory=dict)
    tokens: dict[tuple[int, str], str] = field(default_factory=dict)

    async def member_ids(
        self, session: AsyncSession, ctx: TenantContext, userids: set[str]
    ) -> dict[str, uuid.UUID]:
        return await _cached(
            self.members, userids, lambda missing: member_ids_by_userid(session, ctx, missing)
        )

    async def tag_ids(
        self, session: AsyncSession, ctx: TenantContext, wecom_ids: set[str]
    ) -> dict[str, uuid.UUID]:
        return await _cached(self.tags, wecom_ids, lambda missing: tags_by_wecom_id(session, ctx, missing))


async def _cached(
    cache: dict[str, uuid.UUID | None],
    keys: set[str],
    fetch: Callable[[set[str]], Awaitable[dict[str, uuid.UUID]]],
) -> dict[str, uuid.UUID]:
    """``keys`` from ``cache``, the missing ones fetched once (an unknown key is remembered as None)."""
    missing = keys - cache.keys()
    if missing:
        found = await fetch(missing)
        cache.update({k: found.get(k) for k in missing})
    return {k: v for k in keys if (v := cache[k]) is not None}


class Applier:
    """Upserts customers and relations as WeCom describes them, writing only what changed.

    With a :class:`RunCache` (the full sync) new customers, relations and remark mobiles are not
    put in the session: they are inserted as plain rows, one executemany a table, their encrypted
    columns sealed by :func:`huike.security.fields.sealed_rows`; changed rows still go through the
    ORM. Without one (a callback) every row is an ORM object the caller can keep using."""

    def __init__(
        self,
        session: AsyncSession,
        ctx: TenantContext,
        *,
        source: str,
        read_at: datetime,
        run: RunCache | None = None,
    ) -> None:
        self.session, self.ctx, self.source, self.read_at, self.run = session, ctx, source, read_at, run
        self.contacts: list[ExternalContact] = []  # new ones, with a RunCache only
        self.stats: Counter[str] = Counter()
        self.seen: list[uuid.UUID] = []
        # rows are added parents first (no ORM relationships order the INSERTs for us)
        self.relations: list[FollowRelation] = []
        self.children: list[Any] = []
        # tag links and timeline rows are many and plain: inserted as rows, not as ORM objects
        self.links: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.rows: list[Any] = []  # what apply() put in or loaded into the session

    async def apply(self, items: Sequence[tuple[wire.ExternalContact, Follow]]) -> dict[str, ExternalContact]:
        if not items:
            return {}
        session, ctx = self.session, self.ctx
        contacts = ContactRepository(session, ctx)
        run = self.run
        existing = await contacts.by_external_userids(found.external_userid for found, _ in items)
        relations = await FollowRepository(session, ctx).of_contacts([c.id for c in existing.values()])
        by_key = {(r.contact_id, r.member_userid): r for r in relations}
        links = await TagLinkRepository(session, ctx).of_follows([r.id for r in relations])
        userids = {f.userid for _, f in items}
        wecom_tags = {t for _, f in items for t in f.tag_ids}
        if run is None:
            members = await member_ids_by_userid(session, ctx, userids)
            tags = await tags_by_wecom_id(session, ctx, wecom_tags)
        else:
            members = await run.member_ids(session, ctx, userids)
            tags = await run.tag_ids(session, ctx, wecom_tags)
        dirty: dict[uuid.UUID, bool] = {}  # contact id -> new (keywords to rebuild)
        touched: set[uuid.UUID] = set()  # contacts whose status may change
        stored_added = {c.id: c.added_at for c in existing.values()}
        for found, follow in items:
            contact = existing.get(found.external_userid)
            new_contact = contact is None
            if contact is None:
                contact = ExternalContact(
                    tenant_id=ctx.tenant_id,
                    external_userid=found.external_userid,
                    added_at=_ts(follow.createtime),
                )
                if run is None:
                    contacts.add(contact)
                else:
                    self.contacts.append(contact)
                self._contact_fields(contact, found)
                contact.id = uuid.uuid4()
                existing[found.external_userid] = contact
                self.stats["contacts_created"] += 1
                dirty[contact.id] = True
            elif contact.content_hash != _contact_hash(found):
                self._contact_fields(contact, found)
                self.stats["contacts_updated"] += 1
                dirty.setdefault(contact.id, False)
            if _ts(follow.createtime) < contact.added_at:
                contact.added_at = _ts(follow.createtime)
            tag_ids = sorted({tags[t] for t in follow.tag_ids if t in tags})
            self.stats["unknown_tags"] += sum(1 for t in follow.tag_ids if t not in tags)
            relation = by_key.get((contact.id, follow.userid))
            if relation is None:
                relation = self._new_relation(contact, follow, members.get(follow.userid), tag_ids)
                by_key[(contact.id, follow.userid)] = relation
                links[relation.id] = set(tag_ids)
                dirty.setdefault(contact.id, new_contact)
                touched.add(contact.id)
                self.stats["relations_created"] += 1
                continue
            if relation.member_id is None and follow.userid in members:
                relation.member_id = members[follow.userid]
            if relation.confirmed_at is not None and relation.confirmed_at > self.read_at:
                self.stats["newer_kept"] += 1  # a callback stored something newer meanwhile
                continue
            if relation.status not in (RelationStatus.active,) and self._revive(relation, follow):
                touched.add(contact.id)
            if relation.content_hash != _relation_hash(follow, tag_ids):
                if await self._update_relation(
                    contact, relation, follow, tag_ids, links.get(relation.id, set())
                ):
                    dirty.setdefault(contact.id, False)
                links[relation.id] = set(tag_ids)
                self.stats["relations_updated"] += 1
                relation.confirmed_at = self.read_at
            elif self.source != "sync":
                relation.confirmed_at = self.read_at
            self.seen.append(relation.id)
        # every relation of these customers is in by_key (loaded above or created here): statuses and
        # keyword hashes are settled before the customers' INSERT/UPDATE, so each row is written once
        by_contact: dict[uuid.UUID, list[FollowRelation]] = {}
        for relation in by_key.values():
            by_contact.setdefault(relation.contact_id, []).append(relation)
        await self._repeat_added_at(existing.values(), stored_added, by_key.values())
        for contact in existing.values():
            if contact.id in touched:
                _set_status(
                    session, ctx, contact, _status_of([r.status for r in by_contact.get(contact.id, [])])
                )
        stale, tokens, _ = await _keyword_rows(
            session,
            ctx,
            [(c, by_contact.get(c.id, []), dirty[c.id]) for c in existing.values() if c.id in dirty],
            run.tokens if run is not None else None,
        )
        if run is None:
            await session.flush()
            session.add_all(self.relations)
            await session.flush()
            session.add_all(self.children)
            await session.flush()
        else:  # parents first: customers, then the updates of loaded rows, relations, mobiles
            sync = session.sync_session
            if self.contacts:
                await session.execute(
                    insert(_table(ExternalContact)), sealed_rows(sync, ExternalContact, self.contacts)
                )
            await session.flush()
            if self.relations:
                await session.execute(
                    insert(_table(FollowRelation)), sealed_rows(sync, FollowRelation, self.relations)
                )
            if self.children:
                await session.execute(
                    insert(_table(RemarkMobile)), sealed_rows(sync, RemarkMobile, self.children)
                )
        if stale or tokens:
            await KeywordRepository(session, ctx).replace_many(stale, tokens)
        if self.links:
            await session.execute(insert(_table(ContactTag)), self.links)
        if self.events:
            await session.execute(insert(_table(ContactEvent)), self.events)
        self.rows = [*existing.values(), *by_key.values(), *self.children]
        return existing

    async def _repeat_added_at(
        self,
        contacts: Iterable[ExternalContact],
        stored: dict[uuid.UUID, datetime],
        relations: Iterable[FollowRelation],
    ) -> None:
        """The customer's ``added_at`` repeated on its relations and tag links (``contact_added_at``,
        the list's order on their indexes): on the new rows, and on the stored ones of a customer
        whose ``added_at`` an earlier relation just moved back."""
        added = {c.id: c.added_at for c in contacts}
        for relation in relations:
            if relation.contact_added_at != added[relation.contact_id]:
                relation.contact_added_at = added[relation.contact_id]
        for link in self.links:
            link["contact_added_at"] = added[link["contact_id"]]
        moved = [(i, when) for i, when in added.items() if i in stored and stored[i] != when]
        for contact_id, when in moved:
            await TagLinkRepository(self.session, self.ctx).repeat_added_at(contact_id, when)

    async def release(self) -> None:
        """Flush, then drop the rows of this batch from the session: a sync of a million customers
        keeps one page in memory, not all of them."""
        await self.session.flush()
        for row in self.rows:
            if row in self.session:
                self.session.expunge(row)
        self.rows = []

    def _contact_fields(self, contact: ExternalContact, found: wire.ExternalContact) -> None:
        contact.name = found.name[:200] or None
        contact.contact_type = str(ContactType.from_wecom(found.type))
        contact.corp_name = (found.corp_name[:200] or None) if found.type == 2 else None
        contact.content_hash = _contact_hash(found)

    def _new_relation(
        self, contact: ExternalContact, follow: Follow, member_id: uuid.UUID | None, tag_ids: list[uuid.UUID]
    ) -> FollowRelation:
        ctx = self.ctx
        relation = FollowRelation(
            id=uuid.uuid4(),
            tenant_id=ctx.tenant_id,
            contact_id=contact.id,
            member_userid=follow.userid,
            member_id=member_id,
            status=RelationStatus.active,
            wecom_event_time=0,
            confirmed_at=self.read_at,
        )
        self._relation_fields(relation, follow, tag_ids)
        self.relations.append(relation)
        for position, mobile in enumerate(follow.remark_mobiles):
            self.children.append(
                RemarkMobile(tenant_id=ctx.tenant_id, follow_id=relation.id, position=position, mobile=mobile)
            )
        self.links.extend(_link_values(ctx, relation, tag_id) for tag_id in tag_ids)
        self.events.append(
            _event_values(
                ctx,
                contact.id,
                EventKind.added,
                relation=relation,
                source=self.source,
                when=relation.added_at,
            )
        )
        return relation

    def _relation_fields(
        self, relation: FollowRelation, follow: Follow, tag_ids: Sequence[uuid.UUID]
    ) -> None:
        relation.remark = follow.remark or None
        relation.description = follow.description or None
        relation.remark_corp_name = follow.remark_corp_name or None
        relation.add_way = follow.add_way
        relation.state = follow.state[:64] or None
        relation.oper_userid = follow.oper_userid[:64] or None
        relation.added_at = _ts(follow.createtime)
        relation.content_hash = _relation_hash(follow, tag_ids)

    def _revive(self, relation: FollowRelation, follow: Follow) -> bool:
        """WeCom lists a relation we hold as ended: it is whole again (re-added), unless our status
        is newer than this read, or the customer deleted the member and did not add them again."""
        if relation.status_changed_at is not None and relation.status_changed_at > self.read_at:
            return False
        if (
            relation.status == RelationStatus.customer_deleted_member
            and _ts(follow.createtime) <= relation.added_at
        ):
            return False  # the one-way relationship WeCom keeps after del_follow_user
        relation.status, relation.status_changed_at = RelationStatus.active, self.read_at
        self.events.append(
            _event_values(
                self.ctx, relation.contact_id, EventKind.added, relation=relation, source=self.source
            )
        )
        self.stats["relations_revived"] += 1
        return True

    async def _update_relation(
        self,
        contact: ExternalContact,
        relation: FollowRelation,
        follow: Follow,
        tag_ids: list[uuid.UUID],
        current: set[uuid.UUID],
    ) -> bool:
        """Returns whether a keyword text changed."""
        ctx = self.ctx
        texts_before = (relation.remark, relation.remark_corp_name)
        notes_before = (relation.remark, relation.description, relation.remark_corp_name)
        mobiles = MobileRepository(self.session, ctx)
        stored = [m.mobile for m in (await mobiles.of_follows([relation.id])).get(relation.id, [])]
        self._relation_fields(relation, follow, tag_ids)
        changed_notes = notes_before != (relation.remark, relation.description, relation.remark_corp_name)
        if stored != list(follow.remark_mobiles):
            await mobiles.clear(relation.id)
            for position, mobile in enumerate(follow.remark_mobiles):
                self.children.append(
                    RemarkMobile(
                        tenant_id=ctx.tenant_id, follow_id=relation.id, position=position, mobile=mobile
                    )
                )
            changed_notes = True
        if changed_notes:
            self.events.append(
                _event_values(
                    ctx, contact.id, EventKind.remark_changed, relation=relation, source=self.source
                )
            )
        wanted = set(tag_ids)
        for tag_id in sorted(wanted - current):
            self.links.append(_link_values(ctx, relation, tag_id))
            self.events.append(
                _event_values(
                    ctx, contact.id, EventKind.tagged, relation=relation, tag_id=tag_id, source=self.source
                )
            )
        gone = current - wanted
        if gone:
            await TagLinkRepository(self.session, ctx).remove(relation.id, gone)
            for tag_id in sorted(gone):
                self.events.append(
                    _event_values(
                        ctx,
                        contact.id,
                        EventKind.untagged,
                        relation=relation,
                        tag_id=tag_id,
                        source=self.source,
                    )
                )
        return texts_before != (relation.remark, relation.remark_corp_name)


def _status_of(statuses: Sequence[str]) -> ContactStatus:
    """The customer's status from its relations' (see :class:`ContactStatus`)."""
    if any(s == RelationStatus.active for s in statuses):
        return ContactStatus.active
    if any(s in LOST_STATUSES for s in statuses):
        return ContactStatus.lost
    return ContactStatus.gone if statuses else ContactStatus.active


def _set_status(
    session: AsyncSession, ctx: TenantContext, contact: ExternalContact, status: ContactStatus
) -> None:
    if contact.status != status:
        was_active = contact.status == ContactStatus.active
        contact.status = str(status)
        if status == ContactStatus.lost and was_active:
            contact.lost_at = utcnow()
            session.add(_event(ctx, contact.id, EventKind.lost, source="callback"))
        elif status == ContactStatus.active:
            contact.lost_at = None


async def refresh_status(session: AsyncSession, ctx: TenantContext, contact: ExternalContact) -> None:
    """The customer's status from its relations' as stored (flush first)."""
    statuses = await FollowRepository(session, ctx).statuses(contact.id)
    _set_status(session, ctx, contact, _status_of(statuses))


# --- the full sync ------------------------------------------------------------------------------------


async def start_sync(session: AsyncSession, ctx: TenantContext) -> Job:
    """Queue a full customer sync with a job row (409 while one is queued or running)."""
    from huike.wecom.service import access_connection

    await access_connection(session, ctx)
    await session.execute(
        insert_ignore(session, ContactSyncState, ["tenant_id"]).values(
            id=uuid.uuid4(),
            tenant_id=ctx.tenant_id,
            run_id=uuid.uuid4(),
            phase=SyncPhase.done,
            followers={},
            chunk=0,
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
    job = await create_job(session, ctx, SYNC_TASK)
    await record(session, ctx, "external_contact.sync_started", object_type="job", object_id=job.id)
    return job


async def sync_from_wecom(
    session: AsyncSession,
    ctx: TenantContext,
    run_id: uuid.UUID,
    *,
    checkpoint: Checkpoint = no_checkpoint,
    report: Report = no_report,
    page_limit: int = PAGE_LIMIT,
) -> dict[str, int]:
    """Run (or resume) the full sync ``run_id``; see the module's docstring. Returns counts."""
    from huike.wecom.service import client_for

    await warm_keys(session, ctx.tenant_id)
    states = SyncStateRepository(session, ctx)
    state = await states.current()
    now = utcnow()
    if state is None:
        state = states.add(ContactSyncState(tenant_id=ctx.tenant_id, run_id=run_id, phase=SyncPhase.listing))
        state.followers, state.chunk, state.cursor, state.stats, state.started_at = {}, 0, "", {}, now
    elif state.run_id != run_id:
        state.run_id, state.phase, state.followers, state.chunk, state.cursor = (
            run_id,
            SyncPhase.listing,
            {},
            0,
            "",
        )
        state.stats, state.started_at, state.finished_at = {}, now, None
    elif state.phase == SyncPhase.done:
        return {k: int(v) for k, v in state.stats.items()}  # a duplicate delivery of a finished run
    else:
        log.info("external_contact.sync_resumed", phase=state.phase, chunk=state.chunk)
    stats: Counter[str] = Counter({k: int(v) for k, v in (state.stats or {}).items()})
    client, _ = await client_for(session, ctx)

    async def save(progress: int) -> None:
        state.stats = dict(stats)
        report(progress, 100)
        await checkpoint()
        await warm_keys(session, ctx.tenant_id)

    if state.phase == SyncPhase.listing:
        followers = sorted(set(await client.get_follow_user_list()))
        state.followers = {"userids": followers}
        state.phase, state.chunk, state.cursor = SyncPhase.pages, 0, ""
        stats["followers"] = len(followers)
        await save(2)
    userids: list[str] = list(state.followers.get("userids", []))
    chunks = max(1, (len(userids) + USER_CHUNK - 1) // USER_CHUNK)
    if state.phase == SyncPhase.pages:
        reader = _PageReader(client, userids, page_limit)
        run = RunCache()
        analyzed = ANALYZE_AFTER  # rows created by this run when the planner's statistics go stale
        try:
            while state.chunk * USER_CHUNK < len(userids):
                read_at, page = await reader.take(state.chunk, state.cursor)
                following = (state.chunk, page.next_cursor) if page.next_cursor else (state.chunk + 1, "")
                reader.start(*following)  # WeCom serves the next page while this one is stored
                applier = Applier(session, ctx, source="sync", read_at=read_at, run=run)
                await applier.apply(
                    [
                        (row.external_contact, Follow.from_info(row.follow_info))
                        for row in page.external_contact_list
                    ]
                )
                await FollowRepository(session, ctx).mark_seen(applier.seen, run_id)
                stats.update(applier.stats)
                stats["rows"] += len(page.external_contact_list)
                stats["pages"] += 1
                state.chunk, state.cursor = following
                await save(min(94, 2 + 92 * state.chunk // chunks))
                await applier.release()
                if applier.stats["relations_created"] and stats["relations_created"] >= analyzed:
                    await refresh_statistics(session)  # each time the run has doubled the tables
                    analyzed = 2 * stats["relations_created"]
        finally:
            reader.cancel()
        state.phase = SyncPhase.reconcile
        await save(95)
    if state.phase == SyncPhase.reconcile:
        follows = FollowRepository(session, ctx)
        while batch := await follows.not_seen(run_id, userids, state.started_at, limit=RECONCILE_BATCH):
            contacts: set[uuid.UUID] = set()
            for relation in batch:
                relation.status, relation.status_changed_at = RelationStatus.removed, utcnow()
                relation.confirmed_at = utcnow()
                session.add(
                    _event(ctx, relation.contact_id, EventKind.removed, relation=relation, source="sync")
                )
                contacts.add(relation.contact_id)
                stats["relations_removed"] += 1
            await session.flush()
            for contact in await ContactRepository(session, ctx).by_ids(contacts):
                await refresh_status(session, ctx, contact)
            await save(97)
        state.phase, state.finished_at = SyncPhase.done, utcnow()
        stats["contacts"] = await ContactRepository(session, ctx).count(Resolved(ctx.tenant_id))
        state.stats = dict(stats)
        report(100, 100)
    log.info("external_contact.sync_finished", **{k: int(v) for k, v in stats.items()})
    return dict(stats)


class _PageReader:
    """Reads ``batch/get_by_user`` pages one ahead: the request for the next page is in flight while
    the current one is stored, so the sync takes about as long as the slower of the two, not their
    sum. Only the position (chunk, cursor) saved at a checkpoint counts: a page read ahead and never
    stored is read again by a retried run."""

    def __init__(self, client: WeComClient, userids: Sequence[str], limit: int) -> None:
        self.client, self.userids, self.limit = client, userids, limit
        self.pending: tuple[int, str, datetime, asyncio.Task[wire.ExternalContactPage]] | None = None

    def start(self, chunk: int, cursor: str) -> None:
        self.cancel()
        if chunk * USER_CHUNK >= len(self.userids):
            return
        userids = self.userids[chunk * USER_CHUNK : (chunk + 1) * USER_CHUNK]
        read_at = utcnow()  # before the read: what it returns is at least this recent
        task = asyncio.ensure_future(_batch(self.client, userids, cursor, self.limit))
        self.pending = (chunk, cursor, read_at, task)

    async def take(self, chunk: int, cursor: str) -> tuple[datetime, wire.ExternalContactPage]:
        if self.pending is None or self.pending[:2] != (chunk, cursor):
            self.start(chunk, cursor)
        assert self.pending is not None
        _, _, read_at, task = self.pending
        self.pending = None
        return read_at, await task

    def cancel(self) -> None:
        if self.pending is not None:
            task = self.pending[3]
            self.pending = None
            if task.done():
                if not task.cancelled():
                    task.exception()  # retrieved: a page read ahead and not needed fails nobody
            else:
                task.cancel()


async def _batch(
    client: WeComClient, userids: Sequence[str], cursor: str, limit: int
) -> wire.ExternalContactPage:
    try:
        return await client.batch_get_by_user(userids, cursor=cursor, limit=limit)
    except WeComError as error:
        if _errcode(error) in (60011, 84061, 81013):  # none of these members is in scope any more
            return wire.ExternalContactPage()
        raise


# --- change_external_contact callbacks ----------------------------------------------------------------


def _event_time(fields: dict[str, Any]) -> int:
    try:
        return int(str(fields.get("CreateTime", "0")))
    except ValueError:
        return 0


async def _read_contact(client: WeComClient, external_userid: str) -> wire.ExternalContactDetail | None:
    """``externalcontact/get`` with every page of follow_user; None when WeCom no longer has it."""
    try:
        detail = await client.get_external_contact(external_userid)
        follow_user = list(detail.follow_user)
        cursor = detail.next_cursor
        while cursor:
            more = await client.get_external_contact(external_userid, cursor=cursor)
            follow_user.extend(more.follow_user)
            cursor = more.next_cursor
    except (NotExternalContact, InvalidExternalUserId):
        return None
    except WeComError as error:
        if _errcode(error) == 60011:
            return None
        raise
    return wire.ExternalContactDetail(external_contact=detail.external_contact, follow_user=follow_user)


async def on_contact_event(session: AsyncSession, ctx: TenantContext, fields: dict[str, Any]) -> str:
    """One change_external_contact event; returns what was done (for logs and tests)."""
    from huike.wecom.service import client_for

    await warm_keys(session, ctx.tenant_id)
    change = str(fields.get("ChangeType", ""))
    userid = str(fields.get("UserID", "") or "")
    external_userid = str(fields.get("ExternalUserID", "") or "")
    when = _event_time(fields)
    if not external_userid:
        return "ignored"
    if change in ("del_external_contact", "del_follow_user"):
        if change == "del_follow_user":
            target = RelationStatus.customer_deleted_member
        elif str(fields.get("Source", "") or "") == TRANSFER_SOURCE:
            target = RelationStatus.transferred
        else:
            target = RelationStatus.member_deleted_customer
        return await _end_relation(session, ctx, external_userid, userid, target, when)
    client, _ = await client_for(session, ctx)
    read_at = utcnow()
    detail = await _read_contact(client, external_userid)
    contact: ExternalContact | None = None
    if detail is not None:
        applier = Applier(session, ctx, source="callback", read_at=read_at)
        stored = await applier.apply(
            [(detail.external_contact, Follow.from_user(u)) for u in detail.follow_user]
        )
        contact = stored.get(external_userid)
    if contact is None:
        contact = await ContactRepository(session, ctx).by_external_userid(external_userid)
    if contact is None:
        return "unknown"
    relation = await FollowRepository(session, ctx).of_contact(contact.id, userid) if userid else None
    if change == "transfer_fail":
        session.add(
            _event(
                ctx,
                contact.id,
                EventKind.transfer_failed,
                relation=relation,
                source="callback",
                reason=str(fields.get("FailReason", "") or "")[:32] or None,
            )
        )
        return "transfer_failed"
    if relation is None:
        return "not_listed"
    if when < relation.wecom_event_time:
        log.info("external_contact.event_stale", change=change)
        return "stale"
    relation.wecom_event_time = when
    if change.startswith("add_") and relation.status != RelationStatus.active and detail is not None:
        listed = any(u.userid == userid for u in detail.follow_user)
        if listed and (relation.status_changed_at is None or relation.status_changed_at <= read_at):
            relation.status, relation.status_changed_at = RelationStatus.active, read_at
            session.add(_event(ctx, contact.id, EventKind.added, relation=relation, source="callback"))
            await session.flush()
            await refresh_status(session, ctx, contact)
    return "applied"


async def _end_relation(
    session: AsyncSession,
    ctx: TenantContext,
    external_userid: str,
    userid: str,
    target: RelationStatus,
    when: int,
) -> str:
    contact = await ContactRepository(session, ctx).by_external_userid(external_userid)
    relation = await FollowRepository(session, ctx).of_contact(contact.id, userid) if contact else None
    if contact is None or relation is None:
        return "unknown"
    if when < relation.wecom_event_time:
        log.info("external_contact.event_stale", change=str(target))
        return "stale"
    if relation.status == target:
        relation.wecom_event_time = max(relation.wecom_event_time, when)
        return "duplicate"
    now = utcnow()
    relation.status, relation.status_changed_at, relation.wecom_event_time = target, now, when
    relation.confirmed_at = now
    kind = {
        RelationStatus.customer_deleted_member: EventKind.deleted_by_customer,
        RelationStatus.member_deleted_customer: EventKind.deleted_by_member,
        RelationStatus.transferred: EventKind.transferred,
    }[target]
    session.add(_event(ctx, contact.id, kind, relation=relation, source="callback"))
    if target in LOST_STATUSES:
        await _alert_lost(session, ctx, contact, relation, target, when)
    await session.flush()
    await refresh_status(session, ctx, contact)
    return str(target)


async def _alert_lost(
    session: AsyncSession,
    ctx: TenantContext,
    contact: ExternalContact,
    relation: FollowRelation,
    reason: RelationStatus,
    when: int,
) -> None:
    """One alert per recipient: the member's Huike account (if activated) and the tenant's admins."""
    from huike.external_contact.repository import admin_user_ids

    recipients = set(await admin_user_ids(session, ctx, ADMIN_ROLES))
    if relation.member_id is not None:
        recipients.update((await member_user_ids(session, ctx, [relation.member_id])).values())
    for user_id in sorted(recipients):
        await session.execute(
            insert_ignore(session, Alert, ["tenant_id", "user_id", "follow_id", "event_time"]).values(
                id=uuid.uuid4(),
                tenant_id=ctx.tenant_id,
                user_id=user_id,
                kind=str(AlertKind.customer_lost),
                reason=str(reason),
                contact_id=contact.id,
                follow_id=relation.id,
                member_id=relation.member_id,
                event_time=when,
                created_at=utcnow(),
            )
        )
    log.info("external_contact.lost", reason=str(reason), recipients=len(recipients))


# --- reading ---------------------------------------------------------------------------------------


async def resolve(session: AsyncSession, ctx: TenantContext, filters: ContactFilters) -> Resolved:
    """Check tag ids, expand the department, turn keyword and mobile into index terms, apply scope."""
    wanted_tags = {*filters.tag_any, *filters.tag_all, *filters.tag_none}
    if wanted_tags:
        known = await live_tags(session, ctx, wanted_tags)
        unknown = sorted(str(t) for t in wanted_tags - known.keys())
        if unknown:
            raise UnknownTags(tag_ids=unknown)
    member_ids: list[uuid.UUID] | None = None
    if filters.owner_ids:
        member_ids = list(filters.owner_ids)
    if filters.department_id is not None:
        in_department = await department_member_ids(session, ctx, filters.department_id)
        member_ids = (
            in_department if member_ids is None else [m for m in member_ids if m in set(in_department)]
        )
    resolved = Resolved(
        tenant_id=ctx.tenant_id,
        tag_any=list(filters.tag_any),
        tag_all=list(filters.tag_all),
        tag_none=list(filters.tag_none),
        member_ids=member_ids,
        added_from=filters.added_from,
        added_to=filters.added_to,
        add_ways=list(filters.add_ways),
        states=list(filters.states),
        contact_type=str(filters.contact_type) if filters.contact_type else None,
        status=str(filters.status) if filters.status else None,
        contact_ids=list(filters.contact_ids),
        visible_member_ids=await visible_member_ids(session, ctx),
    )
    resolved.in_group, resolved.in_group_userids = await _group_clause(session, ctx, filters)
    if filters.keyword:
        key = await _index_key(session, ctx, create=False)
        parts = query_grams(filters.keyword)
        resolved.keyword_tokens = [[_token(key[0], key[1], g) if key else "-"] for g in parts] or [["-"]]
    if filters.mobile:
        try:
            resolved.mobile_terms = await blind_index_terms(
                session, RemarkMobile.mobile_index, filters.mobile, tenant_id=ctx.tenant_id
            )
        except ValueError as exc:
            raise InvalidMobile() from exc
    return resolved


async def _group_clause(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> tuple[Any, Any]:
    """The customer-group filter as the group domain's SQL (None: no filter), and for "in one group"
    that group's members' ExternalUserIDs, which a page may start from (``filters.leads``)."""
    from huike.group_chat import service as group_chat

    membership = filters.group_membership
    if membership is None and filters.group_chat_id is not None:
        membership = GroupMembership.in_group
    if membership is None:
        return None, None
    column = ExternalContact.external_userid
    if membership in (GroupMembership.any_group, GroupMembership.no_group):
        clause = group_chat.customers_in_groups(ctx, column)
        return (clause if membership == GroupMembership.any_group else ~clause), None
    if filters.group_chat_id is None:
        raise GroupRequired()
    if not await group_chat.group_visible(session, ctx, filters.group_chat_id):
        raise UnknownGroup(group_chat_id=str(filters.group_chat_id))
    clause = group_chat.customers_in_groups(ctx, column, filters.group_chat_id)
    if membership == GroupMembership.in_group:
        return clause, group_chat.customers_of_group(ctx, filters.group_chat_id)
    return ~clause, None


async def select_contacts(
    session: AsyncSession,
    ctx: TenantContext,
    resolved: Resolved,
    keyword: str | None,
    *,
    cursor: tuple[datetime, uuid.UUID] | None,
    limit: int,
    descending: bool,
    sort: str = "added_at",
) -> tuple[list[tuple[ExternalContact, list[FollowRelation]]], bool]:
    """Up to ``limit`` customers after ``cursor`` with their relations (keyword confirmed by
    decryption), and whether more follow."""
    contacts = ContactRepository(session, ctx)
    found: list[tuple[ExternalContact, list[FollowRelation]]] = []
    chunk = limit + 1 if not keyword else max(100, limit + 1)
    while len(found) <= limit:
        rows = await contacts.page(resolved, cursor=cursor, limit=chunk, descending=descending, sort=sort)
        relations = await FollowRepository(session, ctx).of_contacts([c.id for c in rows])
        by_contact: dict[uuid.UUID, list[FollowRelation]] = {}
        for relation in relations:
            by_contact.setdefault(relation.contact_id, []).append(relation)
        for row in rows:
            own = by_contact.get(row.id, [])
            if keyword and not _matches(_texts(row, own), keyword):
                continue
            found.append((row, own))
        if len(rows) < chunk:
            break
        cursor = (sort_key(rows[-1], sort), rows[-1].id)
    return found[: limit + 1], len(found) > limit


async def _refs(
    session: AsyncSession,
    ctx: TenantContext,
    relations: Sequence[FollowRelation],
    known: tuple[dict[uuid.UUID, Any], dict[uuid.UUID, Tag]] | None = None,
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, set[uuid.UUID]], dict[uuid.UUID, Tag]]:
    """Members, tag links and tags of the relations; ``known`` members and tags (of earlier pages of
    an export) are not read again, and are returned completed."""
    members, tags = known if known is not None else ({}, {})
    wanted = {r.member_id for r in relations if r.member_id and r.member_id not in members}
    members.update(await members_by_id(session, ctx, wanted))
    links = await TagLinkRepository(session, ctx).of_follows([r.id for r in relations])
    tags.update(await live_tags(session, ctx, {t for ids in links.values() for t in ids if t not in tags}))
    return members, links, tags


def _member_ref(relation: FollowRelation, members: dict[uuid.UUID, Any]) -> MemberRef:
    member = members.get(relation.member_id) if relation.member_id else None
    return MemberRef(
        id=relation.member_id, wecom_userid=relation.member_userid, name=member.name if member else None
    )


def _tag_refs(ids: Iterable[uuid.UUID], tags: dict[uuid.UUID, Tag]) -> list[CustomerTagRef]:
    return sorted(
        (CustomerTagRef(id=t, name=tags[t].name, group_id=tags[t].group_id) for t in set(ids) if t in tags),
        key=lambda ref: (ref.name, str(ref.id)),
    )


def _contact_read(
    contact: ExternalContact,
    relations: Sequence[FollowRelation],
    members: dict[uuid.UUID, Any],
    links: dict[uuid.UUID, set[uuid.UUID]],
    tags: dict[uuid.UUID, Tag],
) -> dict[str, Any]:
    live = [r for r in relations if r.status in LIVE_STATUSES] or list(relations)
    return {
        "id": contact.id,
        "external_userid": contact.external_userid,
        "name": contact.name,
        "corp_name": contact.corp_name,
        "contact_type": ContactType(contact.contact_type),
        "status": ContactStatus(contact.status),
        "added_at": contact.added_at,
        "lost_at": contact.lost_at,
        "owners": [_member_ref(r, members) for r in live],
        "tags": _tag_refs((t for r in live for t in links.get(r.id, set())), tags),
    }


async def list_contacts(
    session: AsyncSession,
    ctx: TenantContext,
    filters: ContactFilters,
    *,
    limit: int,
    cursor: str | None,
    descending: bool = True,
    sort: str = "added_at",
) -> CursorPage[ContactRead]:
    """A page in the order ``sort`` (``added_at`` or ``lost_at``: then only customers that were lost)."""
    await warm_keys(session, ctx.tenant_id)
    resolved = await resolve(session, ctx, filters)
    found, more = await select_contacts(
        session,
        ctx,
        resolved,
        filters.keyword,
        cursor=decode_keyset(cursor, datetime.fromisoformat),
        limit=limit,
        descending=descending,
        sort=sort,
    )
    page = found[:limit]
    members, links, tags = await _refs(session, ctx, [r for _, rs in page for r in rs])
    items = [ContactRead(**_contact_read(c, rs, members, links, tags)) for c, rs in page]
    last = page[-1][0] if page else None
    return CursorPage[ContactRead](
        items=items,
        next_cursor=encode_cursor(sort_key(last, sort).isoformat(), last.id)
        if more and last is not None
        else None,
    )


async def count_contacts(session: AsyncSession, ctx: TenantContext, filters: ContactFilters) -> int:
    await warm_keys(session, ctx.tenant_id)
    resolved = await resolve(session, ctx, filters)
    if not filters.keyword:
        return await ContactRepository(session, ctx).count(resolved)
    total, cursor = 0, None
    while True:  # keyword candidates are confirmed by decryption, a chunk at a time
        found, more = await select_contacts(
            session, ctx, resolved, filters.keyword, cursor=cursor, limit=500, descending=False
        )
        page = found[:500]
        total += len(page)
        if not more or not page:
            return total
        cursor = (page[-1][0].added_at, page[-1][0].id)


async def access_contact(session: AsyncSession, ctx: TenantContext, contact_id: uuid.UUID) -> ExternalContact:
    """The customer, if it is the tenant's and within the caller's data scope (else NotFound)."""
    await warm_keys(session, ctx.tenant_id)
    contact = await ContactRepository(session, ctx).get_or_404(contact_id)
    visible = await visible_member_ids(session, ctx)
    if visible is not None:
        relations = await FollowRepository(session, ctx).of_contacts([contact.id])
        if not any(r.member_id in set(visible) for r in relations):
            raise NotFound()
    return contact


def mask(mobile: str) -> str:
    """138****8000: the first three and the last four digits of a longer number."""
    if len(mobile) >= 8:
        return mobile[:3] + "****" + mobile[-4:]
    if len(mobile) > 2:
        return mobile[0] + "*" * (len(mobile) - 2) + mobile[-1]
    return "*" * len(mobile)


TIMELINE_LIMIT = 200


async def get_contact(session: AsyncSession, ctx: TenantContext, contact_id: uuid.UUID) -> ContactDetail:
    from huike.group_chat import service as group_chat

    contact = await access_contact(session, ctx, contact_id)
    relations = await FollowRepository(session, ctx).of_contacts([contact.id])
    members, links, tags = await _refs(session, ctx, relations)
    mobiles = await MobileRepository(session, ctx).of_follows([r.id for r in relations])
    events = await EventRepository(session, ctx).of_contact(contact.id, limit=TIMELINE_LIMIT)
    groups, group_events = await group_chat.customer_groups(session, ctx, contact.external_userid)
    timeline = [
        TimelineItem(
            id=e.id,
            kind=e.kind,
            follow_id=e.follow_id,
            member_id=e.member_id,
            tag_id=e.tag_id,
            source=e.source,
            reason=e.reason,
            occurred_at=e.occurred_at,
        )
        for e in events
    ] + [
        TimelineItem(
            id=e.id,
            kind=f"{e.kind}_group",
            follow_id=None,
            member_id=None,
            tag_id=None,
            source="group_chat",
            reason=None,
            occurred_at=e.at,
            group_chat_id=e.group_chat_id,
            group_name=e.name,
        )
        for e in group_events
    ]
    timeline.sort(key=lambda item: (_aware(item.occurred_at), str(item.id)), reverse=True)
    return ContactDetail(
        **_contact_read(contact, relations, members, links, tags),
        follow_relations=[
            FollowRelationRead(
                id=r.id,
                member=_member_ref(r, members),
                remark=r.remark,
                description=r.description,
                remark_corp_name=r.remark_corp_name,
                remark_mobiles=[mask(m.mobile or "") for m in mobiles.get(r.id, [])],
                tags=_tag_refs(links.get(r.id, set()), tags),
                add_way=r.add_way,
                state=r.state,
                oper_userid=r.oper_userid,
                added_at=r.added_at,
                status=RelationStatus(r.status),
                status_changed_at=r.status_changed_at,
            )
            for r in relations
        ],
        groups=[
            CustomerGroupRef(id=g.group_chat_id, name=g.name, join_time=g.join_time, join_scene=g.join_scene)
            for g in groups
        ],
        timeline=timeline[:TIMELINE_LIMIT],
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def reveal_mobiles(session: AsyncSession, ctx: TenantContext, contact_id: uuid.UUID) -> RevealRead:
    """The full remark mobiles of every relation; audited as ``data.revealed``."""
    contact = await access_contact(session, ctx, contact_id)
    relations = await FollowRepository(session, ctx).of_contacts([contact.id])
    mobiles = await MobileRepository(session, ctx).of_follows([r.id for r in relations])
    items = [
        RevealedMobiles(
            follow_id=r.id,
            member_userid=r.member_userid,
            remark_mobiles=[m.mobile or "" for m in mobiles.get(r.id, [])],
        )
        for r in relations
    ]
    await record(
        session,
        ctx,
        "data.revealed",
        object_type="external_contact",
        object_id=contact.id,
        details={"field": "remark_mobiles", "count": sum(len(i.remark_mobiles) for i in items)},
    )
    return RevealRead(items=items)


# --- writing: WeCom first, then here ---------------------------------------------------------------


async def edit_relation(
    session: AsyncSession, ctx: TenantContext, follow_id: uuid.UUID, data: FollowRelationEdit
) -> ContactDetail:
    """Edit remark, description and remark mobiles: WeCom first (``externalcontact/remark``); only
    when WeCom accepts are they stored here. WeCom's refusal is raised as its typed error (84061:
    ``external_contact.relation_gone``) and nothing changes locally."""
    from huike.wecom.service import client_for

    await warm_keys(session, ctx.tenant_id)
    relation = await FollowRepository(session, ctx).get_or_404(follow_id)
    contact = await access_contact(session, ctx, relation.contact_id)
    fields = data.model_fields_set
    if not fields & {"remark", "description", "remark_mobiles"}:
        raise NothingToChange()
    if relation.status not in LIVE_STATUSES:
        raise RelationGone()
    mobiles = None
    if data.remark_mobiles is not None:
        mobiles = [m.strip() for m in data.remark_mobiles if m.strip()]
        if any(len(m) > 32 or not any(ch.isdigit() for ch in m) for m in mobiles):
            raise InvalidMobile()
    client, _ = await client_for(session, ctx)
    try:
        await client.remark(
            relation.member_userid,
            contact.external_userid,
            remark=data.remark if "remark" in fields else None,
            description=data.description if "description" in fields else None,
            remark_mobiles=(mobiles or [""]) if mobiles is not None else None,
        )
    except NotExternalContact as error:
        raise RelationGone(errcode=_errcode(error)) from error
    if "remark" in fields:
        relation.remark = data.remark or None
    if "description" in fields:
        relation.description = data.description or None
    if mobiles is not None:
        repo = MobileRepository(session, ctx)
        await repo.clear(relation.id)
        for position, mobile in enumerate(mobiles):
            session.add(
                RemarkMobile(tenant_id=ctx.tenant_id, follow_id=relation.id, position=position, mobile=mobile)
            )
    relation.content_hash = ""  # the next read from WeCom stores WeCom's own view
    relation.confirmed_at = utcnow()
    session.add(_event(ctx, contact.id, EventKind.remark_changed, relation=relation, source="api"))
    await session.flush()
    await _reindex(
        session, ctx, contact, await FollowRepository(session, ctx).of_contacts([contact.id]), new=False
    )
    await record(
        session,
        ctx,
        "external_contact.remark_edited",
        object_type="follow_relation",
        object_id=relation.id,
        details={"fields": sorted(fields & {"remark", "description", "remark_mobiles"})},
    )
    return await get_contact(session, ctx, contact.id)


async def set_relation_tags(
    session: AsyncSession, ctx: TenantContext, follow_id: uuid.UUID, data: FollowRelationTagsIn
) -> ContactDetail:
    """Make the relation's corp tags ``data.tag_ids``: one ``mark_tag`` with what to add and remove,
    stored here only when WeCom accepts (84061: ``external_contact.relation_gone``)."""
    from huike.wecom.service import client_for

    await warm_keys(session, ctx.tenant_id)
    relation = await FollowRepository(session, ctx).get_or_404(follow_id)
    contact = await access_contact(session, ctx, relation.contact_id)
    if relation.status not in LIVE_STATUSES:
        raise RelationGone()
    wanted = set(data.tag_ids)
    known = await live_tags(session, ctx, wanted)
    unusable = sorted(str(t) for t in wanted if t not in known or known[t].wecom_id is None)
    if unusable:
        raise UnknownTags(tag_ids=unusable)
    links = TagLinkRepository(session, ctx)
    have = (await links.of_follows([relation.id])).get(relation.id, set())
    add = sorted(wanted - have)
    remove = await live_tags(session, ctx, have - wanted)  # a tag deleted meanwhile is WeCom's already
    if add or remove:
        client, _ = await client_for(session, ctx)
        try:
            await client.mark_tag(
                relation.member_userid,
                contact.external_userid,
                add=[str(known[t].wecom_id) for t in add],
                remove=[str(t.wecom_id) for t in remove.values() if t.wecom_id],
            )
        except NotExternalContact as error:
            raise RelationGone(errcode=_errcode(error)) from error
        for tag_id in add:
            session.add(
                ContactTag(
                    tenant_id=ctx.tenant_id,
                    follow_id=relation.id,
                    contact_id=contact.id,
                    tag_id=tag_id,
                    contact_added_at=contact.added_at,
                )
            )
            session.add(
                _event(ctx, contact.id, EventKind.tagged, relation=relation, tag_id=tag_id, source="api")
            )
        await links.remove(relation.id, remove)
        for tag_id in sorted(remove):
            session.add(
                _event(ctx, contact.id, EventKind.untagged, relation=relation, tag_id=tag_id, source="api")
            )
        relation.content_hash = ""  # the next read from WeCom stores WeCom's own view
        relation.confirmed_at = utcnow()
        await session.flush()
        await record(
            session,
            ctx,
            "external_contact.tags_edited",
            object_type="follow_relation",
            object_id=relation.id,
            details={"added": len(add), "removed": len(remove)},
        )
    return await get_contact(session, ctx, contact.id)


async def start_bulk_tag(session: AsyncSession, ctx: TenantContext, data: BulkTagIn) -> Job:
    """Queue a bulk tag/untag of the filtered selection as a job (the filters are checked now)."""
    if not data.add_tag_ids and not data.remove_tag_ids:
        raise NothingToTag()
    wanted = {*data.add_tag_ids, *data.remove_tag_ids}
    known = await live_tags(session, ctx, wanted)
    missing = sorted(str(t) for t in wanted - known.keys())
    if missing or any(known[t].wecom_id is None for t in wanted):
        raise UnknownTags(tag_ids=missing or sorted(str(t) for t in wanted if known[t].wecom_id is None))
    await resolve(session, ctx, data.filters)  # precise errors before queuing
    operation = BulkTagRepository(session, ctx).add(
        BulkTagOperation(
            tenant_id=ctx.tenant_id,
            filters=data.filters.stored(),
            keyword=data.filters.keyword,
            tags={"add": [str(t) for t in data.add_tag_ids], "remove": [str(t) for t in data.remove_tag_ids]},
            created_by=ctx.user_id,
            cursor="",
            stats={},
        )
    )
    await session.flush()
    job = await create_job(session, ctx, BULK_TAG_TASK, operation_id=str(operation.id))
    operation.job_id = job.id
    await record(
        session,
        ctx,
        "external_contact.bulk_tag_started",
        object_type="job",
        object_id=job.id,
        details={"add": len(data.add_tag_ids), "remove": len(data.remove_tag_ids)},
    )
    return job


@dataclass
class _BulkStats:
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)


async def run_bulk_tag(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    operation_id: uuid.UUID,
    *,
    checkpoint: Checkpoint = no_checkpoint,
    report: Report = no_report,
    page_size: int = 100,
) -> dict[str, Any]:
    """Walk the selection page by page; per live relation, ``mark_tag`` what it lacks (add) or has
    (remove), then store it. An item WeCom refuses is recorded with its error code and left as is
    here; a retryable error (after the client's own retries) fails the attempt, and the retried job
    resumes after the last committed page (mark_tag is idempotent)."""
    from huike.wecom.service import client_for

    system = TenantContext.system(tenant_id)
    await warm_keys(session, tenant_id)
    operation = await BulkTagRepository(session, system).get_or_404(operation_id)
    if operation.finished_at is not None:
        return dict(operation.stats)
    ctx = TenantContext(tenant_id, operation.created_by) if operation.created_by else system
    filters = ContactFilters.model_validate({**operation.filters, "keyword": operation.keyword})
    resolved = await resolve(session, ctx, filters)
    add_ids = [uuid.UUID(t) for t in operation.tags.get("add", [])]
    remove_ids = [uuid.UUID(t) for t in operation.tags.get("remove", [])]
    tags = await live_tags(session, system, [*add_ids, *remove_ids])
    client, _ = await client_for(session, system)
    stats = _BulkStats(
        Counter({k: int(v) for k, v in operation.stats.get("counts", {}).items()}),
        list(operation.stats.get("failures", [])),
    )
    total = await ContactRepository(session, system).count(resolved) if not filters.keyword else None
    cursor = decode_keyset(operation.cursor, datetime.fromisoformat)
    while True:
        found, more = await select_contacts(
            session, system, resolved, filters.keyword, cursor=cursor, limit=page_size, descending=False
        )
        page = found[:page_size]
        relations = [r for _, rs in page for r in rs if r.status in LIVE_STATUSES]
        if resolved.visible_member_ids is not None:
            relations = [r for r in relations if r.member_id in set(resolved.visible_member_ids)]
        links = await TagLinkRepository(session, system).of_follows([r.id for r in relations])
        contacts = {c.id: c for c, _ in page}
        for relation in relations:
            have = links.get(relation.id, set())
            add = [t for t in add_ids if t in tags and t not in have]
            remove = [t for t in remove_ids if t in tags and t in have]
            if not add and not remove:
                stats.counts["unchanged"] += 1
                continue
            contact = contacts[relation.contact_id]
            try:
                await client.mark_tag(
                    relation.member_userid,
                    contact.external_userid,
                    add=[str(tags[t].wecom_id) for t in add],
                    remove=[str(tags[t].wecom_id) for t in remove],
                )
            except WeComError as error:
                if error.retryable:
                    raise
                stats.counts["failed"] += 1
                if len(stats.failures) < FAILURES_KEPT:
                    stats.failures.append(
                        {
                            "external_contact_id": str(contact.id),
                            "follow_relation_id": str(relation.id),
                            "code": error.code,
                            "errcode": _errcode(error),
                        }
                    )
                continue
            for tag_id in add:
                session.add(
                    ContactTag(
                        tenant_id=tenant_id,
                        follow_id=relation.id,
                        contact_id=contact.id,
                        tag_id=tag_id,
                        contact_added_at=contact.added_at,
                    )
                )
                session.add(
                    _event(ctx, contact.id, EventKind.tagged, relation=relation, tag_id=tag_id, source="job")
                )
            await TagLinkRepository(session, system).remove(relation.id, remove)
            for tag_id in remove:
                session.add(
                    _event(
                        ctx, contact.id, EventKind.untagged, relation=relation, tag_id=tag_id, source="job"
                    )
                )
            relation.content_hash = ""  # WeCom's view is read again by the next sync
            stats.counts["updated"] += 1
        stats.counts["contacts"] += len(page)
        if page:
            cursor = (page[-1][0].added_at, page[-1][0].id)
            operation.cursor = encode_cursor(cursor[0].isoformat(), cursor[1])
        operation.stats = {"counts": dict(stats.counts), "failures": stats.failures}
        report(stats.counts["contacts"], total)
        if not more or not page:
            break
        await session.flush()
        await checkpoint()
        await warm_keys(session, tenant_id)
    operation.finished_at = utcnow()
    result = {**dict(stats.counts), "failures": stats.failures}
    operation.stats = {"counts": dict(stats.counts), "failures": stats.failures}
    report(stats.counts["contacts"], stats.counts["contacts"])
    log.info("external_contact.bulk_tagged", **{k: int(v) for k, v in stats.counts.items()})
    return result


# --- usage counts for the tag domain -----------------------------------------------------------------


async def tag_usage(session: AsyncSession, ctx: TenantContext) -> dict[uuid.UUID, int]:
    """{tag id: live relations carrying it}: registered with the tag domain's usage providers."""
    return await TagLinkRepository(session, ctx).usage()


# --- alerts -------------------------------------------------------------------------------------------


async def list_alerts(
    session: AsyncSession, ctx: TenantContext, *, limit: int, cursor: str | None, unread_only: bool
) -> AlertPage:
    if ctx.user_id is None:
        return AlertPage(items=[], next_cursor=None, unread=0)
    await warm_keys(session, ctx.tenant_id)
    repository = AlertRepository(session, ctx)
    rows = await repository.page(
        ctx.user_id,
        cursor=decode_keyset(cursor, datetime.fromisoformat),
        limit=limit + 1,
        unread_only=unread_only,
    )
    page = list(rows[:limit])
    contacts = {c.id: c for c in await ContactRepository(session, ctx).by_ids(a.contact_id for a in page)}
    members = await members_by_id(session, ctx, [a.member_id for a in page if a.member_id])
    items = []
    for row in page:
        item = AlertRead.model_validate(row, from_attributes=True)
        contact, member = contacts.get(row.contact_id), members.get(row.member_id) if row.member_id else None
        item.contact_name = contact.name if contact is not None else None
        item.member_name = member.name if member is not None else None
        items.append(item)
    return AlertPage(
        items=items,
        next_cursor=encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
        if len(rows) > limit
        else None,
        unread=await repository.unread(ctx.user_id),
    )


async def mark_alert_read(session: AsyncSession, ctx: TenantContext, alert_id: uuid.UUID) -> AlertRead:
    alert = await AlertRepository(session, ctx).get_or_404(alert_id)
    if alert.user_id != ctx.user_id:
        raise NotFound()
    if alert.read_at is None:
        alert.read_at = utcnow()
        await session.flush()
    return AlertRead.model_validate(alert, from_attributes=True)


async def mark_all_alerts_read(session: AsyncSession, ctx: TenantContext) -> int:
    if ctx.user_id is None:
        return 0
    return await AlertRepository(session, ctx).mark_all_read(ctx.user_id, utcnow())


async def unread_alerts(session: AsyncSession, ctx: TenantContext) -> int:
    return 0 if ctx.user_id is None else await AlertRepository(session, ctx).unread(ctx.user_id)


__all__ = [
    "Applier",
    "access_contact",
    "count_contacts",
    "edit_relation",
    "get_contact",
    "list_contacts",
    "on_contact_event",
    "rebuild_keywords",
    "reveal_mobiles",
    "run_bulk_tag",
    "select_contacts",
    "set_relation_tags",
    "start_bulk_tag",
    "start_sync",
    "sync_from_wecom",
]


# --- for the customer-group domain: which group members are customers, and what it may show of them -------


@dataclass(frozen=True)
class CustomerBrief:
    """What another domain may show of a customer: the id (for a link to the detail), nickname, type."""

    id: uuid.UUID
    name: str | None
    corp_name: str | None
    contact_type: ContactType


async def customers_by_external_userid(
    session: AsyncSession, ctx: TenantContext, external_userids: Iterable[str]
) -> dict[str, CustomerBrief | None]:
    """The tenant's customers among ``external_userids`` (an id of no customer is absent): a customer
    the caller may see maps to its brief, any other to None, so that a caller never learns the name of
    a customer outside their data scope. "May see" is :func:`access_contact`'s rule (a follow relation
    of a visible member) plus ``customers.view``. Only visible customers are decrypted."""
    from huike.permission.catalog import Permission
    from huike.permission.service import resolve

    wanted = sorted({u for u in external_userids if u})
    found: dict[str, uuid.UUID] = {}
    contacts = ContactRepository(session, ctx)
    for start in range(0, len(wanted), 500):
        by_userid = (
            contacts.select()
            .where(ExternalContact.external_userid.in_(wanted[start : start + 500]))
            .with_only_columns(ExternalContact.external_userid, ExternalContact.id)
        )
        found.update((userid, id) for userid, id in (await session.execute(by_userid)).all())
    if not found:
        return {}
    ctx = await resolve(session, ctx)
    allowed: set[uuid.UUID] = set()
    if ctx.can(Permission.customers_view):
        visible = await visible_member_ids(session, ctx)
        ids = list(found.values())
        if visible is None:
            allowed.update(ids)
        else:
            members = set(visible)
            follows = FollowRepository(session, ctx)
            for start in range(0, len(ids), 500):
                followers = (
                    follows.select()
                    .where(FollowRelation.contact_id.in_(ids[start : start + 500]))
                    .with_only_columns(FollowRelation.contact_id, FollowRelation.member_id)
                )
                rows = (await session.execute(followers)).all()
                allowed.update(contact_id for contact_id, member_id in rows if member_id in members)
    briefs: dict[uuid.UUID, CustomerBrief] = {}
    if allowed:
        await warm_keys(session, ctx.tenant_id)
        for contact in await contacts.by_ids(allowed):
            briefs[contact.id] = CustomerBrief(
                contact.id, contact.name, contact.corp_name, ContactType(contact.contact_type)
            )
    return {userid: briefs.get(id) for userid, id in found.items()}
