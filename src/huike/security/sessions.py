"""Server-side sessions behind an opaque cookie (R-CK-1). The cookie holds a random token; the database
holds only its SHA-256, with the device's OS and browser family and the IP's region (never the IP).

* **Timeouts.** A session ends ``session_idle_timeout_s`` (2 h) after its last use and
  ``session_absolute_lifetime_s`` (7 days) after login, whichever comes first. Use is recorded at most
  once a minute (``TOUCH_INTERVAL``).
* **Rotation.** Login always makes a new token; the session the browser came with, if any, is
  revoked (no session fixation).
* **CSRF.** Double submit, bound to the session: the non-HttpOnly ``huike_csrf`` cookie holds
  ``csrf_token_for(token)``, a domain-separated SHA-256 of the session token, and every unsafe method
  on an authenticated route must send the same value in ``X-CSRF-Token``. A page on another site can
  neither read the cookie nor compute the value without the HttpOnly session token.
* **Policy gate.** :func:`get_tenant_context` also refuses with 403
  ``privacy.policy_acceptance_required`` while the user has a material policy version to accept,
  except on the auth and privacy (consent) endpoints, which the user needs to get past the gate.
* **Permissions.** :func:`get_tenant_context` puts the user's role, permissions and data scope into
  the context (``huike.permission.service.resolve_request``, read for every request, so a changed
  role counts from the next request), refuses a member who lost access and a role without the web
  console app (``app.console``), and applies the permission rule of routes that predate roles
  (``huike.permission.catalog.ROUTE_RULES``); newer routes declare ``require(...)``.
* **Cookies.** Only strictly necessary ones (§二): ``huike_session`` (HttpOnly), ``huike_csrf``
  (readable by the console), ``huike_device`` (HttpOnly, random, binds a WeCom login ``state`` to the
  browser); all ``SameSite=Lax``, ``Secure`` when ``public_base_url`` is https, host-only, ``Path=/``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import structlog
from fastapi import Depends, Request, Response
from sqlalchemy import String, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from huike.config import Settings
from huike.core.db import Base, best_effort_write, get_session, utcnow
from huike.core.errors import Forbidden, Unauthorized
from huike.core.i18n import register_messages
from huike.core.tenancy import TenantContext, TenantScoped
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe

log = structlog.get_logger(__name__)

SESSION_COOKIE = "huike_session"
CSRF_COOKIE = "huike_csrf"
DEVICE_COOKIE = "huike_device"
CSRF_HEADER = "X-CSRF-Token"
ALLOWED_COOKIES = (SESSION_COOKIE, CSRF_COOKIE, DEVICE_COOKIE)
"""Every cookie Huike sets (R-CK-1: the published cookie list is generated from this)."""

IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_LIFETIME = timedelta(days=7)
TOUCH_INTERVAL = timedelta(seconds=60)
DEVICE_COOKIE_MAX_AGE = 400 * 86400
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POLICY_GATE_EXEMPT = ("/api/v1/auth/", "/api/v1/privacy/")


class SessionMethod:
    password = "password"  # noqa: S105 - a login method, not a password
    sms = "sms"
    wecom = "wecom"
    registration = "registration"
    other = "other"


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
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        index=True, info=describe("user.unique_id", personal=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    revoked_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    last_seen_at: Mapped[datetime | None] = mapped_column(
        info=describe("user.activity.last_seen", personal=True)
    )
    idle_timeout_s: Mapped[int] = mapped_column(
        default=int(IDLE_TIMEOUT.total_seconds()), info=describe("system.duration")
    )
    method: Mapped[str] = mapped_column(
        String(16), default=SessionMethod.other, info=describe("user.authorization.method", personal=True)
    )
    os_family: Mapped[str | None] = mapped_column(String(32), info=describe("user.device.os", personal=True))
    browser_family: Mapped[str | None] = mapped_column(
        String(32), info=describe("user.device.browser", personal=True)
    )
    ip_region: Mapped[str | None] = mapped_column(
        String(100), info=describe("user.location.ip_region", personal=True)
    )

    def idle_deadline(self) -> datetime:
        return (self.last_seen_at or self.created_at) + timedelta(seconds=self.idle_timeout_s)

    def live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and self.expires_at > now and self.idle_deadline() > now


class CsrfFailed(Forbidden):
    code = "auth.csrf_failed"


register_messages(
    {
        "auth.csrf_failed": (
            "请求校验失败，请刷新页面后重试。",
            "The request failed its CSRF check; reload the page and try again.",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a session keeps about the device: families only, and the IP's region, never the IP."""

    os_family: str | None = None
    browser_family: str | None = None
    ip_region: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF value of a session: bound to its token, different from the stored token hash."""
    return hashlib.sha256(b"huike.csrf|" + token.encode()).hexdigest()


async def start_session(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    *,
    method: str = SessionMethod.other,
    device: DeviceInfo | None = None,
    idle_timeout: timedelta = IDLE_TIMEOUT,
    lifetime: timedelta = ABSOLUTE_LIFETIME,
    replaces: str | None = None,
) -> tuple[AuthSession, str]:
    """Create a session row and return it with the cookie value (shown once, never stored).

    ``replaces``: the token the browser came with; that session is revoked (rotation on login)."""
    if replaces:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == hash_token(replaces), AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    token = secrets.token_urlsafe(32)
    now = utcnow()
    device = device or DeviceInfo()
    row = AuthSession(
        tenant_id=tenant_id,
        user_id=user_id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        idle_timeout_s=int(idle_timeout.total_seconds()),
        method=method,
        os_family=device.os_family,
        browser_family=device.browser_family,
        ip_region=device.ip_region,
    )
    session.add(row)
    await session.flush()
    return row, token


async def resolve_session(
    session: AsyncSession, token: str | None, *, touch: bool = False
) -> AuthSession | None:
    """The live session of ``token``, or None (unknown, revoked, idle too long, or too old).
    ``touch`` records the use (at most once per ``TOUCH_INTERVAL``)."""
    if not token:
        return None
    row = (
        await session.execute(select(AuthSession).where(AuthSession.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or not row.live(now):
        return None
    if touch and (row.last_seen_at is None or now - row.last_seen_at >= TOUCH_INTERVAL):
        await _touch(session, row, now)
    return row


async def _touch(session: AsyncSession, row: AuthSession, now: datetime) -> None:
    # In a SAVEPOINT: on SQLite a read transaction that cannot take the write lock just skips it.
    try:
        with best_effort_write(session):
            async with session.begin_nested():
                await session.execute(
                    update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now)
                )
    except OperationalError as exc:
        log.info("auth.session_touch_skipped", error_type=type(exc).__name__)
        return
    row.last_seen_at = now


async def revoke_session(session: AsyncSession, row: AuthSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()


async def revoke_user_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of a user (but ``keep``); returns how many."""
    statement = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        statement = statement.where(AuthSession.id != keep)
    result = await session.execute(statement.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


async def user_sessions(session: AsyncSession, user_id: uuid.UUID) -> Sequence[AuthSession]:
    """The user's live sessions, newest first."""
    now = utcnow()
    rows = (
        await session.execute(
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
            .order_by(AuthSession.created_at.desc())
        )
    ).scalars()
    return [row for row in rows if row.live(now)]


# --- cookies -------------------------------------------------------------------------------------


def secure_cookies(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def set_session_cookies(response: Response, token: str, settings: Settings) -> None:
    secure = secure_cookies(settings)
    lifetime = settings.session_absolute_lifetime_s
    response.set_cookie(
        SESSION_COOKIE, token, max_age=lifetime, path="/", secure=secure, httponly=True, samesite="lax"
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token_for(token),
        max_age=lifetime,
        path="/",
        secure=secure,
        httponly=False,
        samesite="lax",
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    secure = secure_cookies(settings)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="lax")


def device_cookie(request: Request, response: Response, settings: Settings) -> str:
    """The browser's random device id; set if it has none."""
    value = request.cookies.get(DEVICE_COOKIE)
    if value and 20 <= len(value) <= 64:
        return value
    value = secrets.token_urlsafe(24)
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path="/",
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )
    return value


# --- dependencies --------------------------------------------------------------------------------


def check_csrf(request: Request, token: str) -> None:
    """Unsafe methods need ``X-CSRF-Token`` equal to the ``huike_csrf`` cookie and to the session's value."""
    if request.method in SAFE_METHODS:
        return
    header = request.headers.get(CSRF_HEADER, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    expected = csrf_token_for(token)
    if not (
        header
        and hmac.compare_digest(header.encode(), cookie.encode())
        and hmac.compare_digest(header.encode(), expected.encode())
    ):
        log.info("auth.csrf_failed", header_present=bool(header), cookie_present=bool(cookie))
        raise CsrfFailed()


async def get_auth_session(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> AuthSession:
    """The request's live session (401 otherwise), CSRF-checked for unsafe methods. No policy gate:
    for the auth endpoints themselves (me, sessions, logout)."""
    token = request.cookies.get(SESSION_COOKIE)
    auth = await resolve_session(session, token, touch=True)
    if auth is None or token is None:
        raise Unauthorized()
    check_csrf(request, token)
    structlog.contextvars.bind_contextvars(tenant_id=str(auth.tenant_id))
    return auth


CurrentSession = Annotated[AuthSession, Depends(get_auth_session)]


async def get_tenant_context(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_session)],
    auth: CurrentSession,
) -> TenantContext:
    # the role, permissions and data scope, read afresh for every request; a WeCom member who left or
    # was taken out of the app's visibility scope (401) and a role without the console app (403) are
    # refused at once (imported here: the permission domain depends on this module)
    from huike.permission.service import enforce_route, resolve_request

    ctx = await resolve_request(session, TenantContext(tenant_id=auth.tenant_id, user_id=auth.user_id))
    if not request.url.path.startswith(POLICY_GATE_EXEMPT):
        await _policy_gate(session, ctx)
    # the rule of a route that predates roles
    await enforce_route(session, request, ctx)
    return ctx


async def _policy_gate(session: AsyncSession, ctx: TenantContext) -> None:
    # imported here: the policy router depends on this module
    from huike.privacy.policy.errors import NoCurrentPolicy
    from huike.privacy.policy.router import require_policy_acceptance

    try:
        await require_policy_acceptance(session, ctx)
    except NoCurrentPolicy:
        return  # nothing is published yet, so there is nothing to accept (huike run seeds a version)


CurrentTenant = Annotated[TenantContext, Depends(get_tenant_context)]
