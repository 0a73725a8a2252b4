"""Seeding the calendar from the ``chinesecalendar`` package (2004–2026; it has nothing later).

The package is read here only, never at run time: the table is the truth, and operators enter each
new year's State Council 放假安排 (``service.replace_year``). :func:`seed_calendar` is idempotent and
never touches a year that is already in the table (seeded earlier or entered by an operator).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar.models import CalendarSource, DayKind
from huike.calendar.repository import CalendarRepository
from huike.calendar.service import invalidate_cache
from huike.calendar.workdays import WorkingCalendar
from huike.core.db import utcnow

log = structlog.get_logger(__name__)

FIRST_YEAR = 2004
LAST_YEAR = 2026  # the last year of chinesecalendar 1.11.0's data


@dataclass(frozen=True, slots=True)
class SeedDay:
    date: date
    kind: DayKind
    name_zh: str
    name_en: str


def package_schedule() -> dict[int, list[SeedDay]]:
    """The package's statutory holidays and make-up working days, by year."""
    import chinese_calendar  # type: ignore[import-untyped]

    holiday_names = {member.value: member.chinese for member in chinese_calendar.Holiday}
    by_year: dict[int, list[SeedDay]] = defaultdict(list)
    for table, kind in (
        (chinese_calendar.holidays, DayKind.statutory_holiday),
        (chinese_calendar.workdays, DayKind.makeup_workday),
    ):
        for day, name_en in table.items():
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                by_year[day.year].append(SeedDay(day, kind, holiday_names.get(name_en, name_en), name_en))
    return {year: sorted(days, key=lambda d: d.date) for year, days in sorted(by_year.items())}


def package_calendar() -> WorkingCalendar:
    """The calendar the seed produces, without a database (for checks and property tests)."""
    schedule = package_schedule()
    days = [day for year_days in schedule.values() for day in year_days]
    return WorkingCalendar.build(
        (d.date for d in days if d.kind == DayKind.statutory_holiday),
        (d.date for d in days if d.kind == DayKind.makeup_workday),
        schedule.keys(),
    )


async def seed_calendar(session: AsyncSession) -> list[int]:
    """Add the package's years that the table lacks; returns the years added (none on a rerun).

    Runs in the caller's transaction (the caller commits). Safe to run from several processes at
    once: a year's row is claimed with ``INSERT ... ON CONFLICT DO NOTHING`` before its days go in.
    """
    repository = CalendarRepository(session)
    present = await repository.confirmed_years()
    added: list[int] = []
    now = utcnow()
    for year, days in package_schedule().items():
        if year in present:
            continue
        claimed = await repository.claim_year(
            {
                "year": year,
                "revision": uuid.uuid4(),
                "source": CalendarSource.chinesecalendar.value,
                "confirmed_by": None,
                "confirmed_at": now,
            }
        )
        if not claimed:
            continue
        rows = [
            repository.day_row(
                d.date,
                d.kind,
                d.name_zh,
                d.name_en,
                source=CalendarSource.chinesecalendar.value,
                confirmed_by=None,
                confirmed_at=now,
            )
            for d in days
        ]
        await repository.insert_days(rows, ignore_existing=True)
        added.append(year)
    if added:
        invalidate_cache()
        log.info("calendar.seeded", first_year=added[0], last_year=added[-1], years=len(added))
    return added
