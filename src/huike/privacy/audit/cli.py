"""``huike audit``: commands on the audit log."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from huike.config import get_settings

audit_app = typer.Typer(help="The audit log (F4).", no_args_is_help=True)
console = Console(stderr=True)


@audit_app.command()
def verify(
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="Rows read per query.")] = 1000,
) -> None:
    """Walk every hash chain and report its first broken link; exit code 1 when one is broken."""
    import huike.models  # noqa: F401
    from huike.core.db import Database
    from huike.privacy.audit.service import VerifyReport, count_events, verify_chains

    settings = get_settings()

    async def run() -> VerifyReport:
        db = Database(settings.resolved_database_url)
        try:
            total = await count_events(db.read_sessionmaker)
            columns = (
                TextColumn("Verifying the audit log"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                bar = progress.add_task("verify", total=total)
                return await verify_chains(
                    db.read_sessionmaker,
                    batch_size=batch_size,
                    on_batch=lambda done: progress.advance(bar, done),
                )
        finally:
            await db.dispose()

    report = asyncio.run(run())
    if report.ok:
        console.print(
            f"[green]✓[/] audit log intact: {report.checked} events in {report.chains} chain(s)",
            soft_wrap=True,
        )
        return
    for link in report.broken:
        where = f"event {link.event_id}" if link.event_id else "chain head"
        console.print(
            f"[red]✗[/] chain {link.chain}: broken at seq {link.seq} ({where}, {link.problem})\n"
            f"    expected {link.expected}\n    stored   {link.stored}",
            soft_wrap=True,
        )
    console.print(f"[red]{len(report.broken)} broken chain(s)[/]; {report.checked} events checked")
    raise typer.Exit(1)
