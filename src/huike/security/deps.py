"""FastAPI dependency for routes that read encrypted columns: the tenant context, with the tenant's keys
warmed in the request's session (see ``huike.security.keys`` for why reads need warm keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import get_session
from huike.core.tenancy import TenantContext
from huike.security.keys import warm_keys
from huike.security.sessions import get_tenant_context


async def warm_tenant_keys(
    ctx: Annotated[TenantContext, Depends(get_tenant_context)],
    session: Annotated[AsyncSession, Depends(get_session)],
) -> TenantContext:
    await warm_keys(session, ctx.tenant_id)
    return ctx


WarmTenant = Annotated[TenantContext, Depends(warm_tenant_keys)]
"""Use instead of ``CurrentTenant`` in a route whose responses hold decrypted fields."""
