"""The calendar API: deadlines and status for the console, and the yearly schedule operators enter.

The write endpoint is for platform operators. There are no roles yet, so it only requires a logged-in
session (``CurrentTenant``); operator-only enforcement arrives with roles (the audit log records who
confirmed each year meanwhile).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query

from huike.calendar import service
from huike.calendar.schemas import CalendarStatus, DeadlineRead, YearScheduleIn, YearScheduleRead
from huike.calendar.workdays import MAX_WORKING_DAYS
from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.security.sessions import CurrentTenant

router = make_router(prefix="/api/v1/calendar", tag="calendar", responses=error_responses(401, 422))

Year = Annotated[int, Path(ge=2000, le=2100, description="a calendar year")]


@router.get("/status", response_model=CalendarStatus)
async def status(session: SessionDep, ctx: CurrentTenant) -> CalendarStatus:
    """Which upcoming year lacks a confirmed holiday schedule (raised from 1 October of the year before)."""
    return await service.calendar_status(session)


@router.get("/deadline", response_model=DeadlineRead)
async def deadline(
    session: SessionDep,
    ctx: CurrentTenant,
    received: date,
    days: Annotated[int, Query(ge=1, le=MAX_WORKING_DAYS)] = 15,
) -> DeadlineRead:
    """The deadline ``days`` working days after ``received`` (23:59:59 Asia/Shanghai)."""
    result = await service.add_working_days(session, received, days)
    return DeadlineRead.model_validate(result)


@router.get("/years/{year}", response_model=YearScheduleRead)
async def get_year(session: SessionDep, ctx: CurrentTenant, year: Year) -> YearScheduleRead:
    """A year's statutory holidays and make-up working days; ``confirmed`` is false when it has none."""
    return await service.get_year(session, year)


@router.put("/years/{year}", response_model=YearScheduleRead)
async def put_year(
    session: SessionDep, ctx: CurrentTenant, year: Year, body: YearScheduleIn
) -> YearScheduleRead:
    """Replace a year's whole schedule (from the State Council's notice) and mark it confirmed.

    Platform operators only: until roles exist any logged-in user may call it; operator-only
    enforcement arrives with roles. Audited as ``calendar.year_confirmed``.
    """
    return await service.replace_year(session, ctx, year, body)
