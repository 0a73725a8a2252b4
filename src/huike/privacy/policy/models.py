"""Policy versions, the consent ledger and the record of served notices (F6).

* ``policy_versions``: one row per version of the privacy policy. The zh-CN text is authoritative and
  hashed (SHA-256); a translation records the zh-CN hash it was made from (R-LANG-1). Once
  ``published_at`` is set the row is immutable: a mapper event refuses any update or delete.
* ``policy_acceptances``: one row per acceptance of a version by a subject, the evidence of consent
  (PIPL Art. 14): version and hash, purposes, method, channel, time, IP region, a SHA-256 of the
  user agent (never the raw string) and a *truncated* IP (see :func:`huike.privacy.policy.service.
  truncate_ip`: the policy collects the full IP only for registration analysis and location,
  §一（二）2–3, not as proof of consent).
* ``consent_events``: the per-purpose ledger, grants and withdrawals; the newest event of a
  (subject, purpose) decides :func:`~huike.privacy.policy.service.check_consent`.
* ``guardian_consents``: the guardian of a minor account holder (§七 1, R-MIN-1): name and phone,
  encrypted, and whether the guardian consented; the consent itself is a ``policy_acceptances`` row
  whose subject is the guardian record (``subject_type = guardian``), holding the version and hash.
* ``policy_notices`` / ``policy_notice_counts``: a record each time a version is displayed (F6).
  Identified subjects get a row each; anonymous displays are only counted per version, channel and
  day, with no IP, user agent or request id, so that nothing about an anonymous reader is stored.

Subjects are ``(subject_type, subject_id)`` without a foreign key (the users table comes later), plus
an optional ``tenant_id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, JSONType, utcnow
from huike.privacy.inventory import (
    Erasure,
    LegalBasis,
    Owner,
    Purpose,
    Retention,
    Subject,
    SubjectKey,
    TableInventory,
    describe,
)
from huike.privacy.policy.errors import PolicyVersionImmutable
from huike.security.blind_index import KeyScope, blind_index_column
from huike.security.fields import encrypted_column


class ChangeClass(StrEnum):
    minor = "minor"  # no new acceptance; an announcement suffices (R-POL-1)
    material = "material"  # the subject must accept before continuing
    reduces_rights = "reduces_rights"  # explicit acceptance; until then the old version applies (R-POL-2)


class ConsentMethod(StrEnum):
    """The ways of §一（二）7: 页面提示、交互流程、协议确认."""

    page_notice = "page_notice"
    interactive_flow = "interactive_flow"
    agreement = "agreement"


METHOD_LABELS_ZH: dict[ConsentMethod, str] = {
    ConsentMethod.page_notice: "页面提示",
    ConsentMethod.interactive_flow: "交互流程",
    ConsentMethod.agreement: "协议确认",
}


class Channel(StrEnum):
    web = "web"
    wecom = "wecom"
    api = "api"


class ConsentAction(StrEnum):
    grant = "grant"
    withdraw = "withdraw"


# Consent evidence is kept for three years after the account closes: the general limitation period
# for civil claims (Civil Code Art. 188), §四（二）1b 「争议解决」 (design choice).
_CONSENT_RETENTION = Retention("account_closed", 3 * 365, Erasure.delete_row)
_CONSENT_PURPOSE = Purpose("accountability.consent_evidence", LegalBasis.legal_duty)


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    __inventory__ = TableInventory(
        subject=Subject.none,
        owner=Owner.platform,
        purposes=(Purpose("transparency.privacy_policy", LegalBasis.legal_duty),),
        retention=Retention("never", None, Erasure.keep),  # R-POL-1: all old versions stay available
        erasure=Erasure.keep,
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version: Mapped[str] = mapped_column(String(32), unique=True, info=describe("system.policy.version"))
    text_zh: Mapped[str] = mapped_column(Text, info=describe("system.policy.text"))
    text_hash: Mapped[str] = mapped_column(String(64), info=describe("system.policy.hash"))
    effective_date: Mapped[date] = mapped_column(Date, info=describe("system.policy.effective_date"))
    change_class: Mapped[str] = mapped_column(String(16), info=describe("system.policy.change_class"))
    summary_zh: Mapped[str | None] = mapped_column(Text, info=describe("system.policy.summary"))
    summary_en: Mapped[str | None] = mapped_column(Text, info=describe("system.policy.summary"))
    text_en: Mapped[str | None] = mapped_column(Text, info=describe("system.policy.translation"))
    text_en_source_hash: Mapped[str | None] = mapped_column(
        String(64), info=describe("system.policy.hash", notes="the zh-CN hash the translation follows")
    )
    third_parties: Mapped[list[dict[str, str]]] = mapped_column(
        JSONType, info=describe("system.policy.third_party_table")
    )
    purposes: Mapped[list[dict[str, str]]] = mapped_column(
        JSONType, info=describe("system.policy.consent_purposes")
    )
    published_at: Mapped[datetime | None] = mapped_column(info=describe("system.timestamp"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def published(self) -> bool:
        return self.published_at is not None


@event.listens_for(PolicyVersion, "before_update")
def _refuse_edits(_mapper: Any, _connection: Any, target: PolicyVersion) -> None:
    history = inspect(target).attrs.published_at.history
    was_published = any(value is not None for value in (*history.unchanged, *history.deleted))
    if was_published:
        raise PolicyVersionImmutable(version=target.version)


@event.listens_for(PolicyVersion, "before_delete")
def _refuse_deletes(_mapper: Any, _connection: Any, target: PolicyVersion) -> None:
    if inspect(target).attrs.published_at.loaded_value is not None:
        raise PolicyVersionImmutable(version=target.version)


class PolicyAcceptance(Base):
    """One acceptance of a policy version: the evidence that the subject agreed, and to what."""

    __tablename__ = "policy_acceptances"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(_CONSENT_PURPOSE,),
        retention=_CONSENT_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="subject_id",
    )
    __table_args__ = (Index("ix_policy_acceptances_subject", "subject_type", "subject_id", "accepted_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    subject_type: Mapped[str] = mapped_column(String(32), info=describe("system.subject_type"))
    subject_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_versions.id", ondelete="RESTRICT"), index=True, info=describe("system.reference")
    )
    version: Mapped[str] = mapped_column(String(32), info=describe("system.policy.version"))
    policy_hash: Mapped[str] = mapped_column(String(64), info=describe("system.policy.hash"))
    purposes: Mapped[list[str]] = mapped_column(
        JSONType, info=describe("user.consent.purposes", personal=True)
    )
    method: Mapped[str] = mapped_column(String(20), info=describe("user.consent.method", personal=True))
    channel: Mapped[str] = mapped_column(String(10), info=describe("user.consent.channel", personal=True))
    accepted_at: Mapped[datetime] = mapped_column(
        default=utcnow, info=describe("user.consent.time", personal=True)
    )
    ip_region: Mapped[str | None] = mapped_column(
        String(100), info=describe("user.location.ip_region", personal=True)
    )
    ip_prefix: Mapped[str | None] = mapped_column(
        String(64),
        info=describe(
            "user.device.ip_address_truncated",
            personal=True,
            notes="IPv4 /24 or IPv6 /48 network, host bits zeroed; never the full address",
        ),
    )
    user_agent_hash: Mapped[str | None] = mapped_column(
        String(64), info=describe("user.device.user_agent_hash", personal=True)
    )


class ConsentEvent(Base):
    """A grant or a withdrawal of one purpose; the newest event of a (subject, purpose) decides."""

    __tablename__ = "consent_events"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(_CONSENT_PURPOSE,),
        retention=_CONSENT_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="subject_id",
    )
    __table_args__ = (
        Index("ix_consent_events_subject_purpose", "subject_type", "subject_id", "purpose", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    subject_type: Mapped[str] = mapped_column(String(32), info=describe("system.subject_type"))
    subject_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
    purpose: Mapped[str] = mapped_column(String(64), info=describe("user.consent.purpose", personal=True))
    action: Mapped[str] = mapped_column(String(10), info=describe("user.consent.action", personal=True))
    acceptance_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("policy_acceptances.id", ondelete="CASCADE"), index=True, info=describe("system.reference")
    )
    version: Mapped[str] = mapped_column(String(32), info=describe("system.policy.version"))
    policy_hash: Mapped[str] = mapped_column(String(64), info=describe("system.policy.hash"))
    channel: Mapped[str] = mapped_column(String(10), info=describe("user.consent.channel", personal=True))
    occurred_at: Mapped[datetime] = mapped_column(
        default=utcnow, info=describe("user.consent.time", personal=True)
    )


class GuardianConsentStatus(StrEnum):
    pending = "pending"  # asked at registration; no valid code from the guardian's phone yet
    granted = "granted"  # the guardian proved the phone with an SMS code and consented


class GuardianConsent(Base):
    """The guardian of a minor account holder and their consent (§七 1, R-MIN-1). The guardian's name
    and phone are encrypted; ``acceptance_id`` is the guardian's own acceptance of the policy (version
    and hash), written when the guardian confirmed with an SMS code sent to that phone. A minor's data
    is sensitive (design choice: PIPL Art. 28 requires it only under 14)."""

    __tablename__ = "guardian_consents"
    __inventory__ = TableInventory(
        subject=Subject.guardian,
        owner=Owner.platform,
        purposes=(_CONSENT_PURPOSE,),
        retention=_CONSENT_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="guardian_phone_index",
        subject_keys=(SubjectKey(Subject.account_holder, "minor_id"),),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    minor_id: Mapped[uuid.UUID] = mapped_column(
        index=True,
        info=describe(
            "user.unique_id",
            personal=True,
            sensitive=True,
            subject=Subject.account_holder,
            notes="the minor account holder",
        ),
    )
    guardian_name: Mapped[str] = encrypted_column(
        "user.name", subject=Subject.guardian, sensitive=True, scope=KeyScope.platform
    )
    guardian_phone: Mapped[str] = encrypted_column(
        "user.contact.phone_number", subject=Subject.guardian, sensitive=True, scope=KeyScope.platform
    )
    guardian_phone_index: Mapped[str | None] = blind_index_column(
        "guardian_phone", subject=Subject.guardian, scope=KeyScope.platform
    )
    status: Mapped[str] = mapped_column(
        String(16), default=GuardianConsentStatus.pending, info=describe("system.status")
    )
    acceptance_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("policy_acceptances.id", ondelete="SET NULL"),
        index=True,
        info=describe("system.reference"),
    )
    consented_at: Mapped[datetime | None] = mapped_column(info=describe("user.consent.time", personal=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyNotice(Base):
    """A version displayed to an identified subject (F6 served notice)."""

    __tablename__ = "policy_notices"
    __inventory__ = TableInventory(
        subject=Subject.account_holder,
        owner=Owner.platform,
        purposes=(Purpose("accountability.notice_evidence", LegalBasis.legal_duty),),
        retention=_CONSENT_RETENTION,
        erasure=Erasure.delete_row,
        subject_key="subject_id",
    )
    __table_args__ = (Index("ix_policy_notices_subject", "subject_type", "subject_id", "served_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_versions.id", ondelete="RESTRICT"), index=True, info=describe("system.reference")
    )
    subject_type: Mapped[str] = mapped_column(String(32), info=describe("system.subject_type"))
    subject_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
    channel: Mapped[str] = mapped_column(String(10), info=describe("user.consent.channel", personal=True))
    served_at: Mapped[datetime] = mapped_column(
        default=utcnow, info=describe("user.consent.time", personal=True)
    )


class PolicyNoticeCount(Base):
    """Anonymous displays of a version, counted per channel and day (UTC). Holds nothing about readers."""

    __tablename__ = "policy_notice_counts"
    __inventory__ = TableInventory(
        subject=Subject.none,
        owner=Owner.platform,
        purposes=(Purpose("accountability.notice_evidence", LegalBasis.legal_duty),),
        retention=Retention("never", None, Erasure.keep),
        erasure=Erasure.keep,
    )
    __table_args__ = (UniqueConstraint("version_id", "channel", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_versions.id", ondelete="RESTRICT"), index=True, info=describe("system.reference")
    )
    channel: Mapped[str] = mapped_column(String(10), info=describe("system.policy.channel"))
    day: Mapped[date] = mapped_column(Date, info=describe("system.date"))
    count: Mapped[int] = mapped_column(Integer, default=0, info=describe("system.counter"))
