"""The Chinese working-day calendar (F5): platform-wide, not tenant-scoped.

``cn_calendar_days`` holds only the exceptions to Monday–Friday: statutory holidays (法定节假日,
including the weekend days inside a holiday period) and make-up working days (调休上班). A year counts
as *confirmed* when it has a row in ``cn_calendar_years``: its official 放假安排 was seeded from the
``chinesecalendar`` package or entered by an operator. Each edit of a year gives it a new ``revision``,
which is what the in-process calendar cache compares.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.privacy.inventory import (
    Erasure,
    LegalBasis,
    Owner,
    Purpose,
    Retention,
    Subject,
    TableInventory,
    describe,
)

# Dates are nobody's data; only ``confirmed_by`` (the operator who entered a year) is personal, and
# erasing that operator's account nulls it (the audit log keeps who confirmed, pseudonymously).
CALENDAR_TABLE = TableInventory(
    subject=Subject.account_holder,
    owner=Owner.platform,
    purposes=(Purpose("service.rights_deadlines", LegalBasis.legal_duty),),
    retention=Retention("never", None, Erasure.keep),
    erasure=Erasure.keep,
    subject_key="confirmed_by",
)


def _operator_reference() -> dict[str, Any]:
    return describe(
        "user.unique_id",
        personal=True,
        subject=Subject.account_holder,
        erasure=Erasure.null,
        notes="the platform operator who entered the year; null for seeded years",
    )


class DayKind(StrEnum):
    statutory_holiday = "statutory_holiday"
    makeup_workday = "makeup_workday"


class CalendarSource(StrEnum):
    chinesecalendar = "chinesecalendar"  # seeded from the package (2004–2026)
    operator = "operator"  # entered by a platform operator from the State Council's notice


class CalendarDay(Base):
    """One exception to Monday–Friday: a statutory holiday or a make-up working day."""

    __tablename__ = "cn_calendar_days"
    __table_args__ = (
        CheckConstraint("kind IN ('statutory_holiday', 'makeup_workday')", name="kind"),
        Index("ix_cn_calendar_days_year", "year"),
    )
    __inventory__ = CALENDAR_TABLE

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    date: Mapped[date] = mapped_column(Date, unique=True, info=describe("system.calendar.date"))
    year: Mapped[int] = mapped_column(Integer, info=describe("system.calendar.year"))
    kind: Mapped[str] = mapped_column(String(32), info=describe("system.calendar.kind"))
    name_zh: Mapped[str] = mapped_column(String(100), info=describe("system.calendar.holiday_name"))
    name_en: Mapped[str | None] = mapped_column(String(100), info=describe("system.calendar.holiday_name"))
    source: Mapped[str] = mapped_column(String(32), info=describe("system.calendar.source"))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(info=_operator_reference())
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))


class CalendarYear(Base):
    """A year whose official schedule is in ``cn_calendar_days``: deadlines in it are not provisional."""

    __tablename__ = "cn_calendar_years"
    __inventory__ = CALENDAR_TABLE

    year: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, info=describe("system.calendar.year")
    )
    source: Mapped[str] = mapped_column(String(32), info=describe("system.calendar.source"))
    revision: Mapped[uuid.UUID] = mapped_column(
        default=uuid.uuid4, info=describe("system.version", notes="new on every edit; the cache key")
    )
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(info=_operator_reference())
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow, info=describe("system.timestamp"))
