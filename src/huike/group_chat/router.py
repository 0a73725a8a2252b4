"""Customer groups (客户群) and the tenant's own group tags. Every list, detail, count and trend is
narrowed to the groups whose owner the caller may see (see :mod:`huike.group_chat.repository`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response

from huike.core.db import writes_on_get_when
from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.group_chat import service
from huike.group_chat.models import GroupStatus, MemberType
from huike.group_chat.schemas import (
    GroupBulkTags,
    GroupBulkTagsResult,
    GroupChatDetail,
    GroupChatPage,
    GroupChatSyncIn,
    GroupMemberPage,
    GroupOverview,
    GroupOwnerList,
    GroupSort,
    GroupTagIn,
    GroupTagList,
    GroupTagRead,
    GroupTagsSet,
    GroupTagUpdate,
    MemberState,
    Trend,
)
from huike.job.schemas import JobRead
from huike.permission.deps import GroupsManage, GroupsView
from huike.security.deps import WarmTenant
from huike.security.sessions import CurrentTenant

router = make_router(prefix="/api/v1/group-chats", tag="group_chats", responses=error_responses(401, 422))
tags = make_router(prefix="/api/v1/group-chat-tags", tag="group_chats", responses=error_responses(401, 422))


@router.post("/sync", response_model=JobRead, status_code=202, responses=error_responses(403, 409))
async def sync(session: SessionDep, ctx: CurrentTenant, body: GroupChatSyncIn | None = None) -> object:
    """Start a full sync of customer groups from WeCom (admins; 409 while one is queued or running)."""
    return await service.start_sync(session, ctx, full=body.full if body else False)


def _audited_view(request: Request) -> bool:
    """The one list request that may write: the first page filtered by owner (``owner_id`` or
    ``owner_userid``), which audits a view of another member's group list (R-ADM-1,
    :func:`service.list_groups`). Every other list request reads only, so it never waits for SQLite's
    write lock while a sync writes (ADR 0010)."""
    query = request.query_params
    return ("owner_id" in query or "owner_userid" in query) and "cursor" not in query


@router.get("", response_model=GroupChatPage, responses=error_responses(400, 403))
@writes_on_get_when(_audited_view)
async def list_groups(
    session: SessionDep,
    ctx: WarmTenant,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    owner_id: Annotated[list[uuid.UUID] | None, Query(max_length=100)] = None,
    keyword: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    tag_id: Annotated[list[uuid.UUID] | None, Query(max_length=50)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    status: Annotated[list[GroupStatus] | None, Query()] = None,
    owner_userid: Annotated[list[str] | None, Query(max_length=100)] = None,
    sort: GroupSort = GroupSort.created_desc,
) -> GroupChatPage:
    """Groups newest first. ``owner_id`` (repeatable): groups of these members; ``owner_userid``
    (repeatable): of these owners' UserIDs (e.g. owners who left); ``tag_id`` (repeatable): groups
    with any of these local tags; ``created_from`` ≤ creation < ``created_to``; ``status``
    (repeatable); ``sort``: by creation time or size. ``total`` counts every match. Filtering by
    owner (either way) asks for members' group lists: 403 outside the caller's data scope, and the
    first page of another member's list is audited (R-ADM-1)."""
    return await service.list_groups(
        session,
        ctx,
        limit=limit,
        cursor=cursor,
        owner_ids=owner_id,
        keyword=keyword,
        tag_ids=tag_id,
        created_from=created_from,
        created_to=created_to,
        statuses=status,
        owner_userids=owner_userid,
        sort=sort,
    )


OwnerIds = Annotated[list[uuid.UUID] | None, Query(max_length=100)]
OwnerUserids = Annotated[list[str] | None, Query(max_length=100)]


@router.get("/owners", response_model=GroupOwnerList)
async def owners(session: SessionDep, ctx: GroupsView) -> GroupOwnerList:
    """Owners of the live groups the caller may see, with their group counts (the owner filter)."""
    return await service.list_owners(session, ctx)


