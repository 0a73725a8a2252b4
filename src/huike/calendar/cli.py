"""``huike calendar``: deadlines and the status of the working-day calendar on the command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from huike.config import get_settings

calendar_app = typer.Typer(help="The Chinese working-day calendar (F5).", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_session(work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = False) -> T:
    import huike.models  # noqa: F401
    from huike.core.db import Database, commit

    async def run() -> T:
        db = Database(get_settings().resolved_database_url)
        try:
            factory = db.sessionmaker if write else db.read_sessionmaker
            async with factory() as session:
                result = await work(session)
                if write:
                    await commit(session)
                return result
        finally:
            await db.dispose()

    return asyncio.run(run())


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@calendar_app.command()
def deadline(
    received: Annotated[str, typer.Argument(help="The day the request was received (YYYY-MM-DD).")],
    days: Annotated[int, typer.Argument(min=1, max=3660, help="Working days allowed.")] = 15,
) -> None:
    """The deadline DAYS working days after RECEIVED (23:59:59 Asia/Shanghai)."""
    from huike.calendar.service import add_working_days

    received_date = _parse_date(received)
    result = _with_session(lambda session: add_working_days(session, received_date, days))
    table = Table(title=f"{days} working days after {received_date.isoformat()}")
    table.add_column("")
    table.add_column("")
    table.add_row("received", f"{received_date.isoformat()} ({received_date:%a})")
    table.add_row("due", f"{result.due_date.isoformat()} ({result.due_date:%a})")
    table.add_row("due at", result.due_at.isoformat())
    if result.provisional:
        years = ", ".join(str(year) for year in result.unconfirmed_years)
        table.add_row("provisional", f"[yellow]yes[/]: no confirmed schedule for {years}")
        table.add_row("internal target", f"{result.target_date.isoformat()} ({result.target_date:%a})")
    else:
        table.add_row("provisional", "no")
    console.print(table)


@calendar_app.command()
def status(
    today: Annotated[
        str | None,
        typer.Option(help="Pretend today is this date (YYYY-MM-DD); Asia/Shanghai today if omitted."),
    ] = None,
) -> None:
    """Which years have a confirmed holiday schedule, and which upcoming year lacks one."""
    from huike.calendar.service import calendar_status

    day = _parse_date(today) if today else None
    result = _with_session(lambda session: calendar_status(session, day))
    table = Table(title=f"Working-day calendar on {result.today.isoformat()}")
    table.add_column("year")
    table.add_column("schedule")
    table.add_column("warning from")
    for warning in result.warnings:
        table.add_row(
            str(warning.year), "[red]missing[/]: counted Mon–Fri, provisional", warning.since.isoformat()
        )
    years = result.confirmed_years
    if years:
        table.add_row(
            f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0]), "[green]confirmed[/]", ""
        )
        gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        for gap in gaps:
            table.add_row(str(gap), "[yellow]missing[/]", "")
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]![/] {warning.message}", soft_wrap=True)
    if result.ok:
        console.print("[green]✓[/] every year up to the next is confirmed")


@calendar_app.command()
def seed() -> None:
    """Load the chinesecalendar package's years (2004–2026) that the table lacks (idempotent)."""
    from huike.calendar.seed import seed_calendar

    added = _with_session(seed_calendar, write=True)
    if added:
        console.print(f"[green]✓[/] seeded {len(added)} year(s): {added[0]}–{added[-1]}")
    else:
        console.print("[green]✓[/] nothing to seed: every packaged year is in the table")
