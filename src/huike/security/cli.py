"""``huike keys``: status and rotation of the field-encryption keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from huike.config import get_settings

keys_app = typer.Typer(help="Field-encryption keys: status, rotation, master key.", no_args_is_help=True)
console = Console(stderr=True)


class _ProgressObserver:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def table_started(self, table: str, total: int) -> None:
        if table in self.tasks:
            self.progress.reset(self.tasks[table], total=total)
        else:
            self.tasks[table] = self.progress.add_task(table, total=total)

    def batch_done(self, table: str, scanned: int, rewritten: int) -> None:
        self.progress.advance(self.tasks[table], scanned)


@keys_app.command()
def rotate(
    index: Annotated[
        bool,
        typer.Option("--index/--no-index", help="Also rotate the blind-index keys and recompute indexes."),
    ] = False,
    data: Annotated[bool, typer.Option("--data/--no-data", help="Rotate the data (encryption) keys.")] = True,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows re-encrypted per transaction.")] = 500,
) -> None:
    """Add a key version for every scope and re-encrypt every encrypted column; resumes an interrupted run."""
    from huike.core.db import Database
    from huike.security.keys import KeyFamily, configure_keys
    from huike.security.rotation import rotate_keys

    families = [
        family for family, wanted in ((KeyFamily.data, data), (KeyFamily.blind_index, index)) if wanted
    ]
    if not families:
        console.print("[red]Nothing to rotate:[/] choose --data and/or --index.")
        raise typer.Exit(2)
    settings = get_settings()
    configure_keys(settings)

    async def main() -> None:
        db = Database(settings.resolved_database_url)
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                report = await rotate_keys(
                    db.sessionmaker,
                    families=families,
                    batch_size=batch_size,
                    observer=_ProgressObserver(progress),
                )
        finally:
            await db.dispose()
        verb = "resumed" if report.resumed else "started"
        console.print(
            f"rotation {verb}: {report.new_versions} new key versions, {report.rewrapped} data keys re-wrapped, "
            f"{report.rows_rewritten} rows re-encrypted"
        )
        if report.finished:
            console.print(f"[green]✓[/] done; {report.retired} old key versions retired")
        else:
            console.print("[yellow]![/] rows are still written with old keys; run `huike keys rotate` again")
            raise typer.Exit(1)

    asyncio.run(main())


@keys_app.command()
def status() -> None:
    """Key versions per family and state, scopes, encrypted columns and the last rotation."""
    from huike.core.db import Database
    from huike.security.rotation import key_status

    settings = get_settings()

    async def main() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.read_sessionmaker() as session:
                report = await key_status(session)
        finally:
            await db.dispose()
        table = Table(title="Data keys (wrapped)")
        for heading in ("family", "version", "state", "master key", "scopes"):
            table.add_column(heading)
        for row in report.versions:
            table.add_row(row.family, str(row.version), row.state, row.kek_id, str(row.scopes))
        console.print(table)
        console.print(
            f"scopes: {report.tenant_scopes} tenants, platform {'yes' if report.platform_scope else 'no'}"
        )
        console.print("encrypted columns: " + (", ".join(report.encrypted_columns) or "none"))
        rotation = report.rotation
        if rotation is None:
            console.print("no rotation yet")
        else:
            console.print(
                f"last rotation {rotation.id}: {rotation.status}, {rotation.rows_rewritten} rows, "
                f"started {rotation.created_at:%Y-%m-%d %H:%M:%S}Z"
                + (f", error {rotation.error}" if rotation.error else "")
            )

    asyncio.run(main())


@keys_app.command("add-master")
def add_master() -> None:
    """Embedded mode: add a master key version to the key file (then `huike keys rotate` re-wraps)."""
    from huike.security.kms import add_master_key_version

    version = add_master_key_version(get_settings())
    console.print(f"[green]✓[/] master key v{version} added; back the key file up again")
