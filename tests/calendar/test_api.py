"""The calendar API: deadline and status for the console, a year's schedule entered by an operator."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar import service
from huike.calendar.models import CalendarYear
from huike.core.tasks import Outbox
from huike.privacy.audit.models import AuditEvent
from tests.calendar.conftest import SCHEDULE_2027


async def test_F5_deadline_endpoint(operator: httpx.AsyncClient, seeded: AsyncSession) -> None:
    response = await operator.get("/api/v1/calendar/deadline", params={"received": "2026-01-26", "days": 15})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["due_date"] == "2026-02-14"
    assert body["due_at"] == "2026-02-14T23:59:59+08:00"
    assert body["provisional"] is False
    assert body["unconfirmed_years"] == []
    provisional = (await operator.get("/api/v1/calendar/deadline", params={"received": "2027-03-01"})).json()
    assert (provisional["due_date"], provisional["provisional"], provisional["target_date"]) == (
        "2027-03-22",
        True,
        "2027-03-17",
    )


@pytest.mark.parametrize(
    "params", [{"received": "2026-13-01"}, {"received": "2026-01-26", "days": 0}, {"days": 15}]
)
async def test_deadline_refuses_bad_input(
    operator: httpx.AsyncClient, seeded: AsyncSession, params: dict[str, Any]
) -> None:
    response = await operator.get("/api/v1/calendar/deadline", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_the_calendar_needs_a_session(client: httpx.AsyncClient, seeded: AsyncSession) -> None:
    for method, path in [
        ("GET", "/api/v1/calendar/status"),
        ("GET", "/api/v1/calendar/deadline?received=2026-01-26"),
        ("GET", "/api/v1/calendar/years/2026"),
        ("PUT", "/api/v1/calendar/years/2027"),
    ]:
        response = await client.request(method, path, json=SCHEDULE_2027 if method == "PUT" else None)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "auth.required"


async def test_get_a_seeded_year(operator: httpx.AsyncClient, seeded: AsyncSession) -> None:
    body = (await operator.get("/api/v1/calendar/years/2026")).json()
    assert body["confirmed"] is True
    assert body["source"] == "chinesecalendar"
    assert body["confirmed_by"] is None
    assert [d["date"] for d in body["makeup_workdays"]] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    assert {"date": "2026-10-01", "name_zh": "国庆节", "name_en": "National Day"} in body["holidays"]
    missing = (await operator.get("/api/v1/calendar/years/2027")).json()
    assert missing["confirmed"] is False
    assert (missing["holidays"], missing["makeup_workdays"], missing["source"]) == ([], [], None)


async def test_F5_an_operator_enters_a_year(operator: httpx.AsyncClient, seeded: AsyncSession) -> None:
    before = await service.add_working_days(seeded, date(2027, 1, 29), 15)
    assert before.provisional
    assert before.due_date == date(2027, 2, 19)

    response = await operator.put("/api/v1/calendar/years/2027", json=SCHEDULE_2027)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["confirmed"] is True
    assert body["source"] == "operator"
    assert body["confirmed_by"] is not None
    assert len(body["holidays"]) == 12
    assert body["makeup_workdays"] == [
        {"date": "2027-02-20", "name_zh": "春节", "name_en": "Spring Festival"}
    ]
    assert (await operator.get("/api/v1/calendar/years/2027")).json() == body

    # the cache saw the edit: 2027 now counts its holidays and its make-up Saturday
    after = await service.add_working_days(seeded, date(2027, 1, 29), 15)
    assert not after.provisional
    assert after.due_date == date(2027, 2, 25)
    deadline = await operator.get("/api/v1/calendar/deadline", params={"received": "2027-01-29"})
    assert deadline.json()["due_date"] == "2027-02-25"

    # who and when, in the audit log (platform chain, operator actor) and a recompute job
    event = (
        await seeded.execute(select(AuditEvent).where(AuditEvent.action == "calendar.year_confirmed"))
    ).scalar_one()
    assert (event.object_type, event.object_id, event.actor_type) == ("calendar.year", "2027", "operator")
    assert str(event.actor_id) == body["confirmed_by"]
    assert event.tenant_id is None
    assert event.details["holidays"] == 12
    jobs = (await seeded.execute(select(Outbox).where(Outbox.task == service.RECOMPUTE_TASK))).scalars().all()
    assert [job.payload for job in jobs] == [{"year": 2027}]


async def test_F5_replacing_a_year_removes_days_no_longer_listed(
    operator: httpx.AsyncClient, seeded: AsyncSession
) -> None:
    assert (await operator.put("/api/v1/calendar/years/2027", json=SCHEDULE_2027)).status_code == 200
    smaller = {"holidays": SCHEDULE_2027["holidays"][:3], "makeup_workdays": []}
    body = (await operator.put("/api/v1/calendar/years/2027", json=smaller)).json()
    assert [d["date"] for d in body["holidays"]] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    assert body["makeup_workdays"] == []
    assert await service.is_working_day(seeded, date(2027, 2, 8))
    assert not await service.is_working_day(seeded, date(2027, 2, 20))


def _with(**changes: Any) -> dict[str, Any]:
    schedule = copy.deepcopy(SCHEDULE_2027)
    schedule.update(changes)
    return schedule


BAD_SCHEDULES = [
    pytest.param(
        _with(makeup_workdays=[{"date": "2028-01-08", "name_zh": "元旦"}]),
        "calendar.date_outside_year",
        {"date": "2028-01-08", "year": 2027, "field": "makeup_workdays"},
        id="outside-the-year",
    ),
    pytest.param(
        _with(holidays=[*SCHEDULE_2027["holidays"], {"date": "2027-01-02", "name_zh": "元旦"}]),
        "calendar.duplicate_date",
        {"date": "2027-01-02", "field": "holidays"},
        id="duplicate",
    ),
    pytest.param(
        _with(makeup_workdays=[{"date": "2027-02-17", "name_zh": "春节"}]),  # a Wednesday
        "calendar.makeup_not_weekend",
        {"date": "2027-02-17", "field": "makeup_workdays"},
        id="make-up-on-a-weekday",
    ),
    pytest.param(
        _with(makeup_workdays=[{"date": "2027-02-06", "name_zh": "春节"}]),
        "calendar.holiday_is_makeup",
        {"date": "2027-02-06"},
        id="holiday-and-make-up",
    ),
]


def _a_year_earlier(value: Any) -> Any:
    """The same mistake against the seeded 2026: every date and year one year back."""
    if isinstance(value, dict):
        return {k: (v - 1 if k == "year" else _a_year_earlier(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_a_year_earlier(v) for v in value]
    if isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-":
        return f"{int(value[:4]) - 1}{value[4:]}"
    return value


@pytest.mark.parametrize(("schedule", "code", "details"), BAD_SCHEDULES)
@pytest.mark.parametrize("year", [2026, 2027])
async def test_F5_a_bad_schedule_is_refused_and_changes_nothing(
    operator: httpx.AsyncClient,
    seeded: AsyncSession,
    year: int,
    schedule: dict[str, Any],
    code: str,
    details: dict[str, Any],
) -> None:
    if year == 2026:  # a seeded year: its old schedule must survive
        schedule, details = _a_year_earlier(schedule), _a_year_earlier(details)
    before = (await operator.get(f"/api/v1/calendar/years/{year}")).json()
    response = await operator.put(f"/api/v1/calendar/years/{year}", json=schedule)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"] == details
    assert (await operator.get(f"/api/v1/calendar/years/{year}")).json() == before
    recompute = select(Outbox).where(Outbox.task == service.RECOMPUTE_TASK)
    assert (await seeded.execute(recompute)).first() is None


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param({"holidays": [], "makeup_workdays": []}, id="no-holidays"),
        pytest.param({"holidays": SCHEDULE_2027["holidays"]}, id="make-up-days-missing"),
        pytest.param(_with(extra=True), id="unknown-field"),
        pytest.param(_with(holidays=[{"date": "2027-01-01", "name_zh": " "}]), id="blank-name"),
        pytest.param(_with(holidays=[{"date": "2027-02-30", "name_zh": "春节"}]), id="no-such-date"),
    ],
)
async def test_a_malformed_schedule_is_a_validation_error(
    operator: httpx.AsyncClient, seeded: AsyncSession, schedule: dict[str, Any]
) -> None:
    response = await operator.put("/api/v1/calendar/years/2027", json=schedule)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert (await operator.get("/api/v1/calendar/years/2027")).json()["confirmed"] is False


@pytest.mark.parametrize("year", ["1999", "2101", "twenty"])
async def test_the_year_must_be_plausible(
    operator: httpx.AsyncClient, seeded: AsyncSession, year: str
) -> None:
    response = await operator.put(f"/api/v1/calendar/years/{year}", json=SCHEDULE_2027)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_F5_a_failure_after_the_first_write_leaves_the_old_year(
    operator: httpx.AsyncClient, seeded: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edit deletes, inserts and audits in one transaction: if the last step fails, none stays."""
    before = (await operator.get("/api/v1/calendar/years/2026")).json()
    stamp_before = (
        await seeded.execute(select(CalendarYear.revision).where(CalendarYear.year == 2026))
    ).scalar()

    async def failing_record(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(service, "record", failing_record)
    schedule = {
        key: [{**d, "date": d["date"].replace("2027", "2026", 1)} for d in days]
        for key, days in SCHEDULE_2027.items()
    }
    schedule["makeup_workdays"] = [{"date": "2026-02-21", "name_zh": "春节"}]  # a Saturday
    response = await operator.put("/api/v1/calendar/years/2026", json=schedule)
    assert response.status_code == 500
    assert (await operator.get("/api/v1/calendar/years/2026")).json() == before
    stamp_after = (
        await seeded.execute(select(CalendarYear.revision).where(CalendarYear.year == 2026))
    ).scalar()
    assert stamp_after == stamp_before
    deadline = await service.add_working_days(seeded, date(2026, 1, 26), 15)
    assert deadline.due_date == date(2026, 2, 14)


async def test_F5_status_endpoint_warns_from_1_october(
    operator: httpx.AsyncClient, seeded: AsyncSession
) -> None:
    # 2026-09-30 23:30 in Shanghai is 15:30 UTC: still September there
    with time_machine.travel(datetime(2026, 9, 30, 15, 30, tzinfo=UTC), tick=False):
        quiet_response = await operator.get("/api/v1/calendar/status")
    quiet = quiet_response.json()
    assert quiet_response.status_code == 200, quiet_response.text
    assert quiet["today"] == "2026-09-30"
    assert (quiet["ok"], quiet["warnings"], quiet["latest_confirmed_year"]) == (True, [], 2026)
    # 2026-10-01 00:30 in Shanghai is still 30 September in UTC
    with time_machine.travel(datetime(2026, 9, 30, 16, 30, tzinfo=UTC), tick=False):
        raised = await operator.get("/api/v1/calendar/status", headers={"Accept-Language": "en"})
    body = raised.json()
    assert body["today"] == "2026-10-01"
    assert body["ok"] is False
    [warning] = body["warnings"]
    assert (warning["year"], warning["code"], warning["since"]) == (
        2027,
        "calendar.year_unconfirmed",
        "2026-10-01",
    )
    assert "2027" in warning["message"]
    assert "provisional" in warning["message"]

    assert (await operator.put("/api/v1/calendar/years/2027", json=SCHEDULE_2027)).status_code == 200
    with time_machine.travel(datetime(2026, 10, 1, 4, 0, tzinfo=UTC), tick=False):
        settled = (await operator.get("/api/v1/calendar/status")).json()
    assert (settled["ok"], settled["latest_confirmed_year"]) == (True, 2027)
