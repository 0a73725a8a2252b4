"""Repositories: the only place that builds SQL for a model. Tenant repositories are built with a
TenantContext and start every statement from a tenant-scoped select."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import Base
from huike.core.errors import NotFound
from huike.core.tenancy import TenantContext, TenantScoped

M = TypeVar("M", bound=Base)


class TenantRepository(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession, ctx: TenantContext) -> None:
        if not issubclass(self.model, TenantScoped):
            raise TypeError(f"{self.model.__name__} is not tenant-scoped")
        self.session = session
        self.ctx = ctx

    def select(self) -> Select[M]:
        return select(self.model).where(self.model.tenant_id == self.ctx.tenant_id)

    async def get(self, id: uuid.UUID) -> M | None:
        result = await self.session.execute(self.select().where(self.model.id == id))
        return result.scalar_one_or_none()

    async def get_or_404(self, id: uuid.UUID) -> M:
        """Missing and foreign ids raise the same NotFound."""
        row = await self.get(id)
        if row is None:
            raise NotFound()
        return row

    def add(self, row: M) -> M:
        if getattr(row, "tenant_id", None) is None:
            row.tenant_id = self.ctx.tenant_id  # type: ignore[attr-defined]
        elif row.tenant_id != self.ctx.tenant_id:  # type: ignore[attr-defined]
            raise ValueError("row belongs to another tenant")
        self.session.add(row)
        return row
