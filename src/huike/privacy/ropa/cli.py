"""``huike inventory``: export the record of processing activities, or check the declarations."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

inventory_app = typer.Typer(
    help="The data inventory and record of processing activities (F1).", no_args_is_help=True
)
console = Console(stderr=True)


class Format(StrEnum):
    csv = "csv"
    json = "json"
    md = "md"


class Lang(StrEnum):
    zh_CN = "zh-CN"
    en = "en"


@inventory_app.command()
def export(
    format: Annotated[Format, typer.Option("--format", "-f", help="csv, json or md.")] = Format.md,
    lang: Annotated[Lang, typer.Option(help="Language of the labels.")] = Lang.zh_CN,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; stdout if absent.")
    ] = None,
) -> None:
    """Write the record of processing activities built from the models' declarations."""
    from huike.models import Base
    from huike.privacy.ropa.service import export as render

    data = render(Base, format.value, "en" if lang == Lang.en else "zh-CN")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    console.print(f"[green]✓[/] wrote {output}")


@inventory_app.command()
def check() -> None:
    """Run the F1 checks (coverage, encryption, reachability, forbidden combinations); exit 1 on a problem."""
    from huike.models import Base
    from huike.privacy.egress import REGISTER
    from huike.privacy.ropa.checks import all_problems

    problems = all_problems(Base, REGISTER)
    for problem in problems:
        console.print(f"[red]✗[/] {escape(str(problem))}", soft_wrap=True, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("[green]✓[/] the inventory is complete and consistent")
