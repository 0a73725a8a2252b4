"""``huike sync [members|tags|customers|groups|all] --tenant <id or company name>``.

Runs the tenant's full syncs in this process, one domain after the other (:data:`service.ORDER`), each
as the domain's own job (the job centre lists it; the one-sync-at-a-time rule applies), and draws a
progress bar per domain from the progress the job reports. Exit codes: 0 all succeeded, 1 a sync
failed or could not start, 3 a sync of the tenant is already running (nothing was started), 130
interrupted (Ctrl-C: the job that was running is marked failed, so it blocks nothing; the job centre
retries it from its last checkpoint).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from huike.config import Settings, get_settings
from huike.core.i18n import Locale, current_locale

if TYPE_CHECKING:  # the domains load when the command runs, not with every `huike` command
    from huike.core.tasks import JobRuntime
    from huike.sync import service

EXIT_FAILED = 1
EXIT_BUSY = 3
EXIT_INTERRUPTED = 130

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("{tenant} 的同步", "Sync of {tenant}"),
    "domain": ("数据", "data"),
    "status": ("结果", "result"),
    "created": ("新增", "created"),
    "updated": ("更新", "updated"),
    "deleted": ("删除", "deleted"),
    "unchanged": ("未变", "unchanged"),
    "seconds": ("耗时", "duration"),
    "succeeded": ("成功", "succeeded"),
    "failed": ("失败", "failed"),
    "busy": ("已在运行", "already running"),
    "not_run": ("未执行", "not run"),
    "waiting": ("等待", "waiting"),
    "total": ("总耗时 {seconds}", "total {seconds}"),
    "interrupted": (
        "已中断：正在运行的同步任务已标记为失败，可在任务中心重试（从中断处继续）。",
        "Interrupted: the running sync job is marked failed; retry it in the job centre (it resumes where "
        "it stopped).",
    ),
}


def _t(key: str, **params: object) -> str:
    zh, en = _TEXT[key]
    return (en if current_locale.get() == "en" else zh).format(**params)


class Target(StrEnum):
    members = "members"
    tags = "tags"
    customers = "customers"
    groups = "groups"
    all = "all"


class Lang(StrEnum):
    zh = "zh-CN"
    en = "en"


def locale_from_env() -> Locale:
    """The terminal's language (LC_ALL, LC_MESSAGES, LANG): English for en_*, else zh-CN."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh-CN"
    return "zh-CN"


@dataclass
class Outcome:
    domain: service.SyncDomain
    status: str = "not_run"
    counts: service.Counts | None = None
    seconds: float = 0.0
    message: str | None = None


@dataclass
class Bars:
    """The job observer of this process: the jobs' progress reports move their domain's bar, and a
    failing attempt leaves its exception for the error message."""

    progress: Progress
    tasks: dict[uuid.UUID, TaskID] = field(default_factory=dict)
    errors: dict[uuid.UUID, Exception] = field(default_factory=dict)

    def reported(self, outbox_id: uuid.UUID, progress: int, total: int | None) -> None:
        task_id = self.tasks.get(outbox_id)
        if task_id is not None:
            self.progress.update(task_id, completed=progress, total=total or None)

    def failed(self, outbox_id: uuid.UUID, error: Exception) -> None:
        self.errors[outbox_id] = error


def _message(domain: service.SyncDomain, error: Exception | None, stored: str | None) -> str:
    from huike.core.errors import AppError
    from huike.sync.errors import SyncFailed

    if isinstance(error, AppError):
        return error.message()
    name = type(error).__name__ if error is not None else (stored or "").partition(":")[0] or "Error"
    return SyncFailed(domain=domain.label, error_type=name).message()


async def run(settings: Settings, tenant: str, names: list[str], *, err: Console, out: Console) -> int:
    """The command's work; returns the exit code."""
    from huike import runtime

    process = await runtime.start(settings, start_broker=False)
    process.jobs.dispatcher = None  # jobs run here, in this process
    try:
        return await _run(process.jobs, tenant, names, err=err, out=out)
    finally:
        process.jobs.observer = None
        await runtime.stop(process)


