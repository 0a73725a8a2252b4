"""The export lists what the list shows — the same customers for the same filters and data scope, in
the list's order (oldest first), with the list's names, owners and tags and the detail's remarks and
channels — whichever way it is read (pages and id lists of any size), as CSV and as xlsx."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import uuid
import zipfile
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import export, service
from huike.external_contact.models import ContactTag, FollowRelation, RelationStatus
from huike.external_contact.schemas import ContactFilters, FollowRelationTagsIn
from huike.member.models import Member
from huike.security.keys import warm_keys
from huike.tag.models import Tag

pytestmark = pytest.mark.usefixtures("wired")

SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


async def _listed(session: AsyncSession, ctx: TenantContext, filters: ContactFilters) -> list[list[str]]:
    """The rows the export should hold, from the list (oldest first) and each customer's detail."""
    rows: list[list[str]] = []
    cursor = None
    while True:
        page = await service.list_contacts(session, ctx, filters, limit=7, cursor=cursor, descending=False)
        for item in page.items:
            detail = await service.get_contact(session, TenantContext.system(ctx.tenant_id), item.id)
            relations = detail.follow_relations
            rows.append(
                [
                    str(item.id),
                    item.name or "",
                    item.corp_name or "",
                    str(item.contact_type),
                    str(item.status),
                    item.added_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    " ".join(o.name or o.wecom_userid for o in item.owners),
                    " ".join(r.remark for r in relations if r.remark),
                    " ".join(t.name for t in item.tags),
                    " ".join(sorted({r.state for r in relations if r.state})),
                ]
            )
        cursor = page.next_cursor
        if cursor is None:
            return rows


