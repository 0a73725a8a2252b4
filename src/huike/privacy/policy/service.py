"""Policy versions and the consent ledger (F6; R-POL-1, R-POL-2, R-PUR-2, R-LANG-1, R-RT-5).

**Versions.** A version is drafted (:func:`create_draft`), then :func:`publish` validates it and stamps
``published_at``; from then on it is immutable (the model refuses updates and deletes). The version in
effect (:func:`current_version`) is the newest published version whose effective date (Asia/Shanghai)
has come. Publishing rules: version labels look like ``2023-02-22`` (optionally ``.2``); effective
dates strictly increase; a translation must follow the current zh-CN hash; a material or
rights-reducing version takes effect at least 7 days after it is published (R-POL-1, design choice),
a minor one not before it is published. The first version is exempt from the notice period (there is
no one to notify) and must not be minor.

**Acceptance** is always of the version in effect (:func:`accept_policy`). Change classes:

* ``minor``: continued use is acceptance (§八 2); no new acceptance row is asked for;
* ``material``: :func:`requires_acceptance` answers the current version until the subject accepts it,
  and the HTTP dependency :func:`huike.privacy.policy.router.require_policy_acceptance` refuses with
  ``privacy.policy_acceptance_required``;
* ``reduces_rights``: continued use is *not* acceptance (§八 1, R-POL-2), but the subject is not
  locked out either (refusing service for not consenting, PIPL Art. 16): processing stays under the
  version before it (:func:`effective_version_for`) until the subject accepts, and
  :func:`pending_acceptance` tells the console to ask. Accepting a later material version accepts
  everything up to it, including an earlier rights-reducing change.

:func:`effective_version_for` generalises this: starting from the newest version the subject
accepted, minor successors apply too; the first material or rights-reducing successor not yet
accepted stops the walk.

**Consent per purpose.** An acceptance grants the purposes it names (each must be declared by the
version); :func:`withdraw_consent` records a withdrawal; :func:`check_consent` reads the newest event
on every call, so a withdrawal is honoured at the next use. A purpose the subject never granted
(e.g. one a newer version introduced, R-PUR-2) raises :class:`ConsentRequired`.

**Served notices.** :func:`record_notice` writes a row when a version is shown to an identified
subject, and for anonymous readers only increments a per-version, per-channel, per-day counter:
no IP, user agent or time finer than the day is kept for them, so the count is not personal data.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import utcnow
from huike.core.tenancy import TenantContext
from huike.privacy.egress import public_third_parties
from huike.privacy.inventory import Subject
from huike.privacy.policy import repository
from huike.privacy.policy.errors import (
    ConsentNotGranted,
    ConsentRequired,
    ConsentWithdrawn,
    NoConsentSubject,
    NoCurrentPolicy,
    PolicyVersionExists,
    PolicyVersionImmutable,
    PolicyVersionInvalid,
    PolicyVersionNotCurrent,
    PolicyVersionNotFound,
    PolicyVersionStale,
    UnknownConsentPurpose,
)
from huike.privacy.policy.models import (
    ChangeClass,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    GuardianConsent,
    GuardianConsentStatus,
    PolicyAcceptance,
    PolicyNotice,
    PolicyVersion,
)

log = structlog.get_logger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
INITIAL_VERSION = "2023-02-22"
INITIAL_EFFECTIVE_DATE = date(2023, 2, 22)
NOTICE_PERIOD = timedelta(days=7)  # R-POL-1 (design choice)
VERSION_PATTERN = r"^\d{4}-\d{2}-\d{2}(?:\.\d{1,3})?$"
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$"
CONSENT_SUBJECTS = frozenset(
    {
        Subject.account_holder,
        Subject.member,
        Subject.customer_admin,
        Subject.external_contact,
        Subject.guardian,
    }
)

# --- subjects and small helpers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentSubject:
    """Whose consent: a subject type of the inventory, an id, and the tenant it acts in (optional).

    Consent belongs to the person: lookups use ``(type, id)`` only; ``tenant_id`` is recorded on the
    rows so that a tenant's views and erasure can find them."""

    type: str
    id: uuid.UUID
    tenant_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.type not in CONSENT_SUBJECTS:
            raise ValueError(f"not a subject that can consent: {self.type!r}")

    @classmethod
    def account_holder(cls, user_id: uuid.UUID, tenant_id: uuid.UUID | None = None) -> ConsentSubject:
        return cls(Subject.account_holder, user_id, tenant_id)

    @classmethod
    def from_context(cls, ctx: TenantContext) -> ConsentSubject:
        """The logged-in user of a request (a platform account holder)."""
        if ctx.user_id is None or ctx.is_system:
            raise NoConsentSubject()
        return cls(Subject.account_holder, ctx.user_id, ctx.tenant_id)


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A purpose the subject currently consents to, and under which version."""

    purpose: str
    version: str
    policy_hash: str
    granted_at: datetime


def hash_text(text: str) -> str:
    """SHA-256 (hex) of the UTF-8 text, exactly as stored."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_user_agent(user_agent: str | None) -> str | None:
    """SHA-256 of the user agent; the raw string is never stored."""
    return hashlib.sha256(user_agent.encode("utf-8")).hexdigest() if user_agent else None


