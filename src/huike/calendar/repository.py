"""Queries on the calendar tables (platform-wide: no tenant scope)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar.models import CalendarDay, CalendarYear, DayKind
from huike.core.db import insert_ignore, rowcount

Stamp = frozenset[tuple[int, uuid.UUID]]


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stamp(self) -> Stamp:
        """Each confirmed year with its revision: changes whenever any year is entered or edited."""
        rows = await self.session.execute(select(CalendarYear.year, CalendarYear.revision))
        return frozenset((int(year), revision) for year, revision in rows)

    async def confirmed_years(self) -> set[int]:
        return set((await self.session.execute(select(CalendarYear.year))).scalars())

    async def exceptions(self) -> tuple[list[date], list[date]]:
        """Every statutory holiday and every make-up working day (a few dozen rows a year)."""
        holidays: list[date] = []
        makeups: list[date] = []
        for day, kind in await self.session.execute(select(CalendarDay.date, CalendarDay.kind)):
            (makeups if kind == DayKind.makeup_workday else holidays).append(day)
        return holidays, makeups

    async def get_year(self, year: int) -> CalendarYear | None:
        return await self.session.get(CalendarYear, year, populate_existing=True)

    async def days_of_year(self, year: int) -> Sequence[CalendarDay]:
        statement = select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.date)
        return (await self.session.execute(statement)).scalars().all()

    async def claim_year(self, values: dict[str, Any]) -> bool:
        """Insert a year's row unless it exists; True when this call inserted it."""
        result = await self.session.execute(
            insert_ignore(self.session, CalendarYear, ["year"]).values(**values)
        )
        return rowcount(result) == 1

    async def lock_year(self, year: int) -> CalendarYear:
        """The year's row, locked until the transaction ends (PostgreSQL; SQLite's write
        transaction holds the database lock already), so two edits of one year run one after another."""
        statement = (
            select(CalendarYear)
            .where(CalendarYear.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def delete_days_of_year(self, year: int) -> int:
        return rowcount(await self.session.execute(delete(CalendarDay).where(CalendarDay.year == year)))

    async def insert_days(self, rows: list[dict[str, Any]], *, ignore_existing: bool = False) -> None:
        if not rows:
            return
        if ignore_existing:
            await self.session.execute(insert_ignore(self.session, CalendarDay, ["date"]), rows)
        else:
            await self.session.execute(insert(CalendarDay), rows)

    @staticmethod
    def day_row(
        day: date,
        kind: DayKind,
        name_zh: str,
        name_en: str | None,
        *,
        source: str,
        confirmed_by: uuid.UUID | None,
        confirmed_at: datetime,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "date": day,
            "year": day.year,
            "kind": kind.value,
            "name_zh": name_zh,
            "name_en": name_en,
            "source": source,
            "confirmed_by": confirmed_by,
            "confirmed_at": confirmed_at,
        }
