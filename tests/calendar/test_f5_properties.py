"""F5 properties on the package's calendar (2004–2026 confirmed, Mon–Fri before and after)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from huike.calendar.seed import package_calendar

CALENDAR = package_calendar()
days = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 12, 31))
counts = st.integers(min_value=1, max_value=60)


@settings(max_examples=300, deadline=None)
@given(received=days, n=counts)
def test_the_deadline_is_a_working_day_strictly_after_receipt(received: date, n: int) -> None:
    deadline = CALENDAR.add_working_days(received, n)
    assert deadline.due_date > received
    assert CALENDAR.is_working_day(deadline.due_date)
    assert CALENDAR.working_days_between(received, deadline.due_date) == n
    assert deadline.due_at.date() == deadline.due_date
    if deadline.provisional:
        assert received <= deadline.target_date < deadline.due_date
        assert deadline.unconfirmed_years
    else:
        assert deadline.target_date == deadline.due_date
        assert not deadline.unconfirmed_years


@settings(max_examples=300, deadline=None)
@given(received=days, n=counts, more=st.integers(min_value=1, max_value=30))
def test_the_deadline_grows_with_n(received: date, n: int, more: int) -> None:
    assert (
        CALENDAR.add_working_days(received, n).due_date
        < CALENDAR.add_working_days(received, n + more).due_date
    )


@settings(max_examples=300, deadline=None)
@given(first=days, second=days, n=counts)
def test_the_deadline_is_monotone_in_the_received_date(first: date, second: date, n: int) -> None:
    early, late = sorted((first, second))
    assert CALENDAR.add_working_days(early, n).due_date <= CALENDAR.add_working_days(late, n).due_date


@settings(max_examples=200, deadline=None)
@given(received=st.dates(min_value=date(2027, 1, 1), max_value=date(2030, 12, 31)), n=counts)
def test_F5_without_data_weekdays_count_and_the_target_is_three_working_days_earlier(
    received: date, n: int
) -> None:
    deadline = CALENDAR.add_working_days(received, n)
    assert deadline.provisional
    assert deadline.due_date.weekday() < 5
    expected_target = received if n <= 3 else CALENDAR.add_working_days(received, n - 3).due_date
    assert deadline.target_date == expected_target