async def _run(jobs: JobRuntime, reference: str, names: list[str], *, err: Console, out: Console) -> int:
    from huike.core.db import commit, rollback
    from huike.core.errors import AppError
    from huike.core.tasks import JobStatus
    from huike.core.tenancy import TenantContext
    from huike.sync import service
    from huike.sync.errors import SyncAlreadyRunning
    from huike.sync.repository import SyncJobRepository

    sessionmaker = jobs.sessionmaker
    async with sessionmaker() as session:
        try:
            tenant = await service.find_tenant(session, reference)
        except AppError as exc:
            err.print(f"[red]✗[/] {exc.message()}")
            return EXIT_FAILED
        ctx, company = TenantContext.system(tenant.id), tenant.name
        repository = SyncJobRepository(session, ctx)
        busy = []
        for name in names:
            domain = service.DOMAINS[name]
            running = await repository.unfinished(domain.task)
            if running is not None:
                busy.append(service.already_running(domain, running))
        await rollback(session)
    if busy:  # nothing is started while any of them runs: the order matters (customers need members)
        for refusal in busy:
            err.print(f"[yellow]![/] {refusal.message()}")
        return EXIT_BUSY

    outcomes = [Outcome(service.DOMAINS[name]) for name in names]
    progress = Progress(
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    bars = Bars(progress)
    jobs.observer = bars
    began = time.perf_counter()
    with progress:
        tasks = {o.domain.name: progress.add_task(o.domain.label, total=100, start=False) for o in outcomes}
        for outcome in outcomes:
            domain, task_id = outcome.domain, tasks[outcome.domain.name]
            progress.start_task(task_id)
            started_at = time.perf_counter()
            async with sessionmaker() as session:
                try:
                    started = await service.start(session, ctx, domain)
                    await commit(session)
                except SyncAlreadyRunning as exc:
                    await rollback(session)
                    outcome.status, outcome.message = "busy", exc.message()
                    break
                except AppError as exc:
                    await rollback(session)
                    outcome.status, outcome.message = "failed", f"{domain.label}: {exc.message()}"
                    break
            if started.outbox_id is not None:
                bars.tasks[started.outbox_id] = task_id
            job = await service.run_job(jobs, started)
            outcome.seconds = time.perf_counter() - started_at
            if job is not None and job.status == JobStatus.succeeded:
                outcome.status = "succeeded"
                outcome.counts = domain.counts(job.result or {})
                progress.update(task_id, completed=progress.tasks[task_id].total or 100)
                continue
            error = bars.errors.get(started.outbox_id) if started.outbox_id is not None else None
            outcome.status = "failed"
            outcome.message = (
                f"{domain.label}: {_message(domain, error, job.error if job is not None else None)}"
            )
            break
    _summary(out, company, outcomes, time.perf_counter() - began)
    for outcome in outcomes:
        if outcome.message:
            err.print(f"[red]✗[/] {outcome.message}")
    if any(o.status == "busy" for o in outcomes):
        return EXIT_BUSY
    return 0 if all(o.status == "succeeded" for o in outcomes) else EXIT_FAILED


def _summary(out: Console, tenant: str, outcomes: list[Outcome], seconds: float) -> None:
    table = Table(title=_t("title", tenant=tenant), caption=_t("total", seconds=f"{seconds:.1f}s"))
    table.add_column(_t("domain"))
    table.add_column(_t("status"))
    for key in ("created", "updated", "deleted", "unchanged", "seconds"):
        table.add_column(_t(key), justify="right")
    for outcome in outcomes:
        counts = outcome.counts
        numbers = (
            [f"{counts.created:,}", f"{counts.updated:,}", f"{counts.deleted:,}", f"{counts.unchanged:,}"]
            if counts is not None
            else ["-"] * 4
        )
        style = {"succeeded": "green", "failed": "red", "busy": "yellow"}.get(outcome.status, "dim")
        table.add_row(
            outcome.domain.label,
            f"[{style}]{_t(outcome.status)}[/]",
            *numbers,
            f"{outcome.seconds:.1f}s" if outcome.status != "not_run" else "-",
        )
    out.print(table)


def sync_command(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's id or its full company name.")],
    what: Annotated[
        Target,
        typer.Argument(help="What to sync: members, tags, customers, groups, or all of them in that order."),
    ] = Target.all,
    lang: Annotated[
        Lang | None, typer.Option(help="Language of the messages (default: from LANG; zh-CN unless en_*).")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Print the server's log lines too.")] = False,
) -> None:
    """Run a tenant's full WeCom syncs now, in this process, with a progress bar per domain."""
    from huike.core.logging import configure_logging

    err, out = Console(stderr=True), Console()
    locale: Locale = "en" if (lang.value if lang else locale_from_env()) == "en" else "zh-CN"
    current_locale.set(locale)
    names = [t.value for t in Target if t != Target.all] if what == Target.all else [what.value]
    settings = get_settings()
    previous = structlog.get_config()
    configure_logging(settings if verbose else settings.model_copy(update={"log_level": "CRITICAL"}))
    try:
        code = asyncio.run(run(settings, tenant, names, err=err, out=out))
    except KeyboardInterrupt:
        err.print(f"[yellow]![/] {_t('interrupted')}")
        code = EXIT_INTERRUPTED
    finally:
        structlog.configure(**previous)
    raise typer.Exit(code)
