"""Starting and stopping what one process needs, the same way for the web app, ``huike worker``
and ``huike scheduler``: database, key ring, WeCom runtime, job runtime and broker."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from huike import registry
from huike.config import Settings
from huike.core.broker import TaskiqDispatcher, make_broker
from huike.core.db import Database
from huike.core.tasks import JobRuntime, set_runtime
from huike.security.keys import configure_keys, set_keyring
from huike.wecom.inbox import InboxWriter, sessionmaker_scope
from huike.wecom.runtime import WeComRuntime, build_runtime, set_wecom_runtime

log = structlog.get_logger(__name__)


@dataclass
class Process:
    settings: Settings
    db: Database
    jobs: JobRuntime
    broker: Any
    wecom: WeComRuntime
    inbox: InboxWriter
    owns_db: bool


async def start(
    settings: Settings, *, database: Database | None = None, start_broker: bool = True
) -> Process:
    registry.load()
    db = database or Database(settings.resolved_database_url)
    configure_keys(settings)
    wecom = build_runtime(settings)
    set_wecom_runtime(wecom)
    broker = make_broker(settings.redis_url)
    jobs = JobRuntime(
        sessionmaker=db.sessionmaker,
        dispatcher=TaskiqDispatcher(broker),
        visibility_timeout=timedelta(seconds=settings.job_visibility_timeout_s),
    )
    set_runtime(jobs)
    if start_broker:
        try:
            await broker.startup()
        except Exception as exc:  # readiness reports it; the relay delivers once the broker is back
            log.warning("broker.unavailable", error_type=type(exc).__name__)
    inbox = InboxWriter(
        sessionmaker_scope(db.sessionmaker), read_scope=sessionmaker_scope(db.read_sessionmaker)
    )
    return Process(settings, db, jobs, broker, wecom, inbox, owns_db=database is None)


def freeze_heap() -> None:
    """Move what a process loaded at start (modules, the app, registries: ~170,000 objects) out of the
    garbage collector's generations. A full collection otherwise walks them all — 60–110 ms in the
    middle of whatever request triggered it, the slow tail of the customer list (docs/benchmarks.md).
    Called once by the long-running commands (``huike run``, the scale-mode server, ``huike worker``),
    not by tests, which build many apps in one process."""
    gc.collect()
    gc.freeze()


async def stop(process: Process) -> None:
    await process.inbox.stop()
    try:
        await process.broker.shutdown()
    except Exception as exc:
        log.warning("broker.shutdown_failed", error_type=type(exc).__name__)
    await process.wecom.aclose()
    set_runtime(None)
    set_wecom_runtime(None)
    set_keyring(None)
    if process.owns_db:
        await process.db.dispose()
