"""The demo seed of ``make run``: idempotent, through the services, against an in-process emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from huike.account import passwords
from huike.account.models import User
from huike.config import Settings
from huike.core.db import Database
from huike.core.tasks import Job
from huike.demo import DEMO_COMPANY, DEMO_CORP, DemoInfo, seed_demo
from huike.external_contact.models import ExternalContact
from huike.member.models import Member, MemberInvitation
from huike.privacy.policy.models import PolicyAcceptance
from huike.tenant.models import Tenant
from huike.wecom.models import WeComConnection
from wecom_emulator import Clock, EmulatorState
from wecom_emulator.app import create_app as create_emulator
from wecom_emulator.seed import seed_company


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    passwords.configure_hasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords.configure_hasher(
        time_cost=passwords.TIME_COST,
        memory_cost=passwords.MEMORY_COST_KIB,
        parallelism=passwords.PARALLELISM,
    )


async def count(db: Database, model: type, *where: object) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_demo_seed_is_idempotent(clean_db: Database, settings: Settings) -> None:
    state = EmulatorState(path=":memory:", clock=Clock())
    seed_company(state, DEMO_CORP, members=10, external_contacts=10, groups=1, tags=2, seed=3)
    transport = httpx.ASGITransport(app=create_emulator(state))
    settings = settings.model_copy(update={"database_url": clean_db.engine.url.render_as_string(False)})
    base = "http://127.0.0.1:8000/_wecom"

    ready: list[DemoInfo] = []
    first = await seed_demo(settings, base, transport=transport, on_ready=ready.append)
    # the banner could be printed once the members were synced, before the customer data
    assert [(r.members, r.customers, r.syncs) for r in ready] == [
        (first.members, 0, {"members": "succeeded"})
    ]
    assert first.syncs == dict.fromkeys(("members", "tags", "customers", "groups"), "succeeded")
    assert first.customers == state.store.scalar("SELECT count(*) FROM customer") > 0
    assert first.groups == state.store.scalar("SELECT count(*) FROM groupchat") > 0
    assert first.tags == state.store.scalar("SELECT count(*) FROM tag WHERE deleted = 0") > 0
    assert f"{first.customers:,} customers" in first.data_line()
    assert first.created
    assert first.company == DEMO_COMPANY
    assert first.corp_id == DEMO_CORP
    assert (first.phone, first.password) == ("13800000000", "Huike-Demo-2026")
    assert first.sync_status == "succeeded"
    visible = state.store.scalar("SELECT count(*) FROM member WHERE visible = 1")
    assert first.members == visible
    assert first.departments > 1
    assert first.invited_userid is not None
    assert "13800000000" in first.banner()

    second = await seed_demo(settings, base, transport=transport)
    assert not second.created
    assert (second.tenant_id, second.members, second.invited_userid) == (
        first.tenant_id,
        first.members,
        first.invited_userid,
    )
    assert second.sync_status == "succeeded"
    assert await count(clean_db, Tenant, Tenant.name == DEMO_COMPANY) == 1
    assert await count(clean_db, User) == 1
    assert await count(clean_db, WeComConnection) == 1
    assert await count(clean_db, PolicyAcceptance) == 1
    assert await count(clean_db, Member) == visible
    assert await count(clean_db, MemberInvitation) == 1
    for kind in ("member", "tag", "external_contact", "group_chat"):
        assert await count(clean_db, Job, Job.kind == f"{kind}.sync_from_wecom") == 2
    assert second.syncs == first.syncs
    assert (second.customers, second.groups, second.tags) == (first.customers, first.groups, first.tags)
    assert await count(clean_db, ExternalContact) == first.customers
