"""The Chinese working-day calendar (F5): deadlines in working days, the yearly schedule operators
enter, and the warning when an upcoming year has none.

* :func:`load_calendar` gives the in-memory :class:`WorkingCalendar` of the table. It is cached per
  process and keyed by the confirmed years' revisions (one small query per call): an edit here, in
  another process or a rolled-back transaction can never leave a stale calendar in use.
* :func:`add_working_days`, :func:`is_working_day` and :func:`working_days_between` take a session
  (then load the calendar) or a calendar (for many computations in a row).
* :func:`replace_year` stores a year's whole schedule atomically and enqueues the recompute of
  provisional deadlines; domains that store deadlines register a callback with
  :func:`register_provisional_recompute`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar.errors import DateOutsideYear, DuplicateDate, HolidayIsMakeupDay, MakeupDayNotWeekend
from huike.calendar.models import CalendarSource, DayKind
from huike.calendar.repository import CalendarRepository, Stamp
from huike.calendar.schemas import (
    CalendarStatus,
    ScheduleDayIn,
    ScheduleDayRead,
    YearScheduleIn,
    YearScheduleRead,
    YearWarning,
)
from huike.calendar.workdays import Deadline, WorkingCalendar, china_today
from huike.core.db import utcnow
from huike.core.i18n import translate
from huike.core.tasks import enqueue
from huike.core.tenancy import TenantContext
from huike.privacy.audit.service import Actor, record

log = structlog.get_logger(__name__)

RECOMPUTE_TASK = "calendar.recompute_provisional"
STATUS_TASK = "calendar.check_status"
WARNING_CODE = "calendar.year_unconfirmed"

# --- the cached calendar ---------------------------------------------------------------------------

_cache: tuple[Stamp, WorkingCalendar] | None = None


def invalidate_cache() -> None:
    """Forget the cached calendar (edits call it; the revision check would catch them anyway)."""
    global _cache
    _cache = None


async def load_calendar(session: AsyncSession) -> WorkingCalendar:
    """The calendar as the session's transaction sees it; rebuilt only when a year changed."""
    global _cache
    repository = CalendarRepository(session)
    stamp = await repository.stamp()
    cached = _cache
    if cached is not None and cached[0] == stamp:
        return cached[1]
    holidays, makeups = await repository.exceptions()
    calendar = WorkingCalendar.build(holidays, makeups, (year for year, _ in stamp))
    _cache = (stamp, calendar)
    log.debug("calendar.loaded", years=len(stamp), exceptions=len(holidays) + len(makeups))
    return calendar


SessionOrCalendar = AsyncSession | WorkingCalendar


async def _calendar(source: SessionOrCalendar) -> WorkingCalendar:
    return source if isinstance(source, WorkingCalendar) else await load_calendar(source)


async def add_working_days(source: SessionOrCalendar, received: date, n: int) -> Deadline:
    """The deadline ``n`` (≥ 1) working days strictly after ``received``: 23:59:59 Asia/Shanghai on
    the n-th working day, provisional (with an earlier internal target) when a year it depends on
    has no confirmed schedule."""
    return (await _calendar(source)).add_working_days(received, n)


async def is_working_day(source: SessionOrCalendar, day: date) -> bool:
    return (await _calendar(source)).is_working_day(day)


async def working_days_between(source: SessionOrCalendar, start: date, end: date) -> int:
    """Working days in ``(start, end]``."""
    return (await _calendar(source)).working_days_between(start, end)


# --- status ------------------------------------------------------------------------------------------


def warning_starts(year: int) -> date:
    """From when a missing schedule for ``year`` is raised: 1 October of the year before (F5)."""
    return date(year - 1, 10, 1)


async def calendar_status(session: AsyncSession, today: date | None = None) -> CalendarStatus:
    """Which upcoming year lacks a confirmed schedule: this year (deadlines are provisional now) and,
    from 1 October, next year."""
    today = today or china_today()
    years = sorted(await CalendarRepository(session).confirmed_years())
    warnings = [
        YearWarning(
            year=year,
            code=WARNING_CODE,
            message=translate(WARNING_CODE, year=year),
            since=warning_starts(year),
        )
        for year in (today.year, today.year + 1)
        if today >= warning_starts(year) and year not in years
    ]
    return CalendarStatus(
        today=today,
        confirmed_years=years,
        latest_confirmed_year=years[-1] if years else None,
        ok=not warnings,
        warnings=warnings,
    )


async def check_status(session: AsyncSession, today: date | None = None) -> CalendarStatus:
    """The daily check: log a warning for each upcoming year without a schedule."""
    status = await calendar_status(session, today)
    for warning in status.warnings:
        log.warning(WARNING_CODE, year=warning.year, since=warning.since.isoformat())
    return status


# --- a year's schedule -------------------------------------------------------------------------------


async def get_year(session: AsyncSession, year: int) -> YearScheduleRead:
    repository = CalendarRepository(session)
    row = await repository.get_year(year)
    days = await repository.days_of_year(year)
    return YearScheduleRead(
        year=year,
        confirmed=row is not None,
        source=row.source if row else None,
        confirmed_by=row.confirmed_by if row else None,
        confirmed_at=row.confirmed_at if row else None,
        holidays=[ScheduleDayRead.model_validate(d) for d in days if d.kind == DayKind.statutory_holiday],
        makeup_workdays=[ScheduleDayRead.model_validate(d) for d in days if d.kind == DayKind.makeup_workday],
    )


