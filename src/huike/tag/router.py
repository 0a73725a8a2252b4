"""Tag groups and tags (the console's 标签管理). Writes go to WeCom first; see :mod:`huike.tag.service`.

A write answered with ``tag.reconcile_pending`` (503) or ``tag.reorder_incomplete`` (409) *did* change
WeCom: the route commits what is known (the queued sync job, the moves made) before answering."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Response
from fastapi.responses import JSONResponse

from huike.core.errors import error_response, error_responses
from huike.core.routing import SessionDep, make_router
from huike.job.schemas import JobRead
from huike.security.sessions import CurrentTenant
from huike.tag import service
from huike.tag.errors import CommitThenAnswer
from huike.tag.schemas import (
    GroupOrder,
    Rename,
    TagGroupCreate,
    TagGroupList,
    TagGroupRead,
    TagOrder,
    TagRead,
    TagsCreate,
)

T = TypeVar("T")

WRITE_ERRORS = error_responses(401, 403, 404, 409, 422, 429, 502, 503)

groups = make_router(prefix="/api/v1/tag-groups", tag="tags", responses=error_responses(401, 422))
tags = make_router(prefix="/api/v1/tags", tag="tags", responses=error_responses(401, 422))


async def _answer(work: Awaitable[T]) -> T | JSONResponse:
    """The service's result, or the error it asked to answer after the commit."""
    try:
        return await work
    except CommitThenAnswer as answer:
        return error_response(answer.error.status_code, answer.error.code, answer.error.details)


@groups.get("", response_model=TagGroupList)
async def list_groups(session: SessionDep, ctx: CurrentTenant) -> TagGroupList:
    """Live groups with their live tags, in WeCom's order (larger ``order`` first), with usage counts."""
    return await service.list_groups(session, ctx)


@groups.post("", response_model=TagGroupRead, status_code=201, responses=WRITE_ERRORS)
async def create_group(session: SessionDep, ctx: CurrentTenant, body: TagGroupCreate) -> object:
    group = await _answer(service.create_group(session, ctx, body))
    if isinstance(group, JSONResponse):
        return group
    return await service.read_group(session, ctx, group)


@groups.put("/order", response_model=TagGroupList, responses=WRITE_ERRORS)
async def reorder_groups(session: SessionDep, ctx: CurrentTenant, body: GroupOrder) -> object:
    """Every live group, first to last; only groups whose order must change are sent to WeCom."""
    done = await _answer(service.reorder_groups(session, ctx, body))
    if isinstance(done, JSONResponse):
        return done
    return await service.list_groups(session, ctx)


@groups.patch("/{tag_group_id}", response_model=TagGroupRead, responses=WRITE_ERRORS)
async def update_group(
    session: SessionDep, ctx: CurrentTenant, tag_group_id: uuid.UUID, body: Rename
) -> object:
    group = await _answer(service.rename_group(session, ctx, tag_group_id, body))
    if isinstance(group, JSONResponse):
        return group
    return await service.read_group(session, ctx, group)


@groups.delete("/{tag_group_id}", status_code=204, response_class=Response, responses=WRITE_ERRORS)
async def delete_group(session: SessionDep, ctx: CurrentTenant, tag_group_id: uuid.UUID) -> Response:
    done = await _answer(service.delete_group(session, ctx, tag_group_id))
    return done if isinstance(done, JSONResponse) else Response(status_code=204)


@groups.post("/{tag_group_id}/tags", response_model=TagGroupRead, status_code=201, responses=WRITE_ERRORS)
async def add_tags(
    session: SessionDep, ctx: CurrentTenant, tag_group_id: uuid.UUID, body: TagsCreate
) -> object:
    group = await _answer(service.add_tags(session, ctx, tag_group_id, body.tags))
    if isinstance(group, JSONResponse):
        return group
    return await service.read_group(session, ctx, group)


@groups.put("/{tag_group_id}/tag-order", response_model=TagGroupRead, responses=WRITE_ERRORS)
async def reorder_tags(
    session: SessionDep, ctx: CurrentTenant, tag_group_id: uuid.UUID, body: TagOrder
) -> object:
    """Every live tag of the group, first to last."""
    group = await _answer(service.reorder_tags(session, ctx, tag_group_id, body))
    if isinstance(group, JSONResponse):
        return group
    return await service.read_group(session, ctx, group)


@tags.post("/sync", response_model=JobRead, status_code=202, responses=error_responses(409))
async def sync(session: SessionDep, ctx: CurrentTenant) -> object:
    """Queue ``tag.sync_from_wecom`` (or return the one already queued or running)."""
    return await service.start_sync(session, ctx)


@tags.patch("/{tag_id}", response_model=TagRead, responses=WRITE_ERRORS)
async def update_tag(session: SessionDep, ctx: CurrentTenant, tag_id: uuid.UUID, body: Rename) -> object:
    tag = await _answer(service.rename_tag(session, ctx, tag_id, body))
    if isinstance(tag, JSONResponse):
        return tag
    return await service.read_tag(session, ctx, tag)


@tags.delete("/{tag_id}", status_code=204, response_class=Response, responses=WRITE_ERRORS)
async def delete_tag(session: SessionDep, ctx: CurrentTenant, tag_id: uuid.UUID) -> Response:
    done = await _answer(service.delete_tag(session, ctx, tag_id))
    return done if isinstance(done, JSONResponse) else Response(status_code=204)