@router.get("/overview", response_model=GroupOverview)
async def overview(
    session: SessionDep, ctx: GroupsView, owner_id: OwnerIds = None, owner_userid: OwnerUserids = None
) -> GroupOverview:
    """Totals over the groups the caller may see (optionally of these owners): groups, people in
    them, groups created today, joins and quits today and over the last 7 days, groups by status."""
    return await service.overview(session, ctx, owner_ids=owner_id, owner_userids=owner_userid)


@router.get("/trend", response_model=Trend)
async def trend_of_groups(
    session: SessionDep,
    ctx: GroupsView,
    days: Annotated[int, Query(ge=1, le=180)] = 30,
    owner_id: OwnerIds = None,
    owner_userid: OwnerUserids = None,
) -> Trend:
    """One point a day (Asia/Shanghai) up to today, summed over the groups the caller may see
    (optionally of these owners): people in them at the end of the day, joins and quits."""
    return await service.trend_of_groups(session, ctx, days, owner_ids=owner_id, owner_userids=owner_userid)


@router.post("/bulk-tags", response_model=GroupBulkTagsResult, responses=error_responses(403, 404))
async def bulk_tags(session: SessionDep, ctx: GroupsManage, body: GroupBulkTags) -> GroupBulkTagsResult:
    """Add and remove local tags on many groups (404 when one is not visible; nothing changes then)."""
    return await service.bulk_tags(session, ctx, body)


@router.get("/{group_chat_id}", response_model=GroupChatDetail, responses=error_responses(404))
async def get(session: SessionDep, ctx: WarmTenant, group_chat_id: uuid.UUID) -> GroupChatDetail:
    """The group, its present members and its statistics."""
    return await service.get_group(session, ctx, group_chat_id)


@router.get("/{group_chat_id}/members", response_model=GroupMemberPage, responses=error_responses(403, 404))
async def members(
    session: SessionDep,
    ctx: GroupsView,
    group_chat_id: uuid.UUID,
    state: MemberState = MemberState.present,
    type: MemberType | None = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> GroupMemberPage:
    """The group's people, latest joins first: ``state`` present (default), left or all; ``type``
    member or external."""
    return await service.list_people(
        session, ctx, group_chat_id, state=state, kind=type, offset=offset, limit=limit
    )


@router.get("/{group_chat_id}/trend", response_model=Trend, responses=error_responses(404))
async def trend(
    session: SessionDep,
    ctx: CurrentTenant,
    group_chat_id: uuid.UUID,
    days: Annotated[int, Query(ge=1, le=180)] = 30,
) -> Trend:
    """One point a day (Asia/Shanghai) up to today: size at the end of the day, joins and quits."""
    return await service.trend(session, ctx, group_chat_id, days)


@router.put("/{group_chat_id}/tags", response_model=GroupChatDetail, responses=error_responses(404))
async def set_tags(
    session: SessionDep, ctx: WarmTenant, group_chat_id: uuid.UUID, body: GroupTagsSet
) -> GroupChatDetail:
    """Replace the group's local tags (``group_chat.unknown_tags`` for ids that are not the tenant's)."""
    return await service.set_group_tags(session, ctx, group_chat_id, body.tag_ids)


@tags.get("", response_model=GroupTagList)
async def list_tags(session: SessionDep, ctx: CurrentTenant) -> GroupTagList:
    return await service.list_tags(session, ctx)


@tags.post("", response_model=GroupTagRead, status_code=201, responses=error_responses(409))
async def create_tag(session: SessionDep, ctx: CurrentTenant, body: GroupTagIn) -> GroupTagRead:
    return await service.create_tag(session, ctx, body)


@tags.patch("/{group_chat_tag_id}", response_model=GroupTagRead, responses=error_responses(404, 409))
async def update_tag(
    session: SessionDep, ctx: CurrentTenant, group_chat_tag_id: uuid.UUID, body: GroupTagUpdate
) -> GroupTagRead:
    return await service.update_tag(session, ctx, group_chat_tag_id, body)


@tags.delete("/{group_chat_tag_id}", status_code=204, response_class=Response, responses=error_responses(404))
async def delete_tag(session: SessionDep, ctx: CurrentTenant, group_chat_tag_id: uuid.UUID) -> Response:
    await service.delete_tag(session, ctx, group_chat_tag_id)
    return Response(status_code=204)
