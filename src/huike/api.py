"""Every router of the API in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from huike.core import health
from huike.job.router import router as job_router

ROUTERS: list[APIRouter] = [health.router, job_router]
