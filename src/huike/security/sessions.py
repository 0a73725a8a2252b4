"""Server-side sessions behind an opaque cookie. The cookie holds a random token; the database holds
only its SHA-256. Login (the accounts issue) creates these rows; every tenant route resolves them into
a TenantContext through :func:`get_tenant_context`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import structlog
from fastapi import Depends, Request
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, get_session, utcnow
from huike.core.errors import Unauthorized
from huike.core.tenancy import TenantContext, TenantScoped
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe

SESSION_COOKIE = "huike_session"
ABSOLUTE_LIFETIME = timedelta(days=7)


class AuthSession(TenantScoped, Base):
    __tablename__ = "auth_sessions"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(Purpose("security.login_state"),),
        retention=Retention("created", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(
        String(64), unique=True, info=describe("user.authorization.session_token_hash", personal=True)
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(info=describe("user.unique_id", personal=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    revoked_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> tuple[AuthSession, str]:
    """Create a session row and return it with the cookie value (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        tenant_id=tenant_id,
        user_id=user_id,
        token_hash=hash_token(token),
        expires_at=utcnow() + ABSOLUTE_LIFETIME,
    )
    session.add(row)
    await session.flush()
    return row, token


async def resolve_session(session: AsyncSession, token: str | None) -> AuthSession | None:
    if not token:
        return None
    row = (
        await session.execute(select(AuthSession).where(AuthSession.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def get_tenant_context(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> TenantContext:
    auth = await resolve_session(session, request.cookies.get(SESSION_COOKIE))
    if auth is None:
        raise Unauthorized()
    structlog.contextvars.bind_contextvars(tenant_id=str(auth.tenant_id))
    return TenantContext(tenant_id=auth.tenant_id, user_id=auth.user_id)


CurrentTenant = Annotated[TenantContext, Depends(get_tenant_context)]