def truncate_ip(ip: str | None) -> str | None:
    """The network of an address: IPv4 /24, IPv6 /48, host bits zeroed (``203.0.113.0/24``).

    The policy collects the full IP for registration analysis and the registration region
    (§一（二）2–3), not as evidence of consent, so the ledger keeps only the network. Unparseable
    input gives None."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def china_today() -> date:
    return datetime.now(CHINA).date()


def purpose_codes(version: PolicyVersion) -> list[str]:
    return [str(p["code"]) for p in version.purposes]


# --- versions ----------------------------------------------------------------------------------


def _data_text(name: str) -> str:
    return resources.files("huike.privacy.policy").joinpath("data", name).read_text(encoding="utf-8")


def initial_policy_text() -> str:
    """The spec's policy text (copied from shared/spec/iccsaas-privacy-policy.zh.txt at build time)."""
    return _data_text(f"{INITIAL_VERSION}.zh.txt")


def initial_purposes() -> list[dict[str, str]]:
    loaded: list[dict[str, str]] = json.loads(_data_text(f"{INITIAL_VERSION}.purposes.json"))
    return loaded


async def create_draft(
    session: AsyncSession,
    *,
    version: str,
    text_zh: str,
    effective_date: date,
    change_class: ChangeClass | str,
    purposes: Sequence[dict[str, str]] = (),
    text_en: str | None = None,
    summary_zh: str | None = None,
    summary_en: str | None = None,
) -> PolicyVersion:
    """A new unpublished version. A translation given here is taken to follow this zh-CN text."""
    if not re.fullmatch(VERSION_PATTERN, version):
        raise PolicyVersionInvalid(version=version, reason="version_format")
    if await repository.version_by_label(session, version) is not None:
        raise PolicyVersionExists(version=version)
    text_hash = hash_text(text_zh)
    row = PolicyVersion(
        version=version,
        text_zh=text_zh,
        text_hash=text_hash,
        effective_date=effective_date,
        change_class=str(change_class),
        purposes=[dict(p) for p in purposes],
        text_en=text_en,
        text_en_source_hash=text_hash if text_en else None,
        summary_zh=summary_zh,
        summary_en=summary_en,
        third_parties=public_third_parties(),
    )
    session.add(row)
    await session.flush()
    return row