async def _exported_csv(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> list[list[str]]:
    content = b"".join([chunk async for chunk in export.csv_stream(session, ctx, filters)])
    assert content.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    assert tuple(header) == export.HEADER
    return rows


async def _exported_xlsx(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> list[list[str]]:
    content = b"".join([chunk async for chunk in export.xlsx_stream(session, ctx, filters)])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows: list[list[str]] = []
    for row in sheet.iter(f"{SHEET}row"):
        cells = ["" for _ in export.HEADER]
        for cell in row.iter(f"{SHEET}c"):
            column = ord(cell.attrib["r"][0]) - ord("A")
            cells[column] = "".join(t.text or "" for t in cell.iter(f"{SHEET}t"))
        rows.append(cells)
    assert tuple(rows[0]) == export.HEADER
    return rows[1:]


async def _vary(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """What the synced corp lacks: a relation a member ended beside a live one, each with a tag the
    other lacks (the list shows the live one's), a customer whose only relation ended (its owners
    and tags are then the ended relation's), two channels on one customer, a deleted tag and a
    member without a name."""
    relations = (
        (
            await session.execute(
                select(FollowRelation)
                .where(FollowRelation.tenant_id == tenant_id, FollowRelation.status == "active")
                .order_by(FollowRelation.added_at, FollowRelation.id)
            )
        )
        .scalars()
        .all()
    )
    by_contact: dict[uuid.UUID, list[FollowRelation]] = {}
    for relation in relations:
        by_contact.setdefault(relation.contact_id, []).append(relation)
    several = [rs for rs in by_contact.values() if len(rs) >= 2]
    single = [rs for rs in by_contact.values() if len(rs) == 1]
    assert len(several) >= 2
    assert single
    tags = (
        (
            await session.execute(
                select(Tag)
                .where(Tag.tenant_id == tenant_id, Tag.deleted.is_(False), Tag.wecom_id.is_not(None))
                .order_by(Tag.name, Tag.id)
            )
        )
        .scalars()
        .all()
    )
    assert len(tags) >= 3
    admin = TenantContext.system(tenant_id)
    ended, live = several[0][0], several[0][1]
    for relation, tag_ids in (
        (ended, [tags[0].id, tags[1].id]),
        (live, [tags[1].id]),
        (single[0][0], [tags[0].id]),
    ):
        await service.set_relation_tags(session, admin, relation.id, FollowRelationTagsIn(tag_ids=tag_ids))
    ended.status = str(RelationStatus.member_deleted_customer)
    single[0][0].status = str(RelationStatus.transferred)
    several[1][0].state, several[1][1].state = "渠道-b", "channel-a"
    tags[2].deleted = True
    member = await session.get(Member, live.member_id)
    assert member is not None
    member.name = None
    await session.flush()


async def _cases(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    members = list(
        (
            await session.execute(
                select(FollowRelation.member_id)
                .where(FollowRelation.tenant_id == tenant_id, FollowRelation.member_id.is_not(None))
                .group_by(FollowRelation.member_id)
                .order_by(func.count().desc(), FollowRelation.member_id)
            )
        ).scalars()
    )
    tags = list(
        (
            await session.execute(
                select(ContactTag.tag_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(ContactTag.tenant_id == tenant_id, Tag.deleted.is_(False))
                .group_by(ContactTag.tag_id)
                .order_by(func.count().desc(), ContactTag.tag_id)
            )
        ).scalars()
    )
    ctx = TenantContext.system(tenant_id)
    everyone = await service.list_contacts(session, ctx, ContactFilters(), limit=200, cursor=None)
    named = next(i for i in everyone.items if i.name)
    middle = sorted(i.added_at for i in everyone.items)[len(everyone.items) // 2]
    cases: list[dict[str, Any]] = [
        {},
        {"tag_any": tags[:2]},
        {"tag_all": tags[:2]},
        {"tag_none": tags[:1]},
        {"owner_ids": members[-2:]},
        {"keyword": named.name[-1:]},  # confirmed by decryption, like the list
        {"status": "active", "contact_type": "wechat"},
        {"added_from": middle, "tag_any": tags[1:3]},
        {"group_membership": "none"},
    ]
    return cases, members


async def test_export_rows_are_the_lists_rows(
    customers: uuid.UUID, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warm_keys(session, customers)  # the router warms the read session's keys the same way
    await _vary(session, customers)
    cases, members = await _cases(session, customers)
    admin = TenantContext.system(customers)
    everything = await _listed(session, admin, ContactFilters())
    assert len(everything) == 40
    # not vacuous: decrypted names, corp names and remarks, owners, tags and channels are compared
    for column in (1, 2, 6, 7, 8, 9):
        assert any(row[column] for row in everything), export.HEADER[column]
    for page in (3, export.PAGE):  # pages cut short, then as shipped
        monkeypatch.setattr(export, "PAGE", page)
        for values in cases:
            filters = ContactFilters.model_validate(values)
            expected = await _listed(session, admin, filters)
            assert await _exported_csv(session, admin, filters) == expected, (values, page)
            if page == 3:
                assert await _exported_xlsx(session, admin, filters) == expected, values
    # keyword candidates that decryption rejects (here: half of them) leave pages short, not last
    common = Counter(ch for row in everything for ch in set(row[1])).most_common(1)[0][0]
    matches = service._matches
    monkeypatch.setattr(
        service, "_matches", lambda texts, keyword: matches(texts, keyword) and len("".join(texts)) % 2 == 0
    )
    monkeypatch.setattr(export, "PAGE", 2)
    filters = ContactFilters(keyword=common)
    expected = await _listed(session, admin, filters)
    assert len(expected) > 2
    assert await _exported_csv(session, admin, filters) == expected
    monkeypatch.setattr(service, "_matches", matches)
    # a data scope (the members whose customers a user sees) narrows the export like the list
    scoped = TenantContext(customers, uuid.uuid4())
    visible = sorted(members[:2], key=str)
    monkeypatch.setattr(service, "visible_member_ids", lambda session, ctx: _returns(visible))
    for values in ({}, {"tag_any": cases[1]["tag_any"]}):
        filters = ContactFilters.model_validate(values)
        expected = await _listed(session, scoped, filters)
        assert 0 < len(expected) < len(everything) or values
        assert await _exported_csv(session, scoped, filters) == expected, values


async def test_a_download_stopped_midway_leaves_the_session_usable_and_no_file(
    customers: uuid.UUID, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warm_keys(session, customers)
    admin = TenantContext.system(customers)
    monkeypatch.setattr(export, "PAGE", 3)
    made: list[str] = []
    mkstemp = tempfile.mkstemp

    def recorded(*args: Any, **kwargs: Any) -> tuple[int, str]:
        handle, path = mkstemp(*args, **kwargs)
        made.append(path)
        return handle, path

    monkeypatch.setattr(tempfile, "mkstemp", recorded)
    for stream, taken in ((export.csv_stream, 3), (export.xlsx_stream, 1)):
        chunks = stream(session, admin, ContactFilters())
        for _ in range(taken):  # CSV: the header and two pages; xlsx: the workbook's first bytes
            await anext(chunks)
        await chunks.aclose()
        assert await service.count_contacts(session, admin, ContactFilters()) == 40
    workbooks = [path for path in made if path.endswith(".xlsx")]  # XlsxWriter makes its own too
    assert len(workbooks) == 1
    assert not os.path.exists(workbooks[0])  # noqa: ASYNC240 - a local file, once


async def test_export_over_http_is_audited_and_matches_the_count(
    customers: uuid.UUID, admin: httpx.AsyncClient
) -> None:
    params = {"status": "active"}
    count = (await admin.get("/api/v1/external-contacts/count", params=params)).json()["count"]
    response = await admin.get("/api/v1/external-contacts/export.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == count + 1
    listed = (await admin.get("/api/v1/external-contacts", params={**params, "limit": 200})).json()["items"]
    assert [row[0] for row in rows[1:]] == [i["id"] for i in sorted(listed, key=_list_order)]


def _list_order(item: dict[str, Any]) -> tuple[datetime, str]:
    return datetime.fromisoformat(item["added_at"]), item["id"]


async def _returns(value: Any) -> Any:
    return value
