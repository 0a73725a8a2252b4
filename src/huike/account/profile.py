"""The profile (issue 5 item 7; §一（二）4 and 5.1; §六（一） query and correct): what the user sees of
their own account, the name and avatar they may change, their password, and their phone.

* **Name.** The user's own display name, else the name of the WeCom member linked to them in this
  company (the member's name is the customer's data: it is shown, never copied).
* **Avatar.** An uploaded image (sniffed, ≤ 2 MB, ≤ 4096 px a side, metadata stripped; see
  ``images.py`` and ``storage.py``), else the WeCom avatar of the *authorised* member, which policy 5.1
  lets us keep for display and which is kept only when WeCom returned it (apps created after
  2022-06-20 do not get it from ``user/get``, so it is often absent), else nothing.
* **WeCom account, gender.** The member's UserID, masked; the gender exactly as WeCom returned it,
  only displayed (R-ACC-1: nothing filters, groups or decides on it).
* **Password.** The current password is checked first; a wrong one counts in the login throttle of
  the phone and the IP (five lock the account's password login, as at the login page). An account
  made by WeCom QR login or an invitation has none: its first password needs no current one.
* **Phone.** Two steps, each proven by an SMS code with purpose ``change_phone``: a code sent to the
  current phone (the user does not type the number) gives a ticket (10 minutes, this session only,
  single use); the ticket and the new phone's code change the number. An account without a phone
  binds its first one with the new phone's code alone. A number that belongs to another account is
  refused without saying whose.

Password and phone changes end the user's other sessions and write an audit row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import passwords, storage
from huike.account import repository as repo
from huike.account.errors import (
    AvatarTooLarge,
    CurrentPasswordRequired,
    DisplayNameInvalid,
    NoPhone,
    PasswordUnchanged,
    PhoneAlreadyRegistered,
    PhoneTicketInvalid,
    PhoneUnchanged,
    WrongPassword,
)
from huike.account.images import read_image
from huike.account.models import AccountProfile, PhoneChangeTicket, SmsPurpose, User
from huike.account.service import (
    Client,
    CodeSent,
    count_failure,
    guard_of,
    normalise_mobile,
    refuse_if_locked,
    send_code,
    verify_code,
)
from huike.account.sms import SmsProvider, mask_phone
from huike.config import Settings
from huike.core.db import on_commit, utcnow
from huike.core.errors import NotFound, Unauthorized
from huike.core.tenancy import TenantContext
from huike.permission.schemas import RoleRef
from huike.privacy.audit.service import record
from huike.security.keys import warm_keys
from huike.security.sessions import AuthSession, revoke_user_sessions
from huike.tenant.models import Tenant

log = structlog.get_logger(__name__)

DISPLAY_NAME_MAX = 30
AVATAR_MAX_BYTES = 2 * 1024 * 1024
TICKET_LIFETIME = timedelta(minutes=10)
PASSWORD_CHANGE_METHOD = "password_change"  # noqa: S105 - a throttle label, not a password


# --- helpers -------------------------------------------------------------------------------------


def clean_display_name(value: str) -> str:
    """Trimmed, 1–30 characters, no control, format (bidi overrides, zero-width) or separator
    characters other than the plain space; :class:`DisplayNameInvalid` with a reason otherwise."""
    name = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in name) or any(
        unicodedata.category(ch) == "Zs" and ch != " " for ch in name
    ):
        raise DisplayNameInvalid(reason="control_characters", max_length=DISPLAY_NAME_MAX)
    if not name:
        raise DisplayNameInvalid(reason="empty", max_length=DISPLAY_NAME_MAX)
    if len(name) > DISPLAY_NAME_MAX:
        raise DisplayNameInvalid(reason="too_long", max_length=DISPLAY_NAME_MAX)
    return name


def mask_identifier(value: str) -> str:
    """``zh***an`` for ``zhangsan``: enough to recognise one's own account, not to copy it."""
    if len(value) <= 2:
        return value[:1] + "*"
    keep = 1 if len(value) <= 6 else 2
    return f"{value[:keep]}***{value[-keep:]}"


def _hash(ticket: str) -> str:
    return hashlib.sha256(b"huike.phone_change|" + ticket.encode()).hexdigest()


