"""F5 and R-SLA-1: deadlines in Chinese working days, on the calendar seeded into the table."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar import service
from huike.calendar.models import CalendarDay, CalendarYear, DayKind
from huike.calendar.seed import FIRST_YEAR, LAST_YEAR, package_calendar, seed_calendar
from huike.calendar.workdays import CHINA, WorkingCalendar


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2025, 9, 26), date(2025, 10, 23)),  # across 国庆/中秋 2025
        (date(2026, 1, 26), date(2026, 2, 14)),  # ends on a make-up Saturday
        (date(2025, 12, 20), date(2026, 1, 12)),  # received on a Saturday, across 元旦 2026
    ],
)
async def test_F5_R_SLA_1_fixtures(seeded: AsyncSession, received: date, due: date) -> None:
    deadline = await service.add_working_days(seeded, received, 15)
    assert deadline.due_date == due
    assert not deadline.provisional
    assert deadline.target_date == due
    assert deadline.unconfirmed_years == ()
    assert deadline.due_at.tzinfo is CHINA
    assert deadline.due_at.isoformat() == f"{due.isoformat()}T23:59:59+08:00"
    assert deadline.due_at.utcoffset() == timedelta(hours=8)


async def test_F5_make_up_days_of_2026(seeded: AsyncSession) -> None:
    makeups = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20)]
    makeups.append(date(2026, 10, 10))
    stored = (
        await seeded.execute(
            select(CalendarDay.date)
            .where(CalendarDay.year == 2026, CalendarDay.kind == DayKind.makeup_workday)
            .order_by(CalendarDay.date)
        )
    ).scalars()
    assert list(stored) == makeups
    for day in makeups:
        assert day.weekday() >= 5
        assert await service.is_working_day(seeded, day)
    # and the neighbouring days of the holidays are not
    assert not await service.is_working_day(seeded, date(2026, 2, 16))  # 春节, a Monday
    assert not await service.is_working_day(seeded, date(2026, 10, 1))
    assert not await service.is_working_day(seeded, date(2026, 2, 15))  # an ordinary Sunday
    assert await service.is_working_day(seeded, date(2026, 2, 13))  # an ordinary Friday


async def test_F5_a_year_without_data_counts_weekdays_and_is_provisional(seeded: AsyncSession) -> None:
    deadline = await service.add_working_days(seeded, date(2027, 3, 1), 15)  # a Monday
    assert deadline.due_date == date(2027, 3, 22)  # three weeks of Mon–Fri
    assert deadline.provisional
    assert deadline.unconfirmed_years == (2027,)
    assert deadline.target_date == date(2027, 3, 17)  # 3 working days earlier
    assert deadline.target_at.isoformat() == "2027-03-17T23:59:59+08:00"
    # a confirmed year's neighbour: counting across New Year into 2027 is provisional too
    crossing = await service.add_working_days(seeded, date(2026, 12, 20), 15)
    assert crossing.provisional
    assert crossing.unconfirmed_years == (2027,)
    assert crossing.target_date < crossing.due_date


async def test_F5_weekday_counting_can_be_later_than_the_official_calendar(seeded: AsyncSession) -> None:
    """Why provisional deadlines get an earlier target: without 2026's schedule, 2026-01-26 + 15 gives
    02-16, while the official calendar gives 02-14 (a make-up Saturday)."""
    official = await service.load_calendar(seeded)
    without_2026 = WorkingCalendar.build(
        (d for d in official.holidays if d.year != 2026),
        (d for d in official.makeup_workdays if d.year != 2026),
        official.confirmed_years - {2026},
    )
    provisional = without_2026.add_working_days(date(2026, 1, 26), 15)
    assert provisional.provisional
    assert provisional.due_date == date(2026, 2, 16)
    assert provisional.target_date <= date(2026, 2, 14)
    assert await service.add_working_days(without_2026, date(2026, 1, 26), 15) == provisional


async def test_working_days_between(seeded: AsyncSession) -> None:
    assert await service.working_days_between(seeded, date(2025, 9, 26), date(2025, 10, 23)) == 15
    assert await service.working_days_between(seeded, date(2025, 9, 30), date(2025, 10, 8)) == 0  # 国庆
    assert await service.working_days_between(seeded, date(2025, 10, 8), date(2025, 10, 1)) == 0
    assert await service.working_days_between(seeded, date(2026, 2, 13), date(2026, 2, 14)) == 1


async def test_n_must_be_positive(seeded: AsyncSession) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await service.add_working_days(seeded, date(2026, 1, 5), 0)


async def test_seed_matches_the_package_and_is_idempotent(session: AsyncSession) -> None:
    added = await seed_calendar(session)
    assert added == list(range(FIRST_YEAR, LAST_YEAR + 1))
    assert await seed_calendar(session) == []
    years = (await session.execute(select(CalendarYear))).scalars().all()
    assert {row.source for row in years} == {"chinesecalendar"}
    assert all(row.confirmed_by is None for row in years)
    spring = (
        await session.execute(select(CalendarDay).where(CalendarDay.date == date(2026, 2, 17)))
    ).scalar_one()
    assert (spring.kind, spring.name_zh, spring.name_en) == ("statutory_holiday", "春节", "Spring Festival")
    assert await service.load_calendar(session) == package_calendar()


async def test_seed_keeps_a_year_an_operator_entered(session: AsyncSession) -> None:
    session.add(CalendarYear(year=2026, source="operator"))
    await session.flush()
    added = await seed_calendar(session)
    assert 2026 not in added
    assert (
        await session.execute(select(CalendarDay).where(CalendarDay.year == 2026))
    ).scalars().first() is None


async def test_the_calendar_is_loaded_once_and_reloaded_after_an_edit(seeded: AsyncSession) -> None:
    first = await service.load_calendar(seeded)
    assert await service.load_calendar(seeded) is first  # cached: no reload without an edit
    # an edit by another process: no invalidate_cache() here, the revision tells
    row = await seeded.get(CalendarYear, 2026)
    assert row is not None
    seeded.add(
        CalendarDay(
            date=date(2026, 3, 2), year=2026, kind="statutory_holiday", name_zh="测试", source="operator"
        )
    )
    row.revision = uuid.uuid4()
    await seeded.flush()
    second = await service.load_calendar(seeded)
    assert second is not first
    assert not second.is_working_day(date(2026, 3, 2))
    assert first.is_working_day(date(2026, 3, 2))
