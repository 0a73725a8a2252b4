"""Customers (external contacts): list, count, detail, reveal, edit, bulk tag, export, sync; alerts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from huike.core.db import ReadSessions, commit, get_read_sessions, writes_on_get
from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.core.schemas import CursorPage
from huike.external_contact import export, service
from huike.external_contact.models import ContactStatus, ContactType
from huike.external_contact.schemas import (
    AlertPage,
    AlertRead,
    BulkTagIn,
    ContactCount,
    ContactDetail,
    ContactFilters,
    ContactRead,
    FollowRelationEdit,
    FollowRelationTagsIn,
    GroupMembership,
    RevealRead,
)
from huike.job.schemas import JobRead
from huike.privacy.audit.service import record
from huike.security.deps import WarmTenant
from huike.security.keys import warm_keys
from huike.security.sessions import CurrentTenant

router = make_router(
    prefix="/api/v1/external-contacts", tag="external_contacts", responses=error_responses(401, 403, 422)
)
relations = make_router(
    prefix="/api/v1/follow-relations", tag="external_contacts", responses=error_responses(401, 403, 422)
)
alerts = make_router(prefix="/api/v1/alerts", tag="alerts", responses=error_responses(401, 403, 422))


def contact_filters(
    tag_any: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    tag_all: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    tag_none: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    owner_id: Annotated[list[uuid.UUID] | None, Query(max_length=500)] = None,
    department_id: uuid.UUID | None = None,
    added_from: datetime | None = None,
    added_to: datetime | None = None,
    add_way: Annotated[list[int] | None, Query(max_length=20)] = None,
    state: Annotated[list[str] | None, Query(max_length=50)] = None,
    contact_type: ContactType | None = None,
    status: ContactStatus | None = None,
    group_membership: GroupMembership | None = None,
    group_chat_id: uuid.UUID | None = None,
    keyword: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    mobile: Annotated[str | None, Query(min_length=3, max_length=32)] = None,
) -> ContactFilters:
    return ContactFilters(
        tag_any=tag_any or [],
        tag_all=tag_all or [],
        tag_none=tag_none or [],
        owner_ids=owner_id or [],
        department_id=department_id,
        added_from=added_from,
        added_to=added_to,
        add_ways=add_way or [],
        states=state or [],
        contact_type=contact_type,
        status=status,
        group_membership=group_membership,
        group_chat_id=group_chat_id,
        keyword=keyword,
        mobile=mobile,
    )


Filters = Annotated[ContactFilters, Depends(contact_filters)]


@router.post("/sync", response_model=JobRead, status_code=202, responses=error_responses(409))
async def sync(session: SessionDep, ctx: CurrentTenant) -> object:
    """Start a full sync of customers from WeCom (409 while one is queued or running)."""
    return await service.start_sync(session, ctx)


@router.get("", response_model=CursorPage[ContactRead], responses=error_responses(400))
async def list_contacts(
    session: SessionDep,
    ctx: WarmTenant,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    order: Annotated[str, Query(pattern="^-?(added_at|lost_at)$")] = "-added_at",
) -> CursorPage[ContactRead]:
    """Customers, newest first by default (keyset pagination over the order's time, then id).
    ``order``: ``added_at`` (first add time) or ``lost_at`` (when lost: lists only customers that
    were lost), ``-`` for descending. A cursor belongs to the order it was issued for."""
    return await service.list_contacts(
        session,
        ctx,
        filters,
        limit=limit,
        cursor=cursor,
        descending=order.startswith("-"),
        sort=order.lstrip("-"),
    )


@router.get("/count", response_model=ContactCount)
async def count(session: SessionDep, ctx: WarmTenant, filters: Filters) -> ContactCount:
    return ContactCount(count=await service.count_contacts(session, ctx, filters))


async def _export(
    readers: ReadSessions, session: SessionDep, ctx: WarmTenant, filters: ContactFilters, kind: str
) -> StreamingResponse:
    total = await service.count_contacts(session, ctx, filters)
    await record(
        session,
        ctx,
        "data.exported",
        object_type="external_contact",
        object_id=None,
        details={
            "format": kind,
            "count": total,
            "filters": sorted(filters.model_dump(exclude_defaults=True)),
        },
    )
    await commit(session)  # the audit row is in before the first byte leaves
    stream = export.csv_stream if kind == "csv" else export.xlsx_stream

    async def body() -> AsyncIterator[bytes]:
        # the rows are read in a read-only transaction of their own: on SQLite the request's write
        # session would hold the write lock for as long as the download takes
        async with readers() as reader:
            await warm_keys(reader, ctx.tenant_id)  # decrypting needs the tenant's keys in this session
            async for chunk in stream(reader, ctx, filters):
                yield chunk

    if kind == "csv":
        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
        )
    return StreamingResponse(
        body(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="customers.xlsx"'},
    )


@router.get("/export.csv", response_class=StreamingResponse)
@writes_on_get  # the export is audited before the first byte leaves
async def export_csv(
    readers: Annotated[ReadSessions, Depends(get_read_sessions)],
    session: SessionDep,
    ctx: WarmTenant,
    filters: Filters,
) -> StreamingResponse:
    """The filtered list as CSV (UTF-8 with BOM), streamed; audited as data.exported."""
    return await _export(readers, session, ctx, filters, "csv")


@router.get("/export.xlsx", response_class=StreamingResponse)
@writes_on_get
async def export_xlsx(
    readers: Annotated[ReadSessions, Depends(get_read_sessions)],
    session: SessionDep,
    ctx: WarmTenant,
    filters: Filters,
) -> StreamingResponse:
    """The filtered list as an Excel workbook, streamed; audited as data.exported."""
    return await _export(readers, session, ctx, filters, "xlsx")


@router.post("/bulk-tag", response_model=JobRead, status_code=202)
async def bulk_tag(session: SessionDep, ctx: WarmTenant, body: BulkTagIn) -> object:
    """Tag and untag the filtered selection through WeCom as a job; per-item failures in its result."""
    return await service.start_bulk_tag(session, ctx, body)


@router.get("/{external_contact_id}", response_model=ContactDetail, responses=error_responses(404))
async def get(session: SessionDep, ctx: WarmTenant, external_contact_id: uuid.UUID) -> ContactDetail:
    """The customer with every follow relation (remark mobiles masked) and the timeline."""
    return await service.get_contact(session, ctx, external_contact_id)


@router.post(
    "/{external_contact_id}/reveal-mobiles", response_model=RevealRead, responses=error_responses(404)
)
async def reveal_mobiles(session: SessionDep, ctx: WarmTenant, external_contact_id: uuid.UUID) -> RevealRead:
    """The full remark mobiles; audited as data.revealed."""
    return await service.reveal_mobiles(session, ctx, external_contact_id)


@relations.patch(
    "/{follow_relation_id}", response_model=ContactDetail, responses=error_responses(404, 409, 429, 502)
)
async def edit(
    session: SessionDep, ctx: WarmTenant, follow_relation_id: uuid.UUID, body: FollowRelationEdit
) -> ContactDetail:
    """Edit remark, description, remark mobiles: pushed to WeCom first, then stored."""
    return await service.edit_relation(session, ctx, follow_relation_id, body)


@relations.put(
    "/{follow_relation_id}/tags", response_model=ContactDetail, responses=error_responses(404, 409, 429, 502)
)
async def set_tags(
    session: SessionDep, ctx: WarmTenant, follow_relation_id: uuid.UUID, body: FollowRelationTagsIn
) -> ContactDetail:
    """Set the relation's corp tags: pushed to WeCom (mark_tag) first, then stored."""
    return await service.set_relation_tags(session, ctx, follow_relation_id, body)


@alerts.get("", response_model=AlertPage)
async def list_alerts(
    session: SessionDep,
    ctx: WarmTenant,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    unread_only: bool = False,
) -> AlertPage:
    """The caller's alerts (lost customers), newest first, with the unread count."""
    return await service.list_alerts(session, ctx, limit=limit, cursor=cursor, unread_only=unread_only)


@alerts.post("/read-all", response_model=ContactCount)
async def read_all(session: SessionDep, ctx: CurrentTenant) -> ContactCount:
    return ContactCount(count=await service.mark_all_alerts_read(session, ctx))


@alerts.post("/{alert_id}/read", response_model=AlertRead, responses=error_responses(404))
async def read(session: SessionDep, ctx: CurrentTenant, alert_id: uuid.UUID) -> AlertRead:
    return await service.mark_alert_read(session, ctx, alert_id)
