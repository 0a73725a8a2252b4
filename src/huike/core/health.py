"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from huike import __version__
from huike.config import Settings
from huike.core.broker import broker_ready
from huike.core.i18n import DEFAULT_LOCALE, LOCALES, Locale

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "error"]]


class Meta(BaseModel):
    name: Literal["huike"]
    version: str
    mode: Literal["embedded", "scale"]
    default_locale: Locale
    locales: list[Locale]
    dev_tools: bool  # development aids (SMS codes on screen) are on: never in production


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Literal["ok", "error"]] = {}
    try:
        async with request.app.state.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "error"
    settings: Settings = request.app.state.settings
    checks["broker"] = "ok" if await broker_ready(request.app.state.jobs, settings.redis_url) else "error"
    ok = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/meta", response_model=Meta)
async def meta(request: Request) -> Meta:
    settings: Settings = request.app.state.settings
    return Meta(
        name="huike",
        version=__version__,
        mode=settings.mode,
        default_locale=DEFAULT_LOCALE,
        locales=list(LOCALES),
        dev_tools=settings.env != "production",
    )
