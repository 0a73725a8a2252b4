"""A tenant connected to the bundled emulator (seeded with 2 tag groups and 6 tags, all made by an admin
in the console), with its callback registered, and helpers that read both sides."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.tag import service
from huike.tag.models import Tag, TagGroup
from huike.tenant.models import Tenant
from tests.wecom.test_connection_and_callbacks import connect_and_register_callback
from wecom_emulator import EmulatorState
from wecom_emulator.seed import SeedReport

# {group wecom id: (name, order, {tag wecom id: (name, order)})}
Shape = dict[str, tuple[str, int, dict[str, tuple[str, int]]]]


@pytest_asyncio.fixture
async def connected(
    wired: None,
    logged_in: httpx.AsyncClient,
    emulator: tuple[EmulatorState, SeedReport, FastAPI],
) -> httpx.AsyncClient:
    state, report, _ = emulator
    await connect_and_register_callback(logged_in, state, report)
    return logged_in


@pytest_asyncio.fixture
async def synced(connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> httpx.AsyncClient:
    await service.sync_from_wecom(session, TenantContext.system(tenant.id))
    await session.commit()
    return connected


@pytest.fixture(autouse=True)
def _no_hooks_left_behind() -> Iterator[None]:
    providers = list(service._USAGE_PROVIDERS)
    yield
    service._USAGE_PROVIDERS[:] = providers
    service.set_permission_check(None)


def wecom_shape(state: EmulatorState) -> Shape:
    groups = state.store.all("SELECT pk, group_id, name, ord FROM tag_group WHERE deleted = 0")
    tags = state.store.all("SELECT tag_id, group_pk, name, ord FROM tag WHERE deleted = 0")
    shape: Shape = {g["group_id"]: (g["name"], g["ord"], {}) for g in groups}
    by_pk = {g["pk"]: g["group_id"] for g in groups}
    for tag in tags:
        if tag["group_pk"] in by_pk:
            shape[by_pk[tag["group_pk"]]][2][tag["tag_id"]] = (tag["name"], tag["ord"])
    return shape


def id_of(tenant: Tenant | uuid.UUID) -> uuid.UUID:
    """The tenant's id without a lazy load (a failed request rolls the test's savepoint back and
    expires every loaded object)."""
    if isinstance(tenant, uuid.UUID):
        return tenant
    identity = inspect(tenant).identity
    assert identity is not None
    return uuid.UUID(str(identity[0]))


async def local_shape(session: AsyncSession, tenant: Tenant | uuid.UUID) -> Shape:
    tenant_id = id_of(tenant)
    groups = (
        (
            await session.execute(
                select(TagGroup)
                .where(TagGroup.tenant_id == tenant_id, TagGroup.deleted.is_(False))
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    tags = (
        (
            await session.execute(
                select(Tag)
                .where(Tag.tenant_id == tenant_id, Tag.deleted.is_(False))
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    shape: Shape = {str(g.wecom_id): (g.name, g.order, {}) for g in groups}
    by_id = {g.id: str(g.wecom_id) for g in groups}
    for tag in tags:
        shape[by_id[tag.group_id]][2][str(tag.wecom_id)] = (tag.name, tag.order)
    return shape


async def assert_in_step(session: AsyncSession, tenant: Tenant | uuid.UUID, state: EmulatorState) -> Shape:
    local = await local_shape(session, tenant)
    assert local == wecom_shape(state)
    return local
