"""The ASGI application: ``create_app()`` wires settings, database, jobs, routers and the console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import structlog
from fastapi import FastAPI

from huike import __version__, registry, runtime
from huike.api import ROUTERS
from huike.config import Settings, get_settings
from huike.core.db import Database
from huike.core.errors import install_error_handlers
from huike.core.logging import configure_logging
from huike.core.middleware import RequestContextMiddleware
from huike.core.routing import operation_id
from huike.core.tasks import run_scheduler_loop
from huike.web import mount_console
from huike.wecom.callbacks import receive_route as callback_receive_route

log = structlog.get_logger(__name__)


EMULATOR_PREFIX = "/_wecom"


def create_app(
    settings: Settings | None = None,
    *,
    run_scheduler: bool = False,
    database: Database | None = None,
    emulator: Any = None,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the app. ``run_scheduler`` (embedded mode) also runs the relay and periodic jobs in-process;
    ``emulator`` is the bundled WeCom emulator's ASGI app, mounted at ``/_wecom`` by ``huike run``;
    ``background`` are coroutines started once the app is up (``huike run`` seeds the demo company);
    ``freeze_heap`` (the long-running server) calls ``runtime.freeze_heap`` once it has started."""
    settings = settings or get_settings()
    configure_logging(settings)
    registry.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = await runtime.start(settings, database=database)
        app.state.db, app.state.jobs, app.state.broker = process.db, process.jobs, process.broker
        app.state.inbox, app.state.callback_crypto = process.inbox, {}
        ticker = (
            asyncio.create_task(
                run_scheduler_loop(process.jobs, settings.relay_interval_s, settings.scheduler_lease_s)
            )
            if run_scheduler
            else None
        )
        extras = [asyncio.create_task(work()) for work in background]
        log.info("app.started", mode=settings.mode, scheduler=run_scheduler)
        if freeze_heap:
            runtime.freeze_heap()
        try:
            yield
        finally:
            for task in [*extras, *([ticker] if ticker is not None else [])]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.stop(process)

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
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_limits={"/api/v1/auth/profile/avatar": settings.max_upload_bytes},
    )
    for router in ROUTERS:
        app.include_router(router)
    app.router.routes.insert(0, callback_receive_route)  # the hot path is matched first
    if emulator is not None:
        app.mount(EMULATOR_PREFIX, emulator)
    mount_console(app, settings.web_dist)
    return app
