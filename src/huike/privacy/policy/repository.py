"""SQL for policy versions and the consent ledger. Nothing here is tenant-scoped: versions are
platform-wide and consent belongs to a person; callers pass the subject explicitly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.privacy.policy.models import (
    ConsentEvent,
    GuardianConsent,
    PolicyAcceptance,
    PolicyNoticeCount,
    PolicyVersion,
)


async def version_by_label(session: AsyncSession, version: str) -> PolicyVersion | None:
    return (
        await session.execute(select(PolicyVersion).where(PolicyVersion.version == version))
    ).scalar_one_or_none()


async def published_versions(session: AsyncSession, *, until: date | None = None) -> Sequence[PolicyVersion]:
    """Published versions, oldest first; with ``until``, only those in effect by that day."""
    statement = select(PolicyVersion).where(PolicyVersion.published_at.is_not(None))
    if until is not None:
        statement = statement.where(PolicyVersion.effective_date <= until)
    statement = statement.order_by(PolicyVersion.effective_date, PolicyVersion.published_at)
    return (await session.execute(statement)).scalars().all()


async def latest_published(session: AsyncSession) -> PolicyVersion | None:
    return (
        await session.execute(
            select(PolicyVersion)
            .where(PolicyVersion.published_at.is_not(None))
            .order_by(PolicyVersion.effective_date.desc(), PolicyVersion.published_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def accepted_version_ids(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID
) -> set[uuid.UUID]:
    rows = await session.execute(
        select(PolicyAcceptance.version_id)
        .where(PolicyAcceptance.subject_type == subject_type, PolicyAcceptance.subject_id == subject_id)
        .distinct()
    )
    return set(rows.scalars().all())


async def acceptances(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> Sequence[PolicyAcceptance]:
    statement = select(PolicyAcceptance).where(
        PolicyAcceptance.subject_type == subject_type, PolicyAcceptance.subject_id == subject_id
    )
    if tenant_id is not None:
        statement = statement.where(
            (PolicyAcceptance.tenant_id == tenant_id) | PolicyAcceptance.tenant_id.is_(None)
        )
    statement = statement.order_by(PolicyAcceptance.accepted_at.desc(), PolicyAcceptance.id)
    return (await session.execute(statement)).scalars().all()


async def consent_events(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> Sequence[ConsentEvent]:
    statement = select(ConsentEvent).where(
        ConsentEvent.subject_type == subject_type, ConsentEvent.subject_id == subject_id
    )
    if tenant_id is not None:
        statement = statement.where((ConsentEvent.tenant_id == tenant_id) | ConsentEvent.tenant_id.is_(None))
    statement = statement.order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id)
    return (await session.execute(statement)).scalars().all()


async def latest_event(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID, purpose: str
) -> ConsentEvent | None:
    return (
        await session.execute(
            select(ConsentEvent)
            .where(
                ConsentEvent.subject_type == subject_type,
                ConsentEvent.subject_id == subject_id,
                ConsentEvent.purpose == purpose,
            )
            .order_by(ConsentEvent.occurred_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def last_event_time(session: AsyncSession, subject_type: str, subject_id: uuid.UUID) -> datetime | None:
    """The newest ledger time of a subject (acceptances and events), to keep its ledger strictly ordered."""
    events = (
        await session.execute(
            select(func.max(ConsentEvent.occurred_at)).where(
                ConsentEvent.subject_type == subject_type, ConsentEvent.subject_id == subject_id
            )
        )
    ).scalar_one_or_none()
    accepted = (
        await session.execute(
            select(func.max(PolicyAcceptance.accepted_at)).where(
                PolicyAcceptance.subject_type == subject_type, PolicyAcceptance.subject_id == subject_id
            )
        )
    ).scalar_one_or_none()
    times = [_aware(t) for t in (events, accepted) if t is not None]
    return max(times) if times else None


def _aware(value: datetime) -> datetime:
    # func.max bypasses the column type on SQLite, which hands back a naive UTC value (or a string)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def increment_notice_count(
    session: AsyncSession, version_id: uuid.UUID, channel: str, day: date
) -> None:
    """``INSERT … ON CONFLICT DO UPDATE SET count = count + 1`` on either database."""
    values = {"id": uuid.uuid4(), "version_id": version_id, "channel": channel, "day": day, "count": 1}
    keys = ["version_id", "channel", "day"]
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(PolicyNoticeCount).values(**values)
        await session.execute(
            pg.on_conflict_do_update(index_elements=keys, set_={"count": PolicyNoticeCount.count + 1})
        )
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(PolicyNoticeCount).values(**values)
    await session.execute(
        lite.on_conflict_do_update(index_elements=keys, set_={"count": PolicyNoticeCount.count + 1})
    )


async def notice_count(session: AsyncSession, version_id: uuid.UUID, channel: str | None = None) -> int:
    statement = select(func.coalesce(func.sum(PolicyNoticeCount.count), 0)).where(
        PolicyNoticeCount.version_id == version_id
    )
    if channel is not None:
        statement = statement.where(PolicyNoticeCount.channel == channel)
    return int((await session.execute(statement)).scalar_one())


async def guardian_consent_of(
    session: AsyncSession, minor_id: uuid.UUID, *, lock: bool = False
) -> GuardianConsent | None:
    """The newest guardian record of a minor account holder."""
    statement = (
        select(GuardianConsent)
        .where(GuardianConsent.minor_id == minor_id)
        .order_by(GuardianConsent.created_at.desc())
        .limit(1)
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()
