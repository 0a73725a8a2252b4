"""Every router of the API in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from huike.core import health
from huike.job.router import router as job_router
from huike.privacy.audit.router import router as audit_router
from huike.privacy.policy.router import pages as privacy_pages
from huike.privacy.policy.router import router as privacy_router
from huike.wecom.callbacks import router as wecom_callback_router
from huike.wecom.router import router as wecom_router

ROUTERS: list[APIRouter] = [
    health.router,
    job_router,
    audit_router,
    privacy_router,
    privacy_pages,
    wecom_router,
    wecom_callback_router,
]
