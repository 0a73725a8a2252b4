"""Accounts and what registration and login keep.

* :class:`User` is a platform account (授权用户): the phone is encrypted with the *platform* key and has
  a platform-wide blind index, because login comes before the tenant is known (ADR 0007).
* :class:`Membership` ties a user to a tenant with a role (creator ⊇ admin ⊇ member).
* :class:`Registration` is the one registration event row (R-LOG-1: device, OS, browser, IP for
  registration analysis); :class:`SalesLead` is the lead handed to a salesperson, with the region only
  and no IP column (R-GEO-1); :class:`SalesTerritory` is the platform's region → salesperson table.
* :class:`SmsCode` keeps only an HMAC of each code (R-OTP-1); :class:`LoginThrottle` counts failures
  per phone and per IP under pseudonyms; :class:`WeComLoginState` is the single-use, browser-bound
  ``state`` of a WeCom QR login (R-WX-1).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.core.tenancy import TenantScoped
from huike.privacy.inventory import (
    Erasure,
    Owner,
    Purpose,
    Retention,
    Subject,
    TableInventory,
    describe,
)
from huike.security.blind_index import KeyScope, blind_index_column
from huike.security.fields import encrypted_column

LOGIN = Purpose("account.login")
PROVISION = Purpose("service.provision")
SECURITY = Purpose("security.login_protection")
REGISTRATION_ANALYSIS = Purpose("marketing.registration_analysis")
SALES = Purpose("sales.assignment")


class Role(StrEnum):
    """A member's role in a tenant. The creator is also an admin; roles' permissions come later."""

    creator = "creator"
    admin = "admin"
    member = "member"


class UserStatus(StrEnum):
    active = "active"
    disabled = "disabled"
    pending_guardian = "pending_guardian"  # a minor whose guardian has not consented yet (R-MIN-1)


class User(Base):
    """A platform account (授权用户): phone, password hash, and the WeCom identity it linked."""

    __tablename__ = "users"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(LOGIN, PROVISION),
        retention=Retention("account_closed", 15, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # None for a member who activated by WeCom QR login after an invitation (no phone was given)
    phone: Mapped[str | None] = encrypted_column(
        "user.contact.phone_number", subject=Subject.account_holder, scope=KeyScope.platform
    )
    phone_index: Mapped[str | None] = blind_index_column(
        "phone", subject=Subject.account_holder, scope=KeyScope.platform, unique=True
    )
    password_hash: Mapped[str | None] = mapped_column(
        String(255),
        info=describe(
            "user.authorization.password_hash",
            personal=True,
            notes="argon2id (RFC 9106 low-memory parameters); never the password",
        ),
    )
    password_changed_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.active, info=describe("system.status"))
    # the WeCom identity (§一（二）4 企业 ID, 5.1 企业微信帐号) serves login only (R-ACC-1)
    wecom_corp_id: Mapped[str | None] = mapped_column(
        String(64), index=True, info=describe("user.wecom.corp_id", personal=True, purposes=(LOGIN,))
    )
    wecom_userid: Mapped[str | None] = encrypted_column(
        "user.wecom.account", subject=Subject.account_holder, scope=KeyScope.platform, purposes=(LOGIN,)
    )
    wecom_userid_index: Mapped[str | None] = blind_index_column(
        "wecom_userid",
        kind="text",
        category="user.wecom.account",
        subject=Subject.account_holder,
        scope=KeyScope.platform,
        purposes=(LOGIN,),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Membership(TenantScoped, Base):
    """A user in a tenant, with a role."""

    __tablename__ = "account_memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(PROVISION,),
        retention=Retention("account_closed", 15, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, info=describe("user.unique_id", personal=True)
    )
    role: Mapped[str] = mapped_column(String(16), info=describe("user.account.role", personal=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Registration(TenantScoped, Base):
    """The one event row of a trial registration (R-LOG-1, §一（二）2): device, OS, browser and IP,
    used only for registration analysis, reported in aggregate. The IP is encrypted."""

    __tablename__ = "account_registrations"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(REGISTRATION_ANALYSIS,),
        retention=Retention("created", 180, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, info=describe("user.unique_id", personal=True)
    )
    industry: Mapped[str] = mapped_column(String(32), info=describe("organization.industry"))
    device_type: Mapped[str] = mapped_column(String(16), info=describe("user.device.type", personal=True))
    os_family: Mapped[str] = mapped_column(String(32), info=describe("user.device.os", personal=True))
    browser_family: Mapped[str] = mapped_column(
        String(32), info=describe("user.device.browser", personal=True)
    )
    ip: Mapped[str | None] = encrypted_column("user.device.ip_address", subject=Subject.account_holder)
    ip_region: Mapped[str] = mapped_column(
        String(100), info=describe("user.location.ip_region", personal=True)
    )
    adult_or_guardian: Mapped[bool] = mapped_column(
        Boolean, info=describe("user.statement.adult_or_guardian", personal=True)
    )
    company_authorised: Mapped[bool] = mapped_column(
        Boolean, default=False, info=describe("user.statement.company_authorisation", personal=True)
    )
    policy_version: Mapped[str] = mapped_column(String(32), info=describe("system.policy.version"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SalesTerritory(Base):
    """The platform's region → salesperson table. ``region`` is a province as ip2region names it
    (``广东省``, ``天津``) or ``*``, the default queue for private, unknown and foreign IPs."""

    __tablename__ = "sales_territories"
    __inventory__ = TableInventory(
        subject=Subject.none,
        owner=Owner.platform,
        purposes=(SALES,),
        retention=Retention("never", None, Erasure.keep),
        erasure=Erasure.keep,
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    region: Mapped[str] = mapped_column(String(100), unique=True, info=describe("system.sales.region"))
    salesperson: Mapped[str] = mapped_column(
        String(100),
        info=describe(
            "system.sales.salesperson", notes="a reference to a member of the platform's sales team"
        ),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SalesLead(TenantScoped, Base):
    """A registered tenant handed to a salesperson: the region only, never the IP (R-GEO-1)."""

    __tablename__ = "sales_leads"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    __inventory__ = TableInventory(
        subject=Subject.tenant,
        owner=Owner.platform,
        purposes=(SALES,),
        retention=Retention("tenant_terminated", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="tenant_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    country: Mapped[str | None] = mapped_column(String(50), info=describe("organization.location.country"))
    province: Mapped[str | None] = mapped_column(String(50), info=describe("organization.location.province"))
    city: Mapped[str | None] = mapped_column(String(50), info=describe("organization.location.city"))
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sales_territories.id", ondelete="SET NULL"), index=True, info=describe("system.reference")
    )
    salesperson: Mapped[str | None] = mapped_column(String(100), info=describe("system.sales.salesperson"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsPurpose(StrEnum):
    register = "register"
    login = "login"
    reset_password = "reset_password"  # noqa: S105 - a purpose, not a password
    change_phone = "change_phone"
    guardian = "guardian"  # sent to a minor registrant's guardian, whose consent it proves (R-MIN-1)


class SmsCodeStatus(StrEnum):
    active = "active"
    used = "used"
    dead = "dead"  # too many wrong tries
    superseded = "superseded"  # a newer code was sent


class SmsCode(Base):
    """One SMS code: an HMAC of it, never the code (R-OTP-1). Rows also count the caps."""

    __tablename__ = "sms_codes"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(Purpose("security.verification"),),
        retention=Retention("created", 2, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="phone_index",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    phone: Mapped[str] = encrypted_column(
        "user.contact.phone_number", subject=Subject.account_holder, scope=KeyScope.platform
    )
    phone_index: Mapped[str | None] = blind_index_column(
        "phone", subject=Subject.account_holder, scope=KeyScope.platform
    )
    purpose: Mapped[str] = mapped_column(String(20), info=describe("system.sms.purpose"))
    code_hmac: Mapped[str] = mapped_column(
        String(80),
        info=describe(
            "user.authorization.sms_code_hmac",
            personal=True,
            notes="v{n}: + HMAC-SHA256 under the platform index key, bound to the row id",
        ),
    )
    ip_hash: Mapped[str | None] = mapped_column(
        String(80),
        index=True,
        info=describe("user.device.ip_address_pseudonym", personal=True, notes="keyed HMAC of the IP"),
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    status: Mapped[str] = mapped_column(
        String(16), default=SmsCodeStatus.active, info=describe("system.status")
    )
    delivered: Mapped[bool] = mapped_column(Boolean, default=True, info=describe("system.flag"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    used_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


class ThrottleKind(StrEnum):
    phone = "phone"
    ip = "ip"


class LoginThrottle(Base):
    """Failed logins of one phone or one IP (both under keyed pseudonyms) and the lock they earned."""

    __tablename__ = "auth_throttles"
    __table_args__ = (UniqueConstraint("kind", "key"),)
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(SECURITY,),
        retention=Retention("created", 30, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="key",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(8), info=describe("system.throttle.kind"))
    key: Mapped[str] = mapped_column(
        String(80), info=describe("user.pseudonym", personal=True, notes="keyed HMAC of a phone or an IP")
    )
    failures: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
    last_failure_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    locked_until: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeComLoginState(TenantScoped, Base):
    """The ``state`` of one WeCom QR login: single use, bound to the browser's device cookie, 300 s."""

    __tablename__ = "auth_wecom_states"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(SECURITY,),
        retention=Retention("created", 1, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="device_hash",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True, info=describe("system.login_state_hash"))
    device_hash: Mapped[str] = mapped_column(
        String(64),
        info=describe(
            "user.pseudonym",
            personal=True,
            subject=Subject.account_holder,
            notes="SHA-256 of the device cookie",
        ),
    )
    corp_id: Mapped[str] = mapped_column(String(64), info=describe("system.wecom.corp_id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    used_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))


DISPLAY = Purpose("account.display")


class AccountProfile(TenantScoped, Base):
    """What the profile page shows of a user in one company (§一（二）4 「头像、用户名、企业 ID」 and
    5.1 「企业微信帐号、头像与性别」, R-ACC-1): the user's own display name and uploaded avatar, and the
    WeCom avatar and gender of the *authorised* member, kept only as WeCom returned them.

    Used for display only: no query filters, groups or decides on ``wecom_gender``. The uploaded image
    itself lives under the object-storage prefix declared in ``huike.account.storage``."""

    __tablename__ = "account_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(DISPLAY,),
        retention=Retention("account_closed", 15, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, info=describe("user.unique_id", personal=True)
    )
    display_name: Mapped[str | None] = encrypted_column(
        "user.name",
        subject=Subject.account_holder,
        notes="the user's own display name (用户名, §一（二）4); null: the linked WeCom member's name",
    )
    avatar_file: Mapped[str | None] = mapped_column(
        String(64),
        info=describe(
            "user.account",
            personal=True,
            notes="random file name of the uploaded avatar (头像, §一（二）4) under "
            "uploads/avatars/<tenant>/<user>/",
        ),
    )
    wecom_avatar_url: Mapped[str | None] = mapped_column(
        String(512),
        info=describe("user.wecom.avatar", personal=True, notes="only if WeCom returned it (§一（二）5.1)"),
    )
    wecom_gender: Mapped[str | None] = mapped_column(
        String(8),
        info=describe(
            "user.wecom.gender",
            personal=True,
            notes="only if WeCom returned it (§一（二）5.1); shown, never used by any logic (R-ACC-1)",
        ),
    )
    wecom_synced_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PhoneChangeTicket(Base):
    """Step 1 of a phone change: the current phone was verified by SMS. The ticket (a random token
    given once; only its SHA-256 is kept) is bound to the user and the session, lives 10 minutes
    and is spent by step 2."""

    __tablename__ = "account_phone_change_tickets"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(Purpose("security.verification"),),
        retention=Retention("created", 2, Erasure.delete_row),
        erasure=Erasure.delete_row,
        subject_key="user_id",
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, info=describe("user.unique_id", personal=True)
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        info=describe("system.reference", notes="the session that verified the current phone")
    )
    ticket_hash: Mapped[str] = mapped_column(
        String(64), unique=True, info=describe("system.login_state_hash", notes="SHA-256 of the ticket")
    )
    expires_at: Mapped[datetime] = mapped_column(info=describe("system.timestamp"))
    used_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
