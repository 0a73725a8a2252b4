from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from huike.core.schemas import Schema
from huike.privacy.policy.models import ChangeClass, ConsentMethod
from huike.privacy.policy.service import PURPOSE_PATTERN, VERSION_PATTERN

VersionLabel = Annotated[str, Field(min_length=10, max_length=32, pattern=VERSION_PATTERN)]
PurposeCode = Annotated[str, Field(min_length=3, max_length=64, pattern=PURPOSE_PATTERN)]


class PolicyPurposeRead(BaseModel):
    code: str
    section: str = ""
    zh: str
    en: str


class ThirdPartyRead(BaseModel):
    product_zh: str
    product_en: str
    entity_zh: str
    entity_en: str
    shared_zh: str
    shared_en: str
    scene_zh: str
    scene_en: str
    purpose_zh: str
    purpose_en: str
    transfer_zh: str
    transfer_en: str
    region: str
    policy_url: str


class PolicyVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    text_hash: str
    effective_date: date
    change_class: ChangeClass
    published_at: datetime | None
    summary_zh: str | None
    summary_en: str | None
    has_translation: bool = False


class PolicyRead(PolicyVersionRead):
    """A version with its texts: zh-CN is authoritative (§十 1); ``text_en`` may be null."""

    prevailing_language: str = "zh-CN"
    text_zh: str
    text_en: str | None
    purposes: list[PolicyPurposeRead]
    third_parties: list[ThirdPartyRead]


class PolicyVersionList(BaseModel):
    current: str
    items: list[PolicyVersionRead]


class ThirdPartyList(BaseModel):
    source: str = "egress_register"
    items: list[ThirdPartyRead]


class ConsentAccept(Schema):
    version: VersionLabel
    purposes: Annotated[list[PurposeCode], Field(max_length=20)]
    method: ConsentMethod


class ConsentWithdraw(Schema):
    purpose: PurposeCode


class AcceptanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: str
    policy_hash: str
    purposes: list[str]
    method: ConsentMethod
    channel: str
    accepted_at: datetime
    ip_region: str | None


class ConsentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    purpose: str
    action: str
    version: str
    policy_hash: str
    channel: str
    occurred_at: datetime


class PurposeStateRead(BaseModel):
    purpose: str
    label_zh: str
    label_en: str
    state: str  # granted | withdrawn | none
    since: datetime | None
    version: str | None


class ConsentHistory(BaseModel):
    current_version: str
    acceptance_required: str | None  # material: must accept before continuing
    acceptance_pending: str | None  # material or reduces_rights: ask (not blocking for the latter)
    effective_version: str | None
    purposes: list[PurposeStateRead]
    acceptances: list[AcceptanceRead]
    events: list[ConsentEventRead]