def validate_schedule(year: int, schedule: YearScheduleIn) -> None:
    """Refuse a schedule with a date outside the year, a date twice, a date both holiday and make-up
    day, or a make-up working day that is not a Saturday or Sunday. Checks the earliest offending
    date first, so the error is the same however the lists are ordered."""
    lists: tuple[tuple[str, list[ScheduleDayIn]], ...] = (
        ("holidays", schedule.holidays),
        ("makeup_workdays", schedule.makeup_workdays),
    )
    for field, days in lists:
        for day in sorted(days, key=lambda d: d.date):
            if day.date.year != year:
                raise DateOutsideYear(date=day.date.isoformat(), year=year, field=field)
    for field, days in lists:
        seen: set[date] = set()
        for day in sorted(days, key=lambda d: d.date):
            if day.date in seen:
                raise DuplicateDate(date=day.date.isoformat(), field=field)
            seen.add(day.date)
    both = {d.date for d in schedule.holidays} & {d.date for d in schedule.makeup_workdays}
    if both:
        raise HolidayIsMakeupDay(date=min(both).isoformat())
    for day in sorted(schedule.makeup_workdays, key=lambda d: d.date):
        if day.date.weekday() < 5:
            raise MakeupDayNotWeekend(date=day.date.isoformat(), field="makeup_workdays")


async def replace_year(
    session: AsyncSession, ctx: TenantContext, year: int, schedule: YearScheduleIn
) -> YearScheduleRead:
    """Replace ``year``'s schedule with ``schedule`` in the caller's transaction, mark the year
    confirmed by ``ctx``'s user, audit it, and enqueue the recompute of provisional deadlines.

    Everything is validated before the first write; a failure anywhere rolls the whole edit back
    with the request's transaction, so the old schedule stays as it was.
    """
    validate_schedule(year, schedule)
    repository = CalendarRepository(session)
    now = utcnow()
    operator = ctx.user_id
    await repository.claim_year(
        {
            "year": year,
            "revision": uuid.uuid4(),
            "source": CalendarSource.operator.value,
            "confirmed_by": operator,
            "confirmed_at": now,
        }
    )
    row = await repository.lock_year(year)
    previous_source = row.source
    replaced = await repository.delete_days_of_year(year)
    rows = [
        repository.day_row(
            d.date,
            kind,
            d.name_zh,
            d.name_en,
            source=CalendarSource.operator.value,
            confirmed_by=operator,
            confirmed_at=now,
        )
        for days, kind in (
            (schedule.holidays, DayKind.statutory_holiday),
            (schedule.makeup_workdays, DayKind.makeup_workday),
        )
        for d in days
    ]
    await repository.insert_days(rows)
    row.source = CalendarSource.operator.value
    row.revision = uuid.uuid4()
    row.confirmed_by = operator
    row.confirmed_at = now
    await session.flush()
    invalidate_cache()
    await enqueue(session, RECOMPUTE_TASK, year=year)
    await record(
        session,
        None,
        "calendar.year_confirmed",
        object_type="calendar.year",
        object_id=str(year),
        actor=Actor.operator(operator) if operator is not None else Actor.system(),
        details={
            "year": year,
            "holidays": len(schedule.holidays),
            "makeup_workdays": len(schedule.makeup_workdays),
            "replaced_days": replaced,
            "previous_source": previous_source,
        },
    )
    log.info(
        "calendar.year_confirmed",
        year=year,
        holidays=len(schedule.holidays),
        makeup_workdays=len(schedule.makeup_workdays),
    )
    return await get_year(session, year)


# --- recomputing provisional deadlines ---------------------------------------------------------------

RecomputeCallback = Callable[[AsyncSession, WorkingCalendar, int], Awaitable[int]]
"""``callback(session, calendar, year) -> rows changed``: recompute the caller's provisional deadlines
that depend on ``year`` with ``calendar`` (now confirmed for ``year``). Runs in the job's transaction;
must be idempotent (a retry runs every callback again)."""

_RECOMPUTERS: dict[str, RecomputeCallback] = {}


def register_provisional_recompute(name: str, callback: RecomputeCallback) -> None:
    """A domain that stores deadlines (rights requests, complaints) registers its recompute here, at
    import time of its module, under a stable name (its domain)."""
    if name in _RECOMPUTERS and _RECOMPUTERS[name] is not callback:
        raise ValueError(f"provisional recompute {name!r} registered twice")
    _RECOMPUTERS[name] = callback


def unregister_provisional_recompute(name: str) -> None:
    _RECOMPUTERS.pop(name, None)


def provisional_recomputers() -> dict[str, RecomputeCallback]:
    return dict(_RECOMPUTERS)


async def recompute_provisional(session: AsyncSession, year: int) -> dict[str, Any]:
    """Run every registered recompute for ``year`` (the job ``calendar.recompute_provisional``)."""
    calendar = await load_calendar(session)
    counts: dict[str, int] = {}
    for name, callback in sorted(_RECOMPUTERS.items()):
        counts[name] = await callback(session, calendar, year)
    log.info("calendar.provisional_recomputed", year=year, callbacks=len(counts), rows=sum(counts.values()))
    return {"year": year, "confirmed": calendar.is_confirmed_year(year), "recomputed": counts}
