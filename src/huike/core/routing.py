"""Routers for domains: every route commits through the unit-of-work wrapper and has a stable
operation id ``<tag>:<handler name>`` for the generated console client."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import UnitOfWorkRoute, get_session

SessionDep = Annotated[AsyncSession, Depends(get_session)]


def make_router(*, prefix: str, tag: str, **kwargs: Any) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=UnitOfWorkRoute, **kwargs)


def operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}:{route.name}"
