"""The audit log as a tenant's admins see it: their own tenant's chain, newest first.

Platform operators' search across tenants comes with the operator console, not here.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime

from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.core.schemas import CursorPage
from huike.core.tenancy import TenantContext
from huike.privacy.audit import service
from huike.privacy.audit.models import AuditResult
from huike.privacy.audit.repository import AuditEventFilters
from huike.privacy.audit.schemas import AuditEventRead
from huike.security.sessions import CurrentTenant


async def require_admin(ctx: CurrentTenant) -> TenantContext:
    """The hook point for "tenant admins only". Roles do not exist yet (they come with the accounts
    issue), so today it lets any signed-in session of the tenant through; once roles exist this
    function checks the admin role and raises ``Forbidden``, and every audit route follows."""
    from huike.permission.service import check  # roles: audit.view, else 403 permission.denied

    return check(ctx, "audit.view")


TenantAdmin = Annotated[TenantContext, Depends(require_admin)]

router = make_router(
    prefix="/api/v1/audit-events", tag="audit", responses=error_responses(400, 401, 403, 404, 422)
)


@router.get("", response_model=CursorPage[AuditEventRead])
async def list(
    session: SessionDep,
    ctx: TenantAdmin,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.?$",
            description="Dotted prefix: `auth` matches `auth.login.failed`; a full code matches itself.",
        ),
    ] = None,
    actor_id: uuid.UUID | None = None,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    result: AuditResult | None = None,
    since: Annotated[AwareDatetime | None, Query(description="Inclusive lower bound.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Exclusive upper bound.")] = None,
) -> CursorPage[AuditEventRead]:
    filters = AuditEventFilters(
        action=action,
        actor_id=actor_id,
        object_type=object_type,
        object_id=object_id,
        result=result.value if result is not None else None,
        since=since,
        until=until,
    )
    return await service.list_events(session, ctx, limit=limit, cursor=cursor, filters=filters)


@router.get("/{audit_event_id}", response_model=AuditEventRead)
async def get(session: SessionDep, ctx: TenantAdmin, audit_event_id: uuid.UUID) -> object:
    return await service.get_event(session, ctx, audit_event_id)
