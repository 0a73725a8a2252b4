from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from huike.account.models import Role, SmsPurpose
from huike.core.schemas import Schema


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
    company_name: str = Field(max_length=100)
    industry: str = Field(max_length=32, description="A code from GET /api/v1/auth/industries.")
    adult_or_guardian: bool = Field(
        description="The registrant is 18 or older, or read and agreed with a guardian (§七). Must be true."
    )
    policy_version: str = Field(max_length=32, description="The policy version in effect, as shown.")
    purposes: list[str] = Field(default_factory=list, max_length=20, description="Optional purposes granted.")


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


class MeRead(BaseModel):
    user_id: uuid.UUID | None
    phone_masked: str | None
    tenant: TenantRef
    role: Role | None
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
