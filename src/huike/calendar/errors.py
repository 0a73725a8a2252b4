"""Errors of the working-day calendar, with their zh-CN and English messages."""

from __future__ import annotations

from huike.core.errors import AppError
from huike.core.i18n import register_messages


class InvalidYearSchedule(AppError):
    """A year's schedule that cannot be stored as given; nothing of it is written."""

    status_code = 422
    code = "calendar.invalid_schedule"


class DateOutsideYear(InvalidYearSchedule):
    code = "calendar.date_outside_year"


class DuplicateDate(InvalidYearSchedule):
    code = "calendar.duplicate_date"


class MakeupDayNotWeekend(InvalidYearSchedule):
    code = "calendar.makeup_not_weekend"


class HolidayIsMakeupDay(InvalidYearSchedule):
    code = "calendar.holiday_is_makeup"


register_messages(
    {
        "calendar.invalid_schedule": (
            "节假日安排无效，未作任何修改。",
            "The holiday schedule is invalid; nothing was changed.",
        ),
        "calendar.date_outside_year": (
            "日期 {date} 不在 {year} 年内，未作任何修改。",
            "The date {date} is not in {year}; nothing was changed.",
        ),
        "calendar.duplicate_date": (
            "日期 {date} 重复出现，未作任何修改。",
            "The date {date} appears more than once; nothing was changed.",
        ),
        "calendar.makeup_not_weekend": (
            "调休上班日 {date} 不是周六或周日，未作任何修改。",
            "The make-up working day {date} is not a Saturday or Sunday; nothing was changed.",
        ),
        "calendar.holiday_is_makeup": (
            "日期 {date} 不能既是法定节假日又是调休上班日，未作任何修改。",
            "The date {date} cannot be both a statutory holiday and a make-up working day; nothing was changed.",
        ),
        # not errors: the status warning shown in the console and logged by the daily check
        "calendar.year_unconfirmed": (
            "{year} 年的法定节假日安排尚未录入：该年的期限暂按周一至周五计算并标为临时。请在国务院公布放假安排后录入。",
            "The {year} public holiday schedule has not been entered: deadlines in {year} are counted "
            "Monday to Friday and marked provisional. Enter it once the State Council publishes it.",
        ),
    }
)
