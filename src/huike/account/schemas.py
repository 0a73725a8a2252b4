from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from huike.account.models import SmsPurpose
from huike.core.schemas import Schema
from huike.permission.schemas import RoleRef


class IndustryRead(BaseModel):
    code: str
    zh: str
    en: str


class IndustryList(BaseModel):
    items: list[IndustryRead]


class SmsCodeRequest(Schema):
    phone: str = Field(min_length=5, max_length=32, description="Mainland mobile number, any common format.")
    purpose: SmsPurpose


class SmsCodeSent(BaseModel):
    phone_masked: str
    expires_in_s: int
    resend_after_s: int


class RegisterIn(Schema):
    phone: str = Field(min_length=5, max_length=32)
    sms_code: str = Field(min_length=1, max_length=12)
    password: str = Field(min_length=1, max_length=256)
    company_name: str = Field(default="", max_length=100, description="The enterprise name; required.")
    industry: str = Field(max_length=32, description="A code from GET /api/v1/auth/industries.")
    adult_or_guardian: bool = Field(
        default=False,
        description="The registrant is 18 or older, or read and agreed with a guardian (§七). Must be true.",
    )
    company_authorised: bool = Field(
        default=False,
        description="The company authorised the registrant to register and use Huike for it (§一（一）1c). "
        "Must be true.",
    )
    policy_version: str = Field(max_length=32, description="The policy version in effect, as shown.")
    purposes: list[str] = Field(default_factory=list, max_length=20, description="Optional purposes granted.")
    minor: bool = Field(
        default=False,
        description="The registrant is under 18 (§七 1): guardian_name and guardian_phone are then required.",
    )
    guardian_name: str = Field(default="", max_length=100, description="The guardian's name (minors only).")
    guardian_phone: str = Field(
        default="", max_length=32, description="The guardian's mainland mobile number (minors only)."
    )
    guardian_sms_code: str = Field(
        default="",
        max_length=12,
        description="The code sent to guardian_phone (purpose guardian). Missing or wrong: the account is "
        "created in pending_guardian (202) and cannot log in until POST /api/v1/auth/guardian-consent.",
    )


class RegistrationPending(BaseModel):
    """A minor's registration without the guardian's consent (202): no session is started."""

    status: str = Field(description="Always pending_guardian.")
    phone_masked: str
    guardian_phone_masked: str
    reason: str = Field(description="Why the guardian's code did not count: an sms.* error code.")


class GuardianConsentIn(Schema):
    phone: str = Field(min_length=5, max_length=32, description="The registrant's (minor's) phone.")
    guardian_sms_code: str = Field(
        min_length=1, max_length=12, description="Sent to the guardian's phone (purpose guardian)."
    )


class PasswordLoginIn(Schema):
    phone: str = Field(min_length=5, max_length=32)
    password: str = Field(min_length=1, max_length=256)


class SmsLoginIn(Schema):
    phone: str = Field(min_length=5, max_length=32)
    sms_code: str = Field(min_length=1, max_length=12)


class PasswordResetIn(Schema):
    phone: str = Field(min_length=5, max_length=32)
    sms_code: str = Field(min_length=1, max_length=12)
    new_password: str = Field(min_length=1, max_length=256)


class TenantRef(BaseModel):
    id: uuid.UUID
    name: str | None


class CurrentUserRead(BaseModel):
    """The signed-in user (``GET /api/v1/auth/me`` and the login answers)."""

    user_id: uuid.UUID | None
    phone_masked: str | None
    tenant: TenantRef
    role: RoleRef | None = Field(
        description="The role the user's permissions come from: a custom role assigned to their member, "
        "else the built-in role of their account."
    )
    permissions: list[str] = Field(
        description="Every permission the role gives (function and app permissions), sorted."
    )
    wecom_linked: bool
    session_id: uuid.UUID
    policy_acceptance_required: str | None = Field(
        description="A policy version the user must accept (POST /api/v1/privacy/consents) before "
        "other routes answer; null when none."
    )


class SessionRead(BaseModel):
    id: uuid.UUID
    current: bool
    method: str
    created_at: datetime
    last_seen_at: datetime | None
    os_family: str | None
    browser_family: str | None
    ip_region: str | None


class SessionList(BaseModel):
    items: list[SessionRead]


class DevSmsCode(BaseModel):
    phone_masked: str
    code: str
    purpose: str
    sent_at: datetime


# --- the profile ---------------------------------------------------------------------------------


class ProfileRead(BaseModel):
    user_id: uuid.UUID
    display_name: str | None = Field(description="The user's own name, else the linked WeCom member's name.")
    display_name_source: str | None = Field(description="own, wecom, or null.")
    avatar_url: str | None = Field(
        description="The uploaded avatar (GET /api/v1/auth/profile/avatar, owner only) or the WeCom avatar."
    )
    avatar_source: str | None = Field(description="upload, wecom, or null.")
    wecom_userid_masked: str | None = Field(description="The WeCom account (UserID), masked.")
    wecom_gender: str | None = Field(
        description="Exactly as WeCom returned it (1 male, 2 female); shown only, used by nothing."
    )
    corp_id: str | None
    phone_masked: str | None
    role: RoleRef | None
    company_name: str | None
    has_password: bool


class ProfileUpdate(Schema):
    display_name: str | None = Field(
        default=None,
        max_length=200,
        description="1–30 characters after trimming, no control characters; null: use the WeCom name.",
    )


class PasswordChangeIn(Schema):
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Required when the account has a password (ProfileRead.has_password); left out for a "
        "first password.",
    )
    new_password: str = Field(min_length=1, max_length=256)


class PasswordChanged(BaseModel):
    sessions_revoked: int


class PhoneVerifyCurrentIn(Schema):
    sms_code: str = Field(
        min_length=1, max_length=12, description="Sent to the current phone (change_phone)."
    )


class PhoneTicketRead(BaseModel):
    ticket: str = Field(
        description="Give it to POST /api/v1/auth/phone within expires_in_s, in this session."
    )
    expires_in_s: int


class PhoneChangeIn(Schema):
    ticket: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="From POST /api/v1/auth/phone/verify-current; left out when the account has no phone yet.",
    )
    new_phone: str = Field(min_length=5, max_length=32)
    sms_code: str = Field(min_length=1, max_length=12, description="Sent to the new phone (change_phone).")


class PhoneChanged(BaseModel):
    phone_masked: str
    sessions_revoked: int
