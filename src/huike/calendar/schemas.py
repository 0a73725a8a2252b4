from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from huike.core.schemas import Schema

HolidayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ScheduleDayIn(Schema):
    date: date
    name_zh: HolidayName = Field(description="e.g. 春节")
    name_en: HolidayName | None = Field(default=None, description="e.g. Spring Festival")


class YearScheduleIn(Schema):
    """A year's whole official schedule (国务院办公厅关于某年部分节假日安排的通知): every statutory
    holiday day (weekend days inside a holiday period included) and every make-up working day."""

    holidays: list[ScheduleDayIn] = Field(min_length=1, max_length=366)
    makeup_workdays: list[ScheduleDayIn] = Field(max_length=366)


class ScheduleDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: date
    name_zh: str
    name_en: str | None


class YearScheduleRead(BaseModel):
    year: int
    confirmed: bool
    source: str | None
    confirmed_by: uuid.UUID | None
    confirmed_at: datetime | None
    holidays: list[ScheduleDayRead]
    makeup_workdays: list[ScheduleDayRead]


class DeadlineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    received: date
    working_days: int
    due_date: date
    due_at: datetime = Field(description="23:59:59 Asia/Shanghai on the due date")
    provisional: bool = Field(description="a year it depends on has no confirmed schedule yet")
    target_date: date = Field(description="the internal target: 3 working days earlier when provisional")
    target_at: datetime
    unconfirmed_years: list[int]


class YearWarning(BaseModel):
    year: int
    code: str
    message: str
    since: date = Field(description="1 October of the previous year: when the warning starts")


class CalendarStatus(BaseModel):
    today: date = Field(description="today in Asia/Shanghai")
    confirmed_years: list[int]
    latest_confirmed_year: int | None
    ok: bool
    warnings: list[YearWarning]