async def update_draft(session: AsyncSession, version: str, **changes: Any) -> PolicyVersion:
    """Edit a draft. A published version refuses (:class:`PolicyVersionImmutable`).

    Changing ``text_zh`` re-hashes it; a translation then stays stale until ``text_en_source_hash``
    is set to the new hash (or the translation is given again with ``text_en``)."""
    row = await get_version(session, version, published_only=False)
    if row.published:
        raise PolicyVersionImmutable(version=version)
    allowed = {
        "text_zh",
        "effective_date",
        "change_class",
        "purposes",
        "text_en",
        "text_en_source_hash",
        "summary_zh",
        "summary_en",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise PolicyVersionInvalid(version=version, reason="unknown_fields", fields=sorted(unknown))
    for name, value in changes.items():
        setattr(row, name, value)
    if "text_zh" in changes:
        row.text_hash = hash_text(row.text_zh)
    if "text_en" in changes and "text_en_source_hash" not in changes:
        row.text_en_source_hash = row.text_hash if row.text_en else None
    await session.flush()
    return row


def _validate_purposes(version: str, purposes: Sequence[dict[str, str]]) -> None:
    seen: set[str] = set()
    for purpose in purposes:
        code = purpose.get("code", "")
        if (
            not re.fullmatch(PURPOSE_PATTERN, code)
            or len(code) > 64
            or code in seen
            or not purpose.get("zh")
            or not purpose.get("en")
        ):
            raise PolicyVersionInvalid(version=version, reason="purposes", purpose=code)
        seen.add(code)


async def publish(session: AsyncSession, version: str, *, now: datetime | None = None) -> PolicyVersion:
    """Validate a draft and publish it; from then on it cannot change. Takes the third-party table
    snapshot from the egress register at this moment."""
    row = await get_version(session, version, published_only=False)
    if row.published:
        raise PolicyVersionImmutable(version=version)
    now = now or utcnow()
    published_day = now.astimezone(CHINA).date()

    def invalid(reason: str, **details: Any) -> PolicyVersionInvalid:
        return PolicyVersionInvalid(version=version, reason=reason, **details)

    if not row.text_zh.strip():
        raise invalid("empty_text")
    if row.text_hash != hash_text(row.text_zh):
        raise invalid("hash_mismatch")
    if row.change_class not in set(ChangeClass):
        raise invalid("change_class")
    if row.text_en is not None and row.text_en_source_hash != row.text_hash:
        raise invalid("translation_stale")  # R-LANG-1
    _validate_purposes(version, row.purposes)
    previous = await repository.latest_published(session)
    if previous is None:
        if row.change_class == ChangeClass.minor:
            raise invalid("first_version_minor")
    else:
        if row.effective_date <= previous.effective_date:
            raise invalid("effective_date_order", previous=previous.version)
        if row.change_class == ChangeClass.minor:
            if row.effective_date < published_day:
                raise invalid("effective_in_past")
        elif row.effective_date < published_day + NOTICE_PERIOD:
            raise invalid("notice_period", earliest=(published_day + NOTICE_PERIOD).isoformat())
    row.third_parties = public_third_parties()
    row.published_at = now
    await session.flush()
    log.info("privacy.policy_published", version=version, change_class=row.change_class)
    return row


async def publish_version(
    session: AsyncSession,
    *,
    version: str,
    text_zh: str,
    effective_date: date,
    change_class: ChangeClass | str,
    purposes: Sequence[dict[str, str]] = (),
    text_en: str | None = None,
    summary_zh: str | None = None,
    summary_en: str | None = None,
    now: datetime | None = None,
) -> PolicyVersion:
    """Draft and publish in one step; when publishing is refused, no draft is left behind."""
    async with session.begin_nested():
        await create_draft(
            session,
            version=version,
            text_zh=text_zh,
            effective_date=effective_date,
            change_class=change_class,
            purposes=purposes,
            text_en=text_en,
            summary_zh=summary_zh,
            summary_en=summary_en,
        )
        return await publish(session, version, now=now)


async def ensure_initial_policy(session: AsyncSession) -> PolicyVersion:
    """Seed the spec's text as version 2023-02-22 (material, the first). Idempotent: when the version
    exists it is returned unchanged; if its hash differs from the packaged text, that is an error
    (published versions never change), raised as :class:`PolicyVersionImmutable`.

    Flushes but never commits: call it inside the seeding transaction (``huike run``, migrations)."""
    text = initial_policy_text()
    existing = await repository.version_by_label(session, INITIAL_VERSION)
    if existing is not None:
        if existing.text_hash != hash_text(text):
            raise PolicyVersionImmutable(version=INITIAL_VERSION, reason="seed_text_differs")
        if not existing.published:
            return await publish(session, INITIAL_VERSION)
        return existing
    return await publish_version(
        session,
        version=INITIAL_VERSION,
        text_zh=text,
        effective_date=INITIAL_EFFECTIVE_DATE,
        change_class=ChangeClass.material,
        purposes=initial_purposes(),
        summary_zh="首个版本。",
        summary_en="First version.",
    )


async def get_version(session: AsyncSession, version: str, *, published_only: bool = True) -> PolicyVersion:
    row = await repository.version_by_label(session, version)
    if row is None or (published_only and not row.published):
        raise PolicyVersionNotFound(version=version)
    return row


async def list_versions(session: AsyncSession) -> Sequence[PolicyVersion]:
    """Every published version, oldest first, including ones not yet in effect."""
    return await repository.published_versions(session)


async def _effective_versions(session: AsyncSession, today: date | None) -> Sequence[PolicyVersion]:
    versions = await repository.published_versions(session, until=today or china_today())
    if not versions:
        raise NoCurrentPolicy()
    return versions


async def current_version(session: AsyncSession, *, today: date | None = None) -> PolicyVersion:
    """The version in effect: the newest published one whose effective date has come."""
    return (await _effective_versions(session, today))[-1]


# --- acceptance and consent --------------------------------------------------------------------


async def _ledger_time(session: AsyncSession, subject: ConsentSubject, now: datetime | None) -> datetime:
    """Now, but strictly after the subject's last ledger entry (so the newest event is unambiguous)."""
    at = now or utcnow()
    last = await repository.last_event_time(session, subject.type, subject.id)
    if last is not None and at <= last:
        at = last + timedelta(microseconds=1)
    return at


async def accept_policy(
    session: AsyncSession,
    subject: ConsentSubject,
    *,
    version: str,
    purposes: Sequence[str] = (),
    method: ConsentMethod | str,
    channel: Channel | str,
    ip: str | None = None,
    ip_region: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
    today: date | None = None,
) -> PolicyAcceptance:
    """Record that ``subject`` accepted ``version`` (which must be the one in effect) and granted
    ``purposes`` (each declared by the version). Stores the zh-CN hash whatever language was shown
    (R-LANG-1), a truncated IP and a hash of the user agent. Call it at registration (R-REG-2) and
    whenever :func:`requires_acceptance` or :func:`pending_acceptance` answers a version."""
    method = ConsentMethod(method)
    channel = Channel(channel)
    accepted = await get_version(session, version)
    current = await current_version(session, today=today)
    if accepted.id != current.id:
        if accepted.effective_date > current.effective_date:
            raise PolicyVersionNotCurrent(version=version, current=current.version)
        raise PolicyVersionStale(version=version, current=current.version)
    declared = purpose_codes(accepted)
    granted = list(dict.fromkeys(purposes))
    for purpose in granted:
        if purpose not in declared:
            raise UnknownConsentPurpose(purpose=purpose, version=version)
    at = await _ledger_time(session, subject, now)
    row = PolicyAcceptance(
        tenant_id=subject.tenant_id,
        subject_type=subject.type,
        subject_id=subject.id,
        version_id=accepted.id,
        version=accepted.version,
        policy_hash=accepted.text_hash,
        purposes=granted,
        method=method,
        channel=channel,
        accepted_at=at,
        ip_region=ip_region[:100] if ip_region else None,
        ip_prefix=truncate_ip(ip),
        user_agent_hash=hash_user_agent(user_agent),
    )
    session.add(row)
    await session.flush()
    for purpose in granted:
        session.add(
            ConsentEvent(
                tenant_id=subject.tenant_id,
                subject_type=subject.type,
                subject_id=subject.id,
                purpose=purpose,
                action=ConsentAction.grant,
                acceptance_id=row.id,
                version=accepted.version,
                policy_hash=accepted.text_hash,
                channel=channel,
                occurred_at=at,
            )
        )
    await session.flush()
    log.info(
        "privacy.policy_accepted",
        version=accepted.version,
        method=str(method),
        channel=str(channel),
        purposes=len(granted),
    )
    return row


# --- guardians of minors (§七 1, R-MIN-1) ------------------------------------------------------------


async def request_guardian_consent(
    session: AsyncSession, minor: ConsentSubject, *, guardian_name: str, guardian_phone_e164: str
) -> GuardianConsent:
    """Record the guardian a minor account holder named (pending until :func:`grant_guardian_consent`)."""
    row = GuardianConsent(
        tenant_id=minor.tenant_id,
        minor_id=minor.id,
        guardian_name=guardian_name,
        guardian_phone=guardian_phone_e164,
        status=GuardianConsentStatus.pending,
    )
    session.add(row)
    await session.flush()
    return row


async def guardian_consent_of(
    session: AsyncSession, minor_id: uuid.UUID, *, lock: bool = False
) -> GuardianConsent | None:
    return await repository.guardian_consent_of(session, minor_id, lock=lock)


async def grant_guardian_consent(
    session: AsyncSession,
    guardian: GuardianConsent,
    *,
    channel: Channel | str,
    ip: str | None = None,
    ip_region: str | None = None,
    user_agent: str | None = None,
) -> PolicyAcceptance:
    """The guardian, having proved the phone with an SMS code, consents: an acceptance of the version
    in effect whose subject is the guardian record (the guardian reference), with its hash."""
    current = await current_version(session)
    acceptance = await accept_policy(
        session,
        ConsentSubject(Subject.guardian, guardian.id, guardian.tenant_id),
        version=current.version,
        method=ConsentMethod.interactive_flow,
        channel=channel,
        ip=ip,
        ip_region=ip_region,
        user_agent=user_agent,
    )
    guardian.status = GuardianConsentStatus.granted
    guardian.acceptance_id = acceptance.id
    guardian.consented_at = acceptance.accepted_at
    await session.flush()
    log.info("privacy.guardian_consented", version=acceptance.version)
    return acceptance


async def _known_purpose(session: AsyncSession, purpose: str) -> bool:
    return any(purpose in purpose_codes(v) for v in await repository.published_versions(session))


async def withdraw_consent(
    session: AsyncSession,
    subject: ConsentSubject,
    purpose: str,
    *,
    channel: Channel | str,
    now: datetime | None = None,
) -> ConsentEvent:
    """Withdraw consent to one purpose; the next :func:`check_consent` refuses it. Past processing
    is unaffected (§六（二）)."""
    channel = Channel(channel)
    current = await current_version(session)
    if not await _known_purpose(session, purpose):
        raise UnknownConsentPurpose(purpose=purpose, version=current.version)
    latest = await repository.latest_event(session, subject.type, subject.id, purpose)
    if latest is None or latest.action != ConsentAction.grant:
        raise ConsentNotGranted(purpose=purpose)
    event = ConsentEvent(
        tenant_id=subject.tenant_id,
        subject_type=subject.type,
        subject_id=subject.id,
        purpose=purpose,
        action=ConsentAction.withdraw,
        acceptance_id=None,
        version=current.version,
        policy_hash=current.text_hash,
        channel=channel,
        occurred_at=await _ledger_time(session, subject, now),
    )
    session.add(event)
    await session.flush()
    log.info("privacy.consent_withdrawn", purpose=purpose, channel=str(channel))
    return event


async def check_consent(session: AsyncSession, subject: ConsentSubject, purpose: str) -> ConsentState:
    """Call before processing for a consent-based purpose. Reads the ledger every time (no cache),
    so a withdrawal is honoured at the next use. Raises :class:`ConsentWithdrawn` or
    :class:`ConsentRequired` (both 403 when they reach a response)."""
    latest = await repository.latest_event(session, subject.type, subject.id, purpose)
    if latest is None:
        raise ConsentRequired(purpose=purpose)
    if latest.action != ConsentAction.grant:
        raise ConsentWithdrawn(purpose=purpose, withdrawn_at=latest.occurred_at.isoformat())
    return ConsentState(
        purpose=purpose, version=latest.version, policy_hash=latest.policy_hash, granted_at=latest.occurred_at
    )


async def consent_overview(session: AsyncSession, subject: ConsentSubject) -> list[dict[str, Any]]:
    """Every purpose of the version in effect with the subject's state: granted, withdrawn or none."""
    current = await current_version(session)
    overview = []
    for purpose in current.purposes:
        latest = await repository.latest_event(session, subject.type, subject.id, purpose["code"])
        state = (
            "none" if latest is None else ("granted" if latest.action == ConsentAction.grant else "withdrawn")
        )
        overview.append(
            {
                "purpose": purpose["code"],
                "label_zh": purpose["zh"],
                "label_en": purpose["en"],
                "state": state,
                "since": latest.occurred_at if latest is not None else None,
                "version": latest.version if latest is not None else None,
            }
        )
    return overview


async def history(
    session: AsyncSession, subject: ConsentSubject
) -> tuple[Sequence[PolicyAcceptance], Sequence[ConsentEvent]]:
    """The subject's acceptances and consent events, newest first, within its tenant (or none)."""
    acceptances = await repository.acceptances(session, subject.type, subject.id, subject.tenant_id)
    events = await repository.consent_events(session, subject.type, subject.id, subject.tenant_id)
    return acceptances, events


async def _position(
    session: AsyncSession, subject: ConsentSubject, versions: Sequence[PolicyVersion]
) -> int | None:
    """Index in ``versions`` of the newest version the subject accepted, or None."""
    accepted = await repository.accepted_version_ids(session, subject.type, subject.id)
    positions = [i for i, v in enumerate(versions) if v.id in accepted]
    return max(positions) if positions else None


async def requires_acceptance(
    session: AsyncSession, subject: ConsentSubject, *, today: date | None = None
) -> PolicyVersion | None:
    """The version the subject must accept before continuing, or None.

    A subject who never accepted any version must accept the current one; otherwise only a
    *material* version in effect since the last acceptance blocks. Minor versions never do, and a
    rights-reducing one does not lock the subject out (see :func:`effective_version_for`)."""
    versions = await _effective_versions(session, today)
    position = await _position(session, subject, versions)
    if position is None:
        return versions[-1]
    if any(v.change_class == ChangeClass.material for v in versions[position + 1 :]):
        return versions[-1]
    return None


async def pending_acceptance(
    session: AsyncSession, subject: ConsentSubject, *, today: date | None = None
) -> PolicyVersion | None:
    """The version to ask the subject about (banner): like :func:`requires_acceptance`, but a
    rights-reducing version counts too. Asking is not blocking."""
    versions = await _effective_versions(session, today)
    position = await _position(session, subject, versions)
    if position is None:
        return versions[-1]
    if any(v.change_class != ChangeClass.minor for v in versions[position + 1 :]):
        return versions[-1]
    return None


async def effective_version_for(
    session: AsyncSession, subject: ConsentSubject, *, today: date | None = None
) -> PolicyVersion | None:
    """The version under which the subject's data is processed (R-POL-2), or None if the subject
    never accepted one.

    From the newest version the subject accepted, later *minor* versions apply as well (continued
    use, §八 2); the first later material or rights-reducing version the subject has not accepted
    stops the walk, so processing stays under the version before it."""
    versions = await _effective_versions(session, today)
    position = await _position(session, subject, versions)
    if position is None:
        return None
    effective = versions[position]
    for later in versions[position + 1 :]:
        if later.change_class != ChangeClass.minor:
            break
        effective = later
    return effective


# --- served notices ----------------------------------------------------------------------------


async def record_notice(
    session: AsyncSession,
    version: PolicyVersion,
    *,
    channel: Channel | str,
    subject: ConsentSubject | None = None,
    now: datetime | None = None,
) -> None:
    """Record that ``version`` was displayed (F6). An identified subject gets a row (version, channel,
    time); an anonymous display only increments the day's counter for (version, channel)."""
    channel = Channel(channel)
    now = now or utcnow()
    if subject is not None:
        session.add(
            PolicyNotice(
                tenant_id=subject.tenant_id,
                version_id=version.id,
                subject_type=subject.type,
                subject_id=subject.id,
                channel=channel,
                served_at=now,
            )
        )
        await session.flush()
        return
    await repository.increment_notice_count(session, version.id, channel, now.date())


async def anonymous_notice_count(
    session: AsyncSession, version: PolicyVersion, channel: Channel | str | None = None
) -> int:
    return await repository.notice_count(session, version.id, None if channel is None else str(channel))