async def _user(session: AsyncSession, auth: AuthSession) -> User:
    user = await repo.user_by_id(session, auth.user_id) if auth.user_id else None
    if user is None:
        raise Unauthorized()
    return user


async def _profile(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> AccountProfile | None:
    await warm_keys(session, tenant_id)
    return (
        await session.execute(
            select(AccountProfile).where(
                AccountProfile.tenant_id == tenant_id, AccountProfile.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def _profile_for_write(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> AccountProfile:
    found = await _profile(session, tenant_id, user_id)
    if found is None:
        found = AccountProfile(tenant_id=tenant_id, user_id=user_id)
        session.add(found)
    return found


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: uuid.UUID
    display_name: str | None
    display_name_source: str | None  # own, wecom, or None
    avatar_url: str | None
    avatar_source: str | None  # upload, wecom, or None
    wecom_userid_masked: str | None
    wecom_gender: str | None
    corp_id: str | None
    phone_masked: str | None
    role: RoleRef | None  # the effective role (a custom role assigned to the member included)
    company_name: str | None
    has_password: bool


async def get_profile(session: AsyncSession, auth: AuthSession) -> Profile:
    from huike.member.service import member_for_user
    from huike.permission.service import role_ref
    from huike.wecom.service import get_connection

    user = await _user(session, auth)
    ctx = TenantContext(auth.tenant_id, user.id)
    own = await _profile(session, auth.tenant_id, user.id)
    member = await member_for_user(session, ctx, user.id)
    connection = await get_connection(session, ctx)
    tenant = await session.get(Tenant, auth.tenant_id)
    role = await role_ref(session, ctx)
    corp_id = connection.corp_id if connection else None

    name, name_source = (own.display_name, "own") if own and own.display_name else (None, None)
    if name is None and member is not None and member.name:
        name, name_source = member.name, "wecom"
    if own and own.avatar_file:
        avatar, avatar_source = f"/api/v1/auth/profile/avatar?v={own.avatar_file.split('.')[0]}", "upload"
    elif own and own.wecom_avatar_url:
        avatar, avatar_source = own.wecom_avatar_url, "wecom"
    else:
        avatar, avatar_source = None, None
    if member is not None:
        userid: str | None = member.wecom_userid
    elif user.wecom_userid and corp_id and user.wecom_corp_id == corp_id:
        userid = user.wecom_userid
    else:
        userid = None
    return Profile(
        user_id=user.id,
        display_name=name,
        display_name_source=name_source,
        avatar_url=avatar,
        avatar_source=avatar_source,
        wecom_userid_masked=mask_identifier(userid) if userid else None,
        wecom_gender=own.wecom_gender if own else None,
        corp_id=corp_id,
        phone_masked=mask_phone(user.phone) if user.phone else None,
        role=role,
        company_name=tenant.name if tenant else None,
        has_password=user.password_hash is not None,
    )


# --- name and avatar -----------------------------------------------------------------------------


async def _profile_updated(
    session: AsyncSession, auth: AuthSession, user_id: uuid.UUID, details: dict[str, Any]
) -> None:
    """Flush the change and audit it (R-LOG-1: field names, never values)."""
    await session.flush()
    await record(
        session,
        TenantContext(auth.tenant_id, user_id),
        "account.profile_updated",
        object_type="user",
        object_id=user_id,
        details=details,
    )


def _prune_avatars_after_commit(
    session: AsyncSession, data_dir: Path, tenant_id: uuid.UUID, user_id: uuid.UUID, *, keep: str | None
) -> None:
    """Remove the user's other avatar files once the transaction has committed."""

    async def prune() -> None:
        storage.prune_avatars(data_dir, tenant_id, user_id, keep=keep)

    on_commit(session, prune)


async def set_display_name(session: AsyncSession, auth: AuthSession, value: str | None) -> None:
    """Set the user's own name, or (None) go back to the WeCom member's name."""
    user = await _user(session, auth)
    name = None if value is None else clean_display_name(value)
    profile = await _profile_for_write(session, auth.tenant_id, user.id)
    if profile.display_name == name:
        return
    profile.display_name = name
    await _profile_updated(session, auth, user.id, {"fields": ["display_name"], "cleared": name is None})


async def upload_avatar(session: AsyncSession, data_dir: Path, auth: AuthSession, data: bytes) -> None:
    """Check, strip and store the image, then point the profile at it; older files of the user go
    after the commit (a rolled-back upload leaves a stray file the next upload removes)."""
    user = await _user(session, auth)
    if len(data) > AVATAR_MAX_BYTES:
        raise AvatarTooLarge(max_bytes=AVATAR_MAX_BYTES)
    image = read_image(data)
    name = storage.new_avatar_name(image.extension)
    storage.write_avatar(storage.avatar_path(data_dir, auth.tenant_id, user.id, name), image.data)
    profile = await _profile_for_write(session, auth.tenant_id, user.id)
    profile.avatar_file = name
    await _profile_updated(
        session,
        auth,
        user.id,
        {"fields": ["avatar"], "type": image.kind, "width": image.width, "height": image.height},
    )
    _prune_avatars_after_commit(session, data_dir, auth.tenant_id, user.id, keep=name)
    log.info("account.avatar_uploaded", type=image.kind, bytes=len(image.data))


async def delete_avatar(session: AsyncSession, data_dir: Path, auth: AuthSession) -> None:
    user = await _user(session, auth)
    profile = await _profile(session, auth.tenant_id, user.id)
    if profile is None or profile.avatar_file is None:
        raise NotFound()
    profile.avatar_file = None
    await _profile_updated(session, auth, user.id, {"fields": ["avatar"], "cleared": True})
    _prune_avatars_after_commit(session, data_dir, auth.tenant_id, user.id, keep=None)


async def avatar_file(session: AsyncSession, data_dir: Path, auth: AuthSession) -> tuple[Path, str]:
    """The owner's uploaded avatar: (file, content type); NotFound when there is none."""
    user = await _user(session, auth)
    profile = await _profile(session, auth.tenant_id, user.id)
    if profile is None or profile.avatar_file is None:
        raise NotFound()
    path = storage.avatar_path(data_dir, auth.tenant_id, user.id, profile.avatar_file)
    if not path.is_file():
        log.warning("account.avatar_file_missing")
        raise NotFound()
    kind = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[path.suffix.removeprefix(".")]
    return path, kind


async def remember_wecom_basics(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, *, avatar: str, gender: str
) -> None:
    """Keep the authorised member's WeCom avatar and gender for display (§一（二）5.1), exactly as WeCom
    returned them; an empty value (WeCom withheld it) leaves nothing stored."""
    keep_avatar = avatar.startswith("https://")
    keep_gender = bool(gender) and gender != "0"
    if not (keep_avatar or keep_gender) and await _profile(session, tenant_id, user_id) is None:
        return
    profile = await _profile_for_write(session, tenant_id, user_id)
    profile.wecom_avatar_url = avatar[:512] if keep_avatar else None
    profile.wecom_gender = gender[:8] if keep_gender else None
    profile.wecom_synced_at = utcnow()
    await session.flush()


# --- password ------------------------------------------------------------------------------------


async def change_password(
    session: AsyncSession, auth: AuthSession, *, current: str | None, new: str, client: Client
) -> int:
    """Check the current password (a wrong one counts in the throttle), set the new one, end the
    other sessions. An account without a password (WeCom QR login, invitation) sets its first one
    without ``current``. Returns how many sessions ended."""
    user = await _user(session, auth)
    first = user.password_hash is None
    if not first:
        if not current:
            raise CurrentPasswordRequired()
        await _check_current_password(session, user, current, client)
        if hmac.compare_digest(current.encode(), new.encode()):
            raise PasswordUnchanged()
    passwords.check_strength(new, phone_e164=user.phone)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    revoked = await revoke_user_sessions(session, user.id, keep=auth.id)
    await record(
        session,
        TenantContext(auth.tenant_id, user.id),
        "auth.password_changed",
        object_type="user",
        object_id=user.id,
        request=client.request,
        details={"sessions_revoked": revoked, "first": first},
    )
    log.info("auth.password_changed", user_id=str(user.id), sessions_revoked=revoked, first=first)
    return revoked


async def _check_current_password(session: AsyncSession, user: User, current: str, client: Client) -> None:
    """A wrong current password counts in the login throttle; a right one clears the phone's."""
    if user.phone is None:  # a password without a phone cannot be guessed at the login page
        if not passwords.verify_password(user.password_hash, current):
            raise WrongPassword()
        return
    guard = await guard_of(session, user.phone, client)
    await refuse_if_locked(session, guard, PASSWORD_CHANGE_METHOD, client)
    if not passwords.verify_password(user.password_hash, current):
        await count_failure(session, guard, PASSWORD_CHANGE_METHOD, client, "wrong_password")
        raise WrongPassword()
    guard.rows[0].failures = 0
    guard.rows[0].locked_until = None


# --- phone ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    expires_in_s: int


async def send_current_phone_code(
    session: AsyncSession, settings: Settings, provider: SmsProvider, auth: AuthSession, client: Client
) -> CodeSent:
    """Step 1 begins: a ``change_phone`` code to the account's own phone, which the user need not type
    (the usual cooldown and caps apply)."""
    user = await _user(session, auth)
    if user.phone is None:
        raise NoPhone()
    return await send_code(
        session, settings, provider, phone=user.phone, purpose=SmsPurpose.change_phone, client=client
    )


async def verify_current_phone(
    session: AsyncSession, auth: AuthSession, *, code: str, client: Client
) -> Ticket:
    """Step 1: the code sent to the current phone (purpose change_phone) → a ticket for step 2."""
    user = await _user(session, auth)
    if user.phone is None:
        raise NoPhone()
    await verify_code(session, phone_e164=user.phone, purpose=SmsPurpose.change_phone, code=code)
    now = utcnow()
    await session.execute(  # one open ticket per user: an older one is spent
        update(PhoneChangeTicket)
        .where(PhoneChangeTicket.user_id == user.id, PhoneChangeTicket.used_at.is_(None))
        .values(used_at=now)
    )
    ticket = secrets.token_urlsafe(32)
    session.add(
        PhoneChangeTicket(
            user_id=user.id,
            session_id=auth.id,
            ticket_hash=_hash(ticket),
            expires_at=now + TICKET_LIFETIME,
        )
    )
    await session.flush()
    await record(
        session,
        TenantContext(auth.tenant_id, user.id),
        "account.phone_change.verified",
        object_type="user",
        object_id=user.id,
        request=client.request,
        details={"step": "current_phone"},
    )
    return Ticket(ticket, int(TICKET_LIFETIME.total_seconds()))


async def change_phone(
    session: AsyncSession,
    auth: AuthSession,
    *,
    ticket: str | None,
    new_phone: str,
    code: str,
    client: Client,
) -> tuple[str, int]:
    """Step 2: a live ticket of this session and the new phone's code change the phone (and its blind
    index); the other sessions end. An account without a phone binds its first one with the code
    alone (no ticket). Returns the new phone, masked, and how many sessions ended."""
    user = await _user(session, auth)
    e164 = normalise_mobile(new_phone)
    now = utcnow()
    row = None
    if user.phone is not None:
        row = (
            await session.execute(
                select(PhoneChangeTicket)
                .where(PhoneChangeTicket.ticket_hash == _hash(ticket or ""))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None or row.user_id != user.id or row.session_id != auth.id:
            raise PhoneTicketInvalid(reason="unknown")
        if row.used_at is not None:
            raise PhoneTicketInvalid(reason="used")
        if row.expires_at <= now:
            raise PhoneTicketInvalid(reason="expired")
    if e164 == user.phone:
        raise PhoneUnchanged()
    await verify_code(session, phone_e164=e164, purpose=SmsPurpose.change_phone, code=code)
    # after the code: only the owner of the new number learns that it is taken, and not by whom
    if await repo.user_by_phone(session, e164) is not None:
        raise PhoneAlreadyRegistered()
    old_masked, new_masked = mask_phone(user.phone) if user.phone else None, mask_phone(e164)
    if row is not None:
        row.used_at = now
    user.phone = e164
    try:
        await session.flush()
    except IntegrityError:  # registered at the same moment
        raise PhoneAlreadyRegistered() from None
    revoked = await revoke_user_sessions(session, user.id, keep=auth.id)
    await record(
        session,
        TenantContext(auth.tenant_id, user.id),
        "account.phone_changed",
        object_type="user",
        object_id=user.id,
        request=client.request,
        details={
            **({"old_phone_masked": old_masked} if old_masked else {"first": True}),
            "new_phone_masked": new_masked,
            "sessions_revoked": revoked,
        },
    )
    log.info("account.phone_changed", user_id=str(user.id), sessions_revoked=revoked)
    return new_masked, revoked
