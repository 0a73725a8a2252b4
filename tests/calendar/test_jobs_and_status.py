"""F5: the warning from 1 October, the daily check that logs it, and the recompute after an edit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from huike.calendar import service, tasks
from huike.calendar.models import CalendarDay, CalendarYear
from huike.calendar.workdays import WorkingCalendar
from huike.core.tasks import JobContext, JobRuntime, Outbox, periodic_tasks, registered_tasks
from huike.privacy.inventory import INFO_KEY, STRUCTURAL
from tests.calendar.conftest import SCHEDULE_2027


def job_context(session: AsyncSession) -> JobContext:
    runtime = JobRuntime(async_sessionmaker())
    return JobContext(session, uuid.uuid4(), 1, None, None, runtime)


@pytest.mark.parametrize(
    ("today", "missing"),
    [
        (date(2026, 9, 30), []),
        (date(2026, 10, 1), [2027]),  # F5: from 1 October of the previous year
        (date(2026, 12, 31), [2027]),
        (date(2027, 1, 4), [2027]),  # in the year itself: deadlines are provisional now
        (date(2027, 10, 1), [2027, 2028]),
        (date(2025, 10, 1), []),  # 2026 is seeded
    ],
)
async def test_F5_status_warns_from_1_october(seeded: AsyncSession, today: date, missing: list[int]) -> None:
    status = await service.calendar_status(seeded, today)
    assert [warning.year for warning in status.warnings] == missing
    assert status.ok is (not missing)
    assert status.today == today
    assert status.latest_confirmed_year == 2026
    for warning in status.warnings:
        assert warning.since == date(warning.year - 1, 10, 1)
        assert warning.code == "calendar.year_unconfirmed"


async def test_status_of_an_empty_table(session: AsyncSession) -> None:
    status = await service.calendar_status(session, date(2026, 5, 1))
    assert status.latest_confirmed_year is None
    assert [warning.year for warning in status.warnings] == [2026]


def test_the_daily_check_is_a_periodic_job() -> None:
    assert periodic_tasks()[service.STATUS_TASK].every_s == 24 * 3600
    assert {service.STATUS_TASK, service.RECOMPUTE_TASK} <= registered_tasks().keys()


async def test_F5_the_daily_check_logs_a_warning(seeded: AsyncSession) -> None:
    # 2026-10-01 08:00 in Shanghai
    with time_machine.travel(datetime(2026, 10, 1, 0, 0, tzinfo=UTC), tick=False), capture_logs() as logs:
        result = await tasks.check_status(job_context(seeded))
    assert result == {"missing_years": [2027]}
    warnings = [entry for entry in logs if entry["event"] == "calendar.year_unconfirmed"]
    assert warnings == [
        {"event": "calendar.year_unconfirmed", "log_level": "warning", "year": 2027, "since": "2026-10-01"}
    ]
    with time_machine.travel(datetime(2026, 9, 30, 0, 0, tzinfo=UTC), tick=False), capture_logs() as quiet:
        assert await tasks.check_status(job_context(seeded)) == {"missing_years": []}
    assert not [entry for entry in quiet if entry["log_level"] == "warning"]


async def test_F5_confirming_a_year_recomputes_provisional_deadlines(
    operator: httpx.AsyncClient, seeded: AsyncSession
) -> None:
    """No domain stores deadlines yet: a test-only callback stands in for rights requests."""
    stored = {"request-1": date(2027, 1, 29)}  # received; its provisional due date is 2027-02-19
    due: dict[str, date] = {"request-1": date(2027, 2, 19)}
    calls: list[tuple[int, bool]] = []

    async def recompute(session: AsyncSession, calendar: WorkingCalendar, year: int) -> int:
        calls.append((year, calendar.is_confirmed_year(year)))
        changed = 0
        for key, received in stored.items():
            deadline = calendar.add_working_days(received, 15)
            if not deadline.provisional and due[key] != deadline.due_date:
                due[key] = deadline.due_date
                changed += 1
        return changed

    service.register_provisional_recompute("tests.requests", recompute)
    try:
        with pytest.raises(ValueError, match="registered twice"):
            service.register_provisional_recompute("tests.requests", lambda *_: recompute(*_))
        assert (await operator.put("/api/v1/calendar/years/2027", json=SCHEDULE_2027)).status_code == 200
        [job] = (await seeded.execute(select(Outbox).where(Outbox.task == service.RECOMPUTE_TASK))).scalars()
        result = await tasks.recompute_provisional(job_context(seeded), **job.payload)
        assert result == {"year": 2027, "confirmed": True, "recomputed": {"tests.requests": 1}}
        assert calls == [(2027, True)]
        assert due == {"request-1": date(2027, 2, 25)}
        # idempotent: a retry changes nothing
        again = await tasks.recompute_provisional(job_context(seeded), **job.payload)
        assert again["recomputed"] == {"tests.requests": 0}
    finally:
        service.unregister_provisional_recompute("tests.requests")
    assert "tests.requests" not in service.provisional_recomputers()


def test_every_calendar_column_is_in_the_inventory() -> None:
    for model in (CalendarDay, CalendarYear):
        assert model.__inventory__ is not None
        for column in model.__table__.columns:
            assert column.name in STRUCTURAL or INFO_KEY in column.info, (model.__tablename__, column.name)
    assert CalendarDay.__inventory__.subject_key == "confirmed_by"


async def test_the_deadline_is_23_59_59_in_shanghai(seeded: AsyncSession) -> None:
    deadline = await service.add_working_days(seeded, date(2025, 9, 26), 15)
    assert deadline.due_at.astimezone(UTC) == datetime(2025, 10, 23, 15, 59, 59, tzinfo=UTC)
    assert deadline.due_at - deadline.target_at == timedelta(0)
