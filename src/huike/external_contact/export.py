"""Export of the filtered list, streamed: CSV (UTF-8 with BOM, for Excel) or xlsx.

The customers are the list's for the same filters and data scope: ``service.resolve`` turns the
filters into :class:`~huike.external_contact.filters.Resolved`, and :func:`filters.clauses` are the
conditions the list's pages and its count apply; a keyword is confirmed by decryption like the list
does (``service._texts`` / ``service._matches``). Oldest first, read :data:`PAGE` customers at a time
by keyset in the list's order and written out at once, so memory stays flat in the number of
customers.

Rows are read as plain columns, not ORM entities: loading entities (identity map, a load event
decrypting every encrypted column, the relations' descriptions and remark corp names included) was
most of the export's time (docs/benchmarks.md, "Export"). The few encrypted columns the export
shows are decrypted by :class:`_Opener` with the key view, AAD and errors of the ORM's load event
(``security.fields``). Members and tags are read once per export.

xlsx is written by XlsxWriter in ``constant_memory`` mode (each row is flushed to a temporary file
as it is written) into a temporary file, which is then streamed and deleted. The audit row
``data.exported`` (with the count) is written by the router before the first byte leaves.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    func,
    inspect,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.filters import Resolved, after, clauses, row_clauses
from huike.external_contact.models import LIVE_STATUSES, ContactTag, ExternalContact, FollowRelation
from huike.external_contact.repository import live_tags, members_by_id
from huike.external_contact.schemas import ContactFilters
from huike.security.crypto import FieldContext, decrypt_value
from huike.security.errors import DecryptionFailed
from huike.security.fields import crypto_of, log_decrypt_failed
from huike.security.keys import KeyFamily, require_scope_keys

PAGE = 1000  # customers per page: three or four statements, a few MB in memory
HEADER = ("客户ID", "昵称", "企业名称", "类型", "状态", "添加时间", "跟进成员", "备注", "标签", "渠道")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
LIVE = frozenset(str(s) for s in LIVE_STATUSES)


class _Opener:
    """Decrypts ``model``'s encrypted columns read as plain columns of the tenant's rows: the key,
    AAD (tenant, table, column, row) and errors of the ORM's load event, without an entity."""

    def __init__(self, session: AsyncSession, model: type[Any], tenant_id: uuid.UUID) -> None:
        crypto = crypto_of(inspect(model))
        assert crypto is not None
        assert crypto.tenant_key is not None
        self.tenant_id, self.table = tenant_id, crypto.table
        self.columns: dict[str, str] = {}
        self.keys: dict[str, Any] = {}
        for attr in crypto.encrypted:
            scope, _ = crypto.scope({crypto.tenant_key: tenant_id}, attr.spec.scope)
            self.columns[attr.key] = attr.column
            self.keys[attr.key] = require_scope_keys(session.sync_session, scope, KeyFamily.data).key

    def __call__(self, key: str, row_id: str, value: str | None) -> str | None:
        if value is None:
            return None
        where = FieldContext(self.tenant_id, self.table, self.columns[key], row_id)
        try:
            return decrypt_value(value, self.keys[key], where)
        except DecryptionFailed as exc:
            log_decrypt_failed(exc, where)
            raise


def _raw(column: Any) -> Any:
    """``column`` as the driver returns it, without its type's conversion (an id: 32 hex digits on
    SQLite, asyncpg's UUID on PostgreSQL; an encrypted column: its text). Converting a UUID costs
    some 2 µs and a customer brings ~20 of them with its relations and tag links; raw ids are only
    compared with ids read the same way, looked up with :func:`_among`, or shown by :func:`_text`."""
    return type_coerce(column, String())


