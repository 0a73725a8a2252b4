"""Repositories: the only place that builds SQL for a model. Tenant repositories are built with a
TenantContext and start every statement from a tenant-scoped select."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.db import Base
from huike.core.errors import AppError, NotFound
from huike.core.i18n import register_messages
from huike.core.tenancy import TenantContext, TenantScoped

M = TypeVar("M", bound=Base)


class TenantRequired(AppError):
    """A tenant-owned query was built without a tenant (a bug, never a user's mistake: R-SEC-3)."""

    status_code = 500
    code = "tenancy.tenant_required"


register_messages(
    {
        "tenancy.tenant_required": (
            "内部错误：查询缺少企业范围。",
            "Internal error: a query had no company scope.",
        ),
    }
)


class TenantRepository(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession, ctx: TenantContext) -> None:
        if not issubclass(self.model, TenantScoped):
            raise TypeError(f"{self.model.__name__} is not tenant-scoped")
        if ctx is None or ctx.tenant_id is None:
            raise TenantRequired(model=self.model.__name__)
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
