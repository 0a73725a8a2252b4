"""Members and departments of the tenant's WeCom corp: list, read, sync and invite."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from huike.core.db import writes_on_get
from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.core.schemas import CursorPage
from huike.job.schemas import JobRead
from huike.member import service
from huike.member.models import MemberStatus
from huike.member.schemas import (
    DepartmentTree,
    InvitationRead,
    MemberCustomerTags,
    MemberRead,
    MemberSyncIn,
)
from huike.permission.deps import CustomersView
from huike.security.deps import WarmTenant
from huike.security.sessions import CurrentTenant

router = make_router(prefix="/api/v1/members", tag="members", responses=error_responses(401, 403, 422))
departments = make_router(prefix="/api/v1/departments", tag="members", responses=error_responses(401, 403))


@router.post("/sync", response_model=JobRead, status_code=202, responses=error_responses(409))
async def sync(session: SessionDep, ctx: CurrentTenant, body: MemberSyncIn | None = None) -> object:
    """Start a full sync of departments and members from WeCom (admins; 409 while one runs)."""
    return await service.start_sync(session, ctx, full=body.full if body else False)


@router.get("", response_model=CursorPage[MemberRead], responses=error_responses(400))
async def list(
    session: SessionDep,
    ctx: WarmTenant,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    department_id: uuid.UUID | None = None,
    keyword: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    status: MemberStatus | None = None,
    in_scope: bool | None = None,
) -> CursorPage[MemberRead]:
    """Members by UserID. ``keyword`` matches a part of the name or the UserID (names are encrypted:
    matched after decryption within the tenant)."""
    return await service.list_members(
        session,
        ctx,
        limit=limit,
        cursor=cursor,
        department_id=department_id,
        keyword=keyword,
        status=status,
        in_scope=in_scope,
    )


@router.get("/{member_id}", response_model=MemberRead, responses=error_responses(404))
async def get(session: SessionDep, ctx: WarmTenant, member_id: uuid.UUID) -> MemberRead:
    return await service.get_member(session, ctx, member_id)


@router.get(
    "/{member_id}/customer-tags", response_model=MemberCustomerTags, responses=error_responses(403, 404)
)
@writes_on_get  # another member's tags: the view is audited (R-ADM-1)
async def customer_tags(session: SessionDep, ctx: CustomersView, member_id: uuid.UUID) -> MemberCustomerTags:
    """The corp tags the member put on their customers, with how many of their customers carry each
    (``customers.view``; another member's need a data scope covering them, and each view is audited)."""
    return await service.customer_tags(session, ctx, member_id)


@router.post(
    "/{member_id}/invite", response_model=InvitationRead, status_code=201, responses=error_responses(404, 409)
)
async def invite(session: SessionDep, ctx: WarmTenant, member_id: uuid.UUID) -> InvitationRead:
    """Invite the member to Huike (admins): their WeCom QR login activates the account (7 days)."""
    return await service.invite(session, ctx, member_id)


@departments.get("", response_model=DepartmentTree)
async def tree(session: SessionDep, ctx: CurrentTenant) -> DepartmentTree:
    """The departments as a tree, with the number of members in scope in each."""
    return DepartmentTree(items=await service.department_tree(session, ctx))
