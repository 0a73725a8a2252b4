from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import UnaryExpression, func, select

from huike.core.repository import TenantRepository
from huike.core.tasks import Job, JobStatus
from huike.tag.models import Tag, TagGroup


class TagGroupRepository(TenantRepository[TagGroup]):
    model = TagGroup

    async def live(self, id: uuid.UUID) -> TagGroup | None:
        statement = self.select().where(TagGroup.id == id, TagGroup.deleted.is_(False))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_live(self) -> Sequence[TagGroup]:
        statement = self.select().where(TagGroup.deleted.is_(False)).order_by(*_wecom_order(TagGroup))
        return (await self.session.execute(statement)).scalars().all()

    async def by_wecom_ids(self, wecom_ids: Sequence[str], *, lock: bool = False) -> dict[str, TagGroup]:
        if not wecom_ids:
            return {}
        statement = self.select().where(TagGroup.wecom_id.in_(list(wecom_ids)))
        if lock:
            statement = statement.with_for_update()
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.wecom_id: row for row in rows if row.wecom_id}

    async def all_synced(self, *, lock: bool = False) -> Sequence[TagGroup]:
        """Every group WeCom gave an id, deleted ones too (a sync revives nothing by name)."""
        statement = self.select().where(TagGroup.wecom_id.is_not(None))
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalars().all()

    async def name_taken(self, name: str, *, besides: uuid.UUID | None = None) -> bool:
        statement = self.select().where(TagGroup.deleted.is_(False), TagGroup.name == name)
        if besides is not None:
            statement = statement.where(TagGroup.id != besides)
        return (await self.session.execute(statement.limit(1))).first() is not None


class TagRepository(TenantRepository[Tag]):
    model = Tag

    async def live(self, id: uuid.UUID) -> Tag | None:
        statement = self.select().where(Tag.id == id, Tag.deleted.is_(False))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def live_in(self, group_ids: Sequence[uuid.UUID]) -> Sequence[Tag]:
        if not group_ids:
            return []
        statement = (
            self.select()
            .where(Tag.group_id.in_(list(group_ids)), Tag.deleted.is_(False))
            .order_by(*_wecom_order(Tag))
        )
        return (await self.session.execute(statement)).scalars().all()

    async def live_ids(self) -> list[uuid.UUID]:
        statement = select(Tag.id).where(Tag.tenant_id == self.ctx.tenant_id, Tag.deleted.is_(False))
        return list((await self.session.execute(statement)).scalars().all())

    async def count_live(self) -> int:
        statement = select(func.count()).where(Tag.tenant_id == self.ctx.tenant_id, Tag.deleted.is_(False))
        return int((await self.session.execute(statement)).scalar_one())

    async def by_wecom_ids(self, wecom_ids: Sequence[str], *, lock: bool = False) -> dict[str, Tag]:
        if not wecom_ids:
            return {}
        statement = self.select().where(Tag.wecom_id.in_(list(wecom_ids)))
        if lock:
            statement = statement.with_for_update()
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.wecom_id: row for row in rows if row.wecom_id}

    async def all_synced(self, *, lock: bool = False) -> Sequence[Tag]:
        statement = self.select().where(Tag.wecom_id.is_not(None))
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalars().all()

    async def of_group(self, group_id: uuid.UUID, *, lock: bool = False) -> Sequence[Tag]:
        """Every tag of a group, deleted ones too."""
        statement = self.select().where(Tag.group_id == group_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalars().all()


class SyncJobRepository(TenantRepository[Job]):
    model = Job

    async def unfinished(self, kind: str) -> Job | None:
        """A sync job of the tenant that has not run yet or is running (a second one would do the same)."""
        statement = (
            self.select()
            .where(Job.kind == kind, Job.status.in_([JobStatus.queued, JobStatus.running]))
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


def _wecom_order(model: type[TagGroup] | type[Tag]) -> tuple[UnaryExpression[Any], ...]:
    """WeCom's order: larger ``order`` first, then the order WeCom created them in."""
    return (model.order.desc(), model.wecom_created_at.asc(), model.created_at.asc(), model.id.asc())
