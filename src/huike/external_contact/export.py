"""Export of the filtered list, streamed: CSV (UTF-8 with BOM, for Excel) or xlsx.

Rows are read a page at a time by keyset and written out at once, so memory stays flat in the number
of customers. xlsx is written by XlsxWriter in ``constant_memory`` mode (each row is flushed to a
temporary file as it is written) into a temporary file, which is then streamed and deleted.
The audit row ``data.exported`` (with the count) is written before the first byte leaves.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.models import FollowRelation
from huike.external_contact.schemas import ContactFilters

PAGE = 500
HEADER = ("客户ID", "昵称", "企业名称", "类型", "状态", "添加时间", "跟进成员", "备注", "标签", "渠道")


async def _rows(
    session: AsyncSession, ctx: TenantContext, filters: ContactFilters
) -> AsyncIterator[list[Sequence[Any]]]:
    resolved = await service.resolve(session, ctx, filters)
    cursor = None
    known: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})  # members and tags: read once per export
    while True:
        found, more = await service.select_contacts(
            session, ctx, resolved, filters.keyword, cursor=cursor, limit=PAGE, descending=False
        )
        page = found[:PAGE]
        relations: list[FollowRelation] = [r for _, rs in page for r in rs]
        members, links, tags = await service._refs(session, ctx, relations, known)
        rows: list[Sequence[Any]] = []
        for contact, own in page:
            read = service._contact_read(contact, own, members, links, tags)
            rows.append(
                (
                    str(contact.id),
                    contact.name or "",
                    contact.corp_name or "",
                    contact.contact_type,
                    contact.status,
                    contact.added_at.strftime("%Y-%m-%d %H:%M:%S"),
                    " ".join(o.name or o.wecom_userid for o in read["owners"]),
                    " ".join(r.remark for r in own if r.remark),
                    " ".join(t.name for t in read["tags"]),
                    " ".join(sorted({r.state for r in own if r.state})),
                )
            )
        if rows:
            yield rows
        for contact, own in page:  # keep the session's identity map small: memory stays flat
            for relation in own:
                session.expunge(relation)
            session.expunge(contact)
        if not more or not page:
            return
        cursor = (page[-1][0].added_at, page[-1][0].id)


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
            for row in rows:
                sheet.write_row(row_number, 0, [str(v) for v in row])
                row_number += 1
        workbook.close()
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file, read in 64 KiB chunks
            while chunk := file.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
