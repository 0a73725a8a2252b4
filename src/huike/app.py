"""The ASGI application: ``create_app()`` wires settings, database, jobs, routers and the console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from fastapi import FastAPI

import huike.models  # noqa: F401  (every model known before first use)
from huike import __version__
from huike.api import ROUTERS
from huike.config import Settings, get_settings
from huike.core.broker import TaskiqDispatcher, make_broker
from huike.core.db import Database
from huike.core.errors import install_error_handlers
from huike.core.logging import configure_logging
from huike.core.middleware import RequestContextMiddleware
from huike.core.routing import operation_id
from huike.core.tasks import JobRuntime, run_scheduler_loop, set_runtime
from huike.web import mount_console

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings | None = None, *, run_scheduler: bool = False, database: Database | None = None
) -> FastAPI:
    """Build the app. ``run_scheduler`` (embedded mode) also runs the relay and periodic jobs in-process."""
    settings = settings or get_settings()
    configure_logging(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(settings.resolved_database_url)
        broker = make_broker(settings.redis_url)
        runtime = JobRuntime(
            sessionmaker=db.sessionmaker,
            dispatcher=TaskiqDispatcher(broker),
            visibility_timeout=timedelta(seconds=settings.job_visibility_timeout_s),
        )
        set_runtime(runtime)
        try:
            await broker.startup()
        except Exception as exc:  # readiness reports it; the relay delivers once the broker is back
            log.warning("broker.unavailable", error_type=type(exc).__name__)
        app.state.db, app.state.jobs, app.state.broker = db, runtime, broker
        ticker = (
            asyncio.create_task(
                run_scheduler_loop(runtime, settings.relay_interval_s, settings.scheduler_lease_s)
            )
            if run_scheduler
            else None
        )
        log.info("app.started", mode=settings.mode, scheduler=run_scheduler)
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            await broker.shutdown()
            set_runtime(None)
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Huike API",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app, settings.web_dist)
    return app
