"""change_contact callbacks from the emulator, end to end through the inbox: each change type,
duplicates, and events that arrive out of order (an older event never overwrites newer state)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.member import service
from huike.member.models import Department, MemberDepartment
from huike.tenant.models import Tenant
from tests.member.conftest import CORP, Emulator, deliver, emulator_members, member_by_userid
from wecom_emulator import scenarios
from wecom_emulator.callbacks import emit

pytestmark = pytest.mark.usefixtures("wired", "synced")


async def departments_of(session: AsyncSession, member_id: Any) -> list[int]:
    rows = await session.execute(
        select(MemberDepartment.department_wecom_id).where(MemberDepartment.member_id == member_id)
    )
    return sorted(rows.scalars())


async def department(session: AsyncSession, tenant: Tenant, wecom_id: int) -> Department | None:
    return (
        await session.execute(
            select(Department)
            .where(Department.tenant_id == tenant.id, Department.wecom_id == wecom_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def test_create_update_rename_delete_user(
    session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    state.deliveries.switches.duplicate = True  # WeCom sends some events twice
    scenarios.admin_creates_member(state, CORP, "zhangwei88", "张伟", department=[2, 3], position="店长")
    assert await deliver(session, tenant, state) == 1  # the duplicate landed on the same inbox row
    member = await member_by_userid(session, tenant, "zhangwei88")
    assert (member.name, member.position, member.status, member.in_scope) == ("张伟", "店长", "active", True)
    assert await departments_of(session, member.id) == [2, 3]
    member_id = member.id

    state.clock.advance(1)
    scenarios.admin_updates_member(state, CORP, "zhangwei88", name="张大伟", department=[4])
    await deliver(session, tenant, state)
    member = await member_by_userid(session, tenant, "zhangwei88")
    assert (member.name, member.main_department_wecom_id) == ("张大伟", 4)
    assert await departments_of(session, member.id) == [4]

    # the inbox's dedupe key has no NewUserID: a rename in the same second as another update of the
    # same member would be taken for a duplicate (reported); WeCom's events are seconds apart here
    state.clock.advance(1)
    scenarios.admin_updates_member(state, CORP, "zhangwei88", new_userid="zhangdawei")
    await deliver(session, tenant, state)
    assert await member_by_userid(session, tenant, "zhangwei88") is None
    renamed = await member_by_userid(session, tenant, "zhangdawei")
    assert renamed.id == member_id
    assert renamed.name == "张大伟"

    state.clock.advance(1)
    scenarios.member_resigns(state, CORP, "zhangdawei")
    await deliver(session, tenant, state)
    gone = await member_by_userid(session, tenant, "zhangdawei")
    assert gone.deleted_at is not None
    assert gone.in_scope is False


async def test_processing_the_same_event_again_changes_nothing(
    session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    userid = emulator_members(state, "visible = 1 AND status = 1")[0]["userid"]
    scenarios.admin_updates_member(state, CORP, userid, position="区域经理")
    await deliver(session, tenant, state)
    member = await member_by_userid(session, tenant, userid)
    before = (member.position, member.name, member.status, member.in_scope, member.event_time)
    assert before[0] == "区域经理"
    fields = {"UserID": userid, "CreateTime": str(member.event_time), "ChangeType": "update_user"}
    await service.on_user_changed(session, TenantContext.system(tenant.id), fields)
    await session.commit()
    member = await member_by_userid(session, tenant, userid)
    assert (member.position, member.name, member.status, member.in_scope, member.event_time) == before


async def test_an_older_event_never_overwrites_newer_state(
    session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    corp = state.corp(CORP)
    userid = emulator_members(state, "visible = 1 AND status = 1")[1]["userid"]
    now = state.clock.timestamp()
    # the delete (newer) arrives first, the update (older) after it
    emit(state, corp, "change_contact", "delete_user", [("UserID", userid)], create_time=now + 100)
    await deliver(session, tenant, state)
    emit(
        state,
        corp,
        "change_contact",
        "update_user",
        [("UserID", userid), ("Position", "x")],
        create_time=now + 50,
    )
    await deliver(session, tenant, state)
    member = await member_by_userid(session, tenant, userid)
    assert member.in_scope is False
    assert member.deleted_at is not None
    assert member.event_time == now + 100

    # a newer create brings the member back (WeCom is re-read: they exist and are in scope)
    emit(state, corp, "change_contact", "create_user", [("UserID", userid)], create_time=now + 200)
    await deliver(session, tenant, state)
    member = await member_by_userid(session, tenant, userid)
    assert (member.in_scope, member.deleted_at, member.event_time) == (True, None, now + 200)


async def test_party_create_update_delete_and_out_of_order(
    session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    corp = state.corp(CORP)
    now = state.clock.timestamp()
    state.store.conn.execute(
        "INSERT INTO department (corp_pk, id, name, name_en, parentid, ord) VALUES (?, 500, '华东大区', '', 1, 900)",
        (corp.pk,),
    )
    fields: list[tuple[str, Any]] = [("Id", "500"), ("Name", "华东大区"), ("ParentId", "1"), ("Order", "900")]
    emit(state, corp, "change_contact", "create_party", fields, create_time=now + 10)
    await deliver(session, tenant, state)
    found = await department(session, tenant, 500)
    assert found is not None
    assert (found.name, found.parent_wecom_id, found.order) == ("华东大区", 1, 900)

    state.store.conn.execute(
        "UPDATE department SET name = '华东区', parentid = 2 WHERE id = 500 AND corp_pk = ?", (corp.pk,)
    )
    emit(
        state,
        corp,
        "change_contact",
        "update_party",
        [("Id", "500"), ("Name", "华东区"), ("ParentId", "2")],
        create_time=now + 20,
    )
    await deliver(session, tenant, state)
    found = await department(session, tenant, 500)
    assert found is not None
    assert (found.name, found.parent_wecom_id) == ("华东区", 2)

    state.store.conn.execute("DELETE FROM department WHERE id = 500 AND corp_pk = ?", (corp.pk,))
    emit(state, corp, "change_contact", "delete_party", [("Id", "500")], create_time=now + 40)
    await deliver(session, tenant, state)
    emit(
        state, corp, "change_contact", "update_party", [("Id", "500"), ("Name", "旧名")], create_time=now + 30
    )
    await deliver(session, tenant, state)
    found = await department(session, tenant, 500)
    assert found is not None
    assert found.deleted_at is not None
    assert found.name == "华东区"
    tree = await service.department_tree(session, TenantContext.system(tenant.id))
    assert 500 not in {node.wecom_id for node in tree[0].children}