def _among(column: Any, ids: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column`` (an id) is one of the raw ``ids``, passed as one value: a list of bound values
    costs a bound parameter each to render and to plan, and makes a new statement for each length
    (which SQLite's statement cache and asyncpg's prepared statements then keep)."""
    if dialect == "postgresql":
        return cast(ColumnElement[bool], column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid()))))
    hex_ids: Select[Any] = select(literal_column("value")).select_from(func.json_each(json.dumps(list(ids))))
    return cast(ColumnElement[bool], column.in_(hex_ids))  # SQLite keeps a UUID as its 32 hex digits


def _text(raw: Any) -> str:
    """A raw id as ``str(uuid)`` shows it."""
    if isinstance(raw, uuid.UUID):  # asyncpg's
        return str(raw)
    if len(raw) == 32:  # SQLite: the hex digits
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(uuid.UUID(raw))


@dataclass(slots=True)
class _Relation:
    id: Any  # raw (:func:`_raw`)
    member_id: Any  # raw, or None
    member_userid: str
    remark: str | None
    remark_corp_name: str | None
    state: str | None
    status: str


@dataclass(slots=True)
class _Contact:
    id: Any  # raw
    text: str  # the id as shown
    name: str | None
    corp_name: str | None
    contact_type: str
    status: str
    added_at: datetime
    relations: list[_Relation] = field(default_factory=list)  # all of them, oldest first
    # whose owners and tags the list shows (service._contact_read): the live relations, or all of
    # them when none is live
    shown: list[_Relation] = field(default_factory=list)
    tag_ids: set[Any] = field(default_factory=set)  # raw; of the shown relations


class _Names:
    """Member names and tags, each read once per export, by raw id (``None``: no such member, or a
    deleted tag)."""

    def __init__(self) -> None:
        self.members: dict[Any, str | None] = {}
        self.tags: dict[Any, tuple[str, str] | None] = {}  # (name, id): the list's order of tags

    async def read(self, session: AsyncSession, ctx: TenantContext, contacts: Sequence[_Contact]) -> None:
        members = {r.member_id for c in contacts for r in c.shown if r.member_id is not None}
        wanted = {uuid.UUID(_text(m)): m for m in members - self.members.keys()}
        if wanted:
            found = await members_by_id(session, ctx, wanted)
            self.members.update({raw: found[m].name if m in found else None for m, raw in wanted.items()})
        tags = {t for c in contacts for t in c.tag_ids}
        wanted = {uuid.UUID(_text(t)): t for t in tags - self.tags.keys()}
        if wanted:
            live = await live_tags(session, ctx, wanted)
            self.tags.update(
                {raw: (live[t].name, str(t)) if t in live else None for t, raw in wanted.items()}
            )


async def _page(
    session: AsyncSession, resolved: Resolved, cursor: tuple[datetime, uuid.UUID] | None, keyword: bool
) -> list[_Contact]:
    """Up to :data:`PAGE` customers after ``cursor`` with their relations and tags."""
    tenant_id = resolved.tenant_id
    connection = await session.connection()  # Core: plain rows, no ORM result machinery
    order = (ExternalContact.added_at, ExternalContact.id)
    where = row_clauses(resolved)  # the customer's own columns, then the probes (as the list's pages)
    probes = clauses(resolved)[len(where) :]
    if cursor is not None:
        # the keyset condition is an OR, which neither database can seek the order's index with:
        # without the plain bound beside it each page scanned every customer before it
        where += [ExternalContact.added_at >= cursor[0], after(cursor[0], cursor[1], descending=False)]
    if probes:  # the ids from the order's index alone (no row read for customers the probes reject)
        walk = select(ExternalContact.id).where(*where, *probes).order_by(*order).limit(PAGE)
        where = [ExternalContact.id.in_(walk)]
    columns: list[Any] = [
        _raw(ExternalContact.id),
        _raw(ExternalContact.name),
        _raw(ExternalContact.corp_name),
        ExternalContact.contact_type,
        ExternalContact.status,
        ExternalContact.added_at,
    ]
    found = await connection.execute(select(*columns).where(*where).order_by(*order).limit(PAGE))
    opened = _Opener(session, ExternalContact, tenant_id)
    contacts: dict[Any, _Contact] = {}
    for i, name, corp, kind, status, added in found.all():
        text = _text(i)
        name, corp = opened("name", text, name), opened("corp_name", text, corp)
        contacts[i] = _Contact(i, text, name, corp, kind, status, added)
    if not contacts:
        return []
    dialect = connection.dialect.name
    ids = list(contacts)
    columns = [
        _raw(FollowRelation.id),
        _raw(FollowRelation.contact_id),
        _raw(FollowRelation.member_id),
        FollowRelation.member_userid,
        _raw(FollowRelation.remark),
        FollowRelation.state,
        FollowRelation.status,
    ]
    if keyword:
        columns.append(_raw(FollowRelation.remark_corp_name))
    found = await connection.execute(
        select(*columns)
        .where(FollowRelation.tenant_id == tenant_id, _among(FollowRelation.contact_id, ids, dialect))
        .order_by(FollowRelation.added_at, FollowRelation.id)
    )
    opened = _Opener(session, FollowRelation, tenant_id)
    for row in found.all():
        i = row[0]
        text = _text(i) if row[4] is not None or (keyword and row[7] is not None) else ""
        contacts[row[1]].relations.append(
            _Relation(
                i,
                row[2],
                row[3],
                opened("remark", text, row[4]),
                opened("remark_corp_name", text, row[7]) if keyword else None,
                row[5],
                row[6],
            )
        )
    # the tags of a customer whose relations are all live (or none is) are those of every relation:
    # read by customer from the (tenant, contact, tag) index alone; only a customer with live and
    # ended relations needs its tags relation by relation
    found = await connection.execute(
        select(_raw(ContactTag.contact_id), _raw(ContactTag.tag_id)).where(
            ContactTag.tenant_id == tenant_id, _among(ContactTag.contact_id, ids, dialect)
        )
    )
    for contact_id, tag_id in found.all():
        contacts[contact_id].tag_ids.add(tag_id)
    mixed: dict[Any, _Contact] = {}  # relation: its customer
    for contact in contacts.values():
        contact.shown = [r for r in contact.relations if r.status in LIVE] or contact.relations
        if len(contact.shown) < len(contact.relations):
            contact.tag_ids.clear()
            mixed.update((r.id, contact) for r in contact.shown)
    if mixed:
        found = await connection.execute(
            select(_raw(ContactTag.follow_id), _raw(ContactTag.tag_id)).where(
                ContactTag.tenant_id == tenant_id, _among(ContactTag.follow_id, list(mixed), dialect)
            )
        )
        for follow_id, tag_id in found.all():
            mixed[follow_id].tag_ids.add(tag_id)
    return list(contacts.values())


def _format(contacts: Sequence[_Contact], names: _Names, keyword: str | None) -> list[Sequence[str]]:
    """The page's rows (pure: run in a worker thread)."""
    if keyword:  # the list confirms keyword candidates by decryption
        contacts = [
            c
            for c in contacts
            if service._matches(service._texts(cast(Any, c), cast(Any, c.relations)), keyword)
        ]
    members, tags = names.members, names.tags
    rows: list[Sequence[str]] = []
    for contact in contacts:
        shown_tags = {tags[t] for t in contact.tag_ids}
        shown_tags.discard(None)
        own = contact.relations
        rows.append(
            (
                contact.text,
                contact.name or "",
                contact.corp_name or "",
                contact.contact_type,
                contact.status,
                contact.added_at.strftime(TIME_FORMAT),
                " ".join(
                    (members[r.member_id] if r.member_id is not None else None) or r.member_userid
                    for r in contact.shown
                ),
                " ".join(r.remark for r in own if r.remark),
                " ".join(name for name, _ in sorted(cast(set[tuple[str, str]], shown_tags))),
                " ".join(sorted({r.state for r in own if r.state})),
            )
        )
    return rows


async def _rows(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> AsyncIterator[list[Sequence[str]]]:
    """The rows, a page at a time. A page is formatted in a worker thread, so the event loop (and
    the worker's other requests) is not held for it. The next page is read only after this one is
    written out: reading it meanwhile did not measurably help (docs/benchmarks.md), and a download
    stopped between two pages must not leave a statement running on the session."""
    resolved = await service.resolve(session, ctx, filters)
    keyword = filters.keyword
    names = _Names()
    cursor: tuple[datetime, uuid.UUID] | None = None
    while True:
        contacts = await _page(session, resolved, cursor, bool(keyword))
        if not contacts:
            return
        await names.read(session, ctx, contacts)
        rows = await asyncio.to_thread(_format, contacts, names, keyword)
        if rows:
            yield rows
        if len(contacts) < PAGE:
            return
        cursor = (contacts[-1].added_at, uuid.UUID(contacts[-1].text))


async def csv_stream(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    async for rows in _rows(session, ctx, filters):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue().encode()


def _write_rows(sheet: Any, row_number: int, rows: Sequence[Sequence[str]]) -> int:
    """Write ``rows`` from ``row_number`` on (in a worker thread); returns the next row's number."""
    write = sheet.write_string  # every cell is text (write_row would check each value's type)
    for row in rows:
        for column, value in enumerate(row):
            write(row_number, column, value)
        row_number += 1
    return row_number


async def xlsx_stream(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> AsyncIterator[bytes]:
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        sheet = workbook.add_worksheet("客户")
        sheet.write_row(0, 0, HEADER)
        row_number = 1
        async for rows in _rows(session, ctx, filters):
            row_number = await asyncio.to_thread(_write_rows, sheet, row_number, rows)
        await asyncio.to_thread(workbook.close)  # zipping the sheet: off the event loop
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file, read in 64 KiB chunks
            while chunk := file.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
