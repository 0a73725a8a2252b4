"""The in-memory working-day calendar: pure date arithmetic, no database (F5).

A :class:`WorkingCalendar` is built once from the table (``service.load_calendar``) or from the
package's data (``seed.package_calendar``) and answers every question with set lookups.

* A make-up working day (调休上班) is a working day; otherwise Monday–Friday counts unless it is a
  statutory holiday.
* :meth:`WorkingCalendar.add_working_days` counts working days strictly after the received date; the
  deadline is 23:59:59 Asia/Shanghai on the n-th.
* In a year without confirmed data Monday–Friday counts, and a deadline that depends on such a year is
  *provisional*, with an internal target :data:`PROVISIONAL_MARGIN` working days earlier (weekday
  counting can be later than the official calendar: 2026-01-26 + 15 is 02-16 by weekdays, 02-14 by
  the official calendar, a make-up Saturday).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
PROVISIONAL_MARGIN = 3  # working days (design choice, F5)
MAX_WORKING_DAYS = 3660  # about fourteen years: bounds the walk


def end_of_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``day``, as an aware datetime."""
    return datetime.combine(day, END_OF_DAY, tzinfo=CHINA)


def china_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (``now`` must be aware when given)."""
    return (now or datetime.now(CHINA)).astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline of ``working_days`` working days after ``received``.

    ``due_date``/``due_at`` is the deadline itself. ``provisional`` says whether a year it depends on
    has no confirmed schedule (``unconfirmed_years``), in which case ``target_date``/``target_at`` is an
    internal target :data:`PROVISIONAL_MARGIN` working days earlier (never before ``received``);
    otherwise the target is the deadline.
    """

    received: date
    working_days: int
    due_date: date
    due_at: datetime
    provisional: bool
    target_date: date
    target_at: datetime
    unconfirmed_years: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Statutory holidays and make-up working days of the confirmed years."""

    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    confirmed_years: frozenset[int]

    @classmethod
    def build(
        cls, holidays: Iterable[date], makeup_workdays: Iterable[date], confirmed_years: Iterable[int]
    ) -> WorkingCalendar:
        return cls(frozenset(holidays), frozenset(makeup_workdays), frozenset(confirmed_years))

    def is_confirmed_year(self, year: int) -> bool:
        return year in self.confirmed_years

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``: strictly after ``start``, up to and including ``end``
        (0 when ``end <= start``), so that ``working_days_between(r, add_working_days(r, n).due_date) == n``.
        """
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def nth_working_day(self, received: date, n: int) -> date:
        """The n-th working day strictly after ``received`` (``received`` itself for n = 0)."""
        if n < 0 or n > MAX_WORKING_DAYS:
            raise ValueError(f"n must be between 0 and {MAX_WORKING_DAYS}, got {n}")
        day = received
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def add_working_days(self, received: date, n: int) -> Deadline:
        """The deadline n (≥ 1) working days after ``received`` (see the module's docstring)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        due = self.nth_working_day(received, n)
        # every day from the one after receipt to the deadline was looked at: any of them in an
        # unconfirmed year may have been counted (or skipped) wrongly
        unconfirmed = tuple(
            year
            for year in range((received + timedelta(days=1)).year, due.year + 1)
            if year not in self.confirmed_years
        )
        provisional = bool(unconfirmed)
        target = self.nth_working_day(received, max(n - PROVISIONAL_MARGIN, 0)) if provisional else due
        return Deadline(
            received=received,
            working_days=n,
            due_date=due,
            due_at=end_of_day(due),
            provisional=provisional,
            target_date=target,
            target_at=end_of_day(target),
            unconfirmed_years=unconfirmed,
        )
