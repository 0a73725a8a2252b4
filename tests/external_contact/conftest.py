"""A generated corp in the emulator (6 members, 40 customers, 8 tags), an admin of the tenant, the
tenant connected with callbacks, members and tags synced; helpers to sync customers and deliver."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.models import ExternalContact, FollowRelation
from huike.tag import service as tags
from huike.tenant.models import Tenant
from tests.member.conftest import (  # noqa: F401 - fixtures
    admin,
    admin_user,
    connected,
    deliver,
    settings,
    sync,
)
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import seed_company

CORP = "ww5e1f0c0ffee0custom"


@pytest.fixture
def emulator() -> Any:
    state = EmulatorState(path=":memory:", clock=Clock())
    report = seed_company(state, CORP, members=6, external_contacts=40, groups=1, tags=8, seed=11)
    state.store.conn.execute("UPDATE member SET visible = 1, status = 1, customer_contact = 1")
    return state, report, create_emulator(state)


async def sync_customers(session: AsyncSession, tenant_id: uuid.UUID, **kwargs: Any) -> dict[str, int]:
    stats = await service.sync_from_wecom(session, TenantContext.system(tenant_id), uuid.uuid4(), **kwargs)
    await session.commit()
    return stats


@pytest_asyncio.fixture
async def ready(connected: dict[str, Any], session: AsyncSession, tenant: Tenant) -> uuid.UUID:  # noqa: F811
    """Members and tags synced (customers not yet)."""
    await sync(session, tenant)
    await tags.sync_from_wecom(session, TenantContext.system(tenant.id))
    await session.commit()
    return tenant.id


@pytest_asyncio.fixture
async def customers(ready: uuid.UUID, session: AsyncSession) -> uuid.UUID:
    await sync_customers(session, ready)
    return ready


def wecom_follows(state: EmulatorState) -> list[Any]:
    return state.store.all(
        "SELECT f.*, c.external_userid, m.userid FROM follow f JOIN customer c ON c.pk = f.customer_pk"
        " JOIN member m ON m.pk = f.member_pk ORDER BY f.pk"
    )


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def relation(
    session: AsyncSession, tenant_id: uuid.UUID, external_userid: str, userid: str
) -> FollowRelation:
    await service.warm_keys(session, tenant_id)
    row = (
        await session.execute(
            select(FollowRelation)
            .join(ExternalContact, ExternalContact.id == FollowRelation.contact_id)
            .where(
                FollowRelation.tenant_id == tenant_id,
                ExternalContact.external_userid == external_userid,
                FollowRelation.member_userid == userid,
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row
