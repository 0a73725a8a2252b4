"""The ``huike`` command."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from huike.calendar.cli import calendar_app
from huike.config import Settings, get_settings
from huike.demo import demo_app
from huike.privacy.audit.cli import audit_app
from huike.privacy.ropa.cli import inventory_app
from huike.security.cli import keys_app
from huike.sync.cli import sync_command

app = typer.Typer(help="汇客 Huike: a privacy-first SCRM on WeCom.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(inventory_app, name="inventory")
app.add_typer(calendar_app, name="calendar")
app.add_typer(keys_app, name="keys")
app.add_typer(demo_app, name="demo")
app.command("sync")(sync_command)
console = Console(stderr=True)


def _migrate(url: str) -> None:
    from huike.core.migrate import upgrade
    from huike.seed import seed_platform

    with console.status("Migrating the database…"):
        upgrade(url)
    with console.status("Seeding platform data (policy, calendar)…"):
        asyncio.run(seed_platform(url))
    console.print("[green]✓[/] database schema and platform data are up to date")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade head) and seed platform data."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _migrate(settings.resolved_database_url)


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option(help="Seed the demo company connected to the bundled emulator.")
    ] = True,
) -> None:
    """Embedded all-in-one: API, console, in-process worker and scheduler on a SQLite file."""
    import uvicorn

    from huike.app import EMULATOR_PREFIX, create_app
    from huike.security.kms import ensure_master_key

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_master_key(settings)
    _migrate(settings.resolved_database_url)
    emulator = None
    if "public_base_url" not in settings.model_fields_set:
        # callback URLs shown in the console must point at this server
        settings = settings.model_copy(update={"public_base_url": f"http://{host}:{port}"})
    if settings.wecom_base_url is None:
        emulator = _embedded_emulator(settings)
        settings = settings.model_copy(
            update={"wecom_base_url": f"http://127.0.0.1:{port}{EMULATOR_PREFIX}/cgi-bin"}
        )
        console.print(
            f"WeCom: the bundled emulator at http://127.0.0.1:{port}{EMULATOR_PREFIX}/_emulator/docs"
        )
    console.print(f"[bold]汇客 Huike[/] ({settings.mode} mode) at [link]http://{host}:{port}[/]")
    background = [_seed_demo_when_listening(settings, host, port)] if emulator is not None and demo else []
    uvicorn.run(
        create_app(settings, run_scheduler=True, emulator=emulator, background=background, freeze_heap=True),
        host=host,
        port=port,
        log_level="warning",
    )


def _seed_demo_when_listening(
    settings: Settings, host: str, port: int
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The demo company is seeded through the running server (its emulator answers over HTTP), so
    wait until the server listens, then seed once and print how to log in."""

    async def seed() -> None:
        from huike.app import EMULATOR_PREFIX
        from huike.demo import seed_demo
        from huike.privacy.egress import EgressUnavailable

        for _ in range(120):
            await asyncio.sleep(0.5)
            try:
                info = await seed_demo(
                    settings,
                    f"http://127.0.0.1:{port}{EMULATOR_PREFIX}",
                    # the banner as soon as one can log in; the customer data follows
                    on_ready=lambda ready: console.print(ready.banner(f"http://{host}:{port}")),
                )
            except EgressUnavailable:
                continue  # not listening yet
            except Exception as exc:  # the server keeps running without the demo
                console.print(f"[yellow]demo company not seeded:[/] {type(exc).__name__}: {exc}")
                return
            console.print(info.data_line())
            return

    return seed


def _embedded_emulator(settings: Settings) -> object:
    from wecom_emulator.app import create_app as create_emulator
    from wecom_emulator.cli import build_state

    with console.status("Preparing the WeCom emulator's demo company…"):
        state, _ = build_state(str((settings.data_dir / "wecom-emulator.db").resolve()), demo=True)
    return create_emulator(state, auto_deliver=True)


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    state: Annotated[
        str, typer.Option(help="SQLite file of the emulator's state (or :memory:).")
    ] = "var/wecom-emulator.db",
) -> None:
    """Run the bundled WeCom emulator on its own port (point HUIKE_WECOM_BASE_URL at its /cgi-bin)."""
    from wecom_emulator.cli import serve

    serve(host, port, state)


def _serve_app() -> object:
    from huike.app import create_app

    return create_app(get_settings(), run_scheduler=False, freeze_heap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 2,
) -> None:
    """Scale mode web processes (jobs run in `huike worker`, periodic jobs in `huike scheduler`)."""
    import uvicorn

    uvicorn.run(
        "huike.cli:_serve_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )


def _load_extra_task_modules() -> None:
    import importlib

    from huike import registry

    registry.load()

    for name in filter(None, os.environ.get("HUIKE_EXTRA_TASK_MODULES", "").split(",")):
        importlib.import_module(name.strip())


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by this process.")] = 16,
) -> None:
    """Consume jobs from Redis Streams (scale mode)."""
    from huike import runtime
    from huike.core.broker import run_worker
    from huike.core.logging import configure_logging

    settings = get_settings()
    if not settings.redis_url:
        console.print(
            "[red]HUIKE_REDIS_URL is not set:[/] in embedded mode `huike run` runs the jobs itself."
        )
        raise typer.Exit(2)
    configure_logging(settings)
    _load_extra_task_modules()

    async def main() -> None:
        # the same start as the web app: database, key ring, WeCom client, job runtime
        process = await runtime.start(settings, start_broker=False)
        runtime.freeze_heap()
        try:
            await run_worker(process.broker, max_async_tasks=concurrency)
        finally:
            await runtime.stop(process)

    asyncio.run(main())


@app.command()
def scheduler() -> None:
    """Relay undelivered jobs and enqueue periodic ones (one leader among any number of these)."""
    from huike import runtime
    from huike.core.logging import configure_logging
    from huike.core.tasks import run_scheduler_loop

    settings = get_settings()
    configure_logging(settings)
    _load_extra_task_modules()

    async def main() -> None:
        process = await runtime.start(settings)
        try:
            await run_scheduler_loop(process.jobs, settings.relay_interval_s, settings.scheduler_lease_s)
        finally:
            await runtime.stop(process)

    asyncio.run(main())


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="File to write; standard output when omitted.")] = None,
) -> None:
    """Write the OpenAPI document (the console's typed client is generated from it)."""
    from huike.app import create_app

    document = json.dumps(create_app().openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")


def main() -> None:
    app()
