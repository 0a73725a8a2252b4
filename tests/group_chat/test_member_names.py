"""A group's people by name: members by the member directory, customers by their profile (with a link)
when the caller may see them, people who are nobody's customer by the name the group shows (stored
encrypted), and never the name of a customer outside the caller's data scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service as customers
from huike.external_contact.models import ExternalContact, FollowRelation
from huike.group_chat.models import GroupChatMember
from huike.member import service as members
from huike.member.models import Member
from huike.security.keys import warm_keys
from huike.tenant.models import Tenant
from tests.conftest import user_with_role
from tests.group_chat.conftest import Emulator, deliver, emulator_groups, group_by_chat_id, sync
from tests.permission.conftest import assign, custom_role, login
from wecom_emulator import scenarios

STRANGER = "路人甲"
NICKNAME = "甲同学"


@dataclass(frozen=True)
class Brief:
    id: uuid.UUID
    external_userid: str
    name: str | None

    def __init__(self, contact: ExternalContact) -> None:
        object.__setattr__(self, "id", contact.id)
        object.__setattr__(self, "external_userid", contact.external_userid)
        object.__setattr__(self, "name", contact.name)


async def _everything_synced(session: AsyncSession, tenant: Tenant, emulator: Emulator) -> None:
    state, _, _ = emulator
    state.store.conn.execute("UPDATE member SET customer_contact = 1")
    ctx = TenantContext.system(tenant.id)
    await members.sync_from_wecom(session, ctx, uuid.uuid4())
    await customers.sync_from_wecom(session, ctx, uuid.uuid4())
    await session.commit()


async def _customers(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, ExternalContact]:
    await warm_keys(session, tenant_id)
    rows = await session.execute(select(ExternalContact).where(ExternalContact.tenant_id == tenant_id))
    return {c.external_userid: c for c in rows.scalars()}


async def _followers(session: AsyncSession, tenant_id: uuid.UUID) -> dict[uuid.UUID, set[uuid.UUID]]:
    rows = await session.execute(
        select(FollowRelation.contact_id, FollowRelation.member_id).where(
            FollowRelation.tenant_id == tenant_id
        )
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for contact_id, member_id in rows.all():
        found.setdefault(contact_id, set()).add(member_id)
    return found


async def _people(client: httpx.AsyncClient, group_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/api/v1/group-chats/{group_id}/members", params={"limit": 200})
    assert response.status_code == 200, response.text
    return {p["userid"]: p for p in response.json()["items"]}


async def test_customers_members_and_strangers_are_named(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    await _everything_synced(session, tenant, emulator)
    chat_id = max(emulator_groups(state).items(), key=lambda g: len(g[1]["members"]))[0]
    joined = scenarios.customer_joins_group(
        state, report.corp_id, chat_id, name=STRANGER, group_nickname=NICKNAME
    )
    stranger = joined.data["external_userid"]
    await deliver(session, tenant, state)  # applied from the event, without reading the group
    group = await group_by_chat_id(session, tenant.id, chat_id)

    people = await _people(synced, group.id)
    assert (people[stranger]["name"], people[stranger]["name_source"]) == (None, None)
    await sync(session, tenant.id, full=True)  # the next read of the group fills the name in
    people = await _people(synced, group.id)
    detail = (await synced.get(f"/api/v1/group-chats/{group.id}")).json()
    assert {p["userid"]: p for p in detail["members"]} == people

    ours = await _customers(session, tenant.id)
    externals = [p for p in people.values() if p["type"] == "external"]
    in_profile = [p for p in externals if p["userid"] in ours]
    assert in_profile, "the group has customers of the tenant"
    for person in in_profile:
        customer = ours[person["userid"]]
        assert person["customer_id"] == str(customer.id)
        assert (person["name"], person["name_source"]) == (customer.name, "customer")
        assert person["customer_type"] == customer.contact_type
        page = await synced.get(f"/api/v1/external-contacts/{person['customer_id']}")
        assert page.json()["name"] == person["name"]  # the link opens that customer
    # a person who is nobody's customer: the group's nickname for them, and no customer link
    assert people[stranger]["name"] == NICKNAME
    assert (people[stranger]["name_source"], people[stranger]["customer_id"]) == ("group", None)
    staff = [p for p in people.values() if p["type"] == "member"]
    assert staff
    rows = await session.execute(select(Member).where(Member.tenant_id == tenant.id))
    directory = {m.wecom_userid: m.name for m in rows.scalars()}
    for person in staff:
        assert (person["name"], person["name_source"]) == (directory[person["userid"]], "member")
        assert person["customer_id"] is None

    # stored encrypted, and only for external contacts
    columns = select(GroupChatMember.userid, GroupChatMember.display_name)  # columns are not decrypted
    raw = dict((await session.execute(columns.where(GroupChatMember.group_chat_id == group.id))).all())
    assert str(raw[stranger]).startswith("v1:")
    assert NICKNAME not in str(raw[stranger])
    assert STRANGER not in str(raw)
    assert all(raw[p["userid"]] is None for p in staff)


async def test_a_customer_outside_the_callers_scope_stays_unnamed(
    app: FastAPI, synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    await _everything_synced(session, tenant, emulator)
    tenant_id = tenant.id
    chat_id, wecom = next(iter(emulator_groups(state).items()))
    owner = (
        await session.execute(
            select(Member).where(Member.tenant_id == tenant_id, Member.wecom_userid == wecom["owner"])
        )
    ).scalar_one()
    ours = await _customers(session, tenant_id)
    followers = await _followers(session, tenant_id)
    # plain values: the requests below end transactions, which expires loaded rows
    owner_id = owner.id
    theirs = next(Brief(c) for c in ours.values() if owner_id in followers.get(c.id, set()))
    others = next(Brief(c) for c in ours.values() if owner_id not in followers.get(c.id, set()))
    for customer in (theirs, others):
        if customer.external_userid not in wecom["members"]:
            scenarios.customer_joins_group(
                state, report.corp_id, chat_id, external_userid=customer.external_userid
            )
    scenarios.customer_joins_group(state, report.corp_id, chat_id, name=STRANGER)
    await deliver(session, tenant, state)
    await sync(session, tenant_id, full=True)
    group_id = (await group_by_chat_id(session, tenant_id, chat_id)).id

    # the group's owner signs in with the built-in member role: data scope "self"
    user_id = await user_with_role(session, tenant_id, "member")
    await session.execute(update(Member).where(Member.id == owner_id).values(user_id=user_id))
    await session.commit()
    async with await login(app, session, tenant_id, user_id) as client:
        people = await _people(client, group_id)
        assert (await client.get(f"/api/v1/external-contacts/{others.id}")).status_code == 404
    mine, not_mine = people[theirs.external_userid], people[others.external_userid]
    assert (mine["name"], mine["customer_id"]) == (theirs.name, str(theirs.id))
    # another member's customer: no name (not even the group's), no type, no link
    assert {k: not_mine[k] for k in ("name", "name_source", "customer_id", "customer_type", "corp_name")} == {
        "name": None,
        "name_source": None,
        "customer_id": None,
        "customer_type": None,
        "corp_name": None,
    }
    stranger = next(p for p in people.values() if p["name_source"] == "group")
    assert stranger["name"] == STRANGER
    # the admin (company scope) sees both customers by name
    everyone = await _people(synced, group_id)
    assert everyone[others.external_userid]["name"] == others.name

    # a role that may view groups but not customers names no customer at all
    viewer = await custom_role(session, tenant_id, ["groups.view", "app.console"], scope="company")
    user_id = await user_with_role(session, tenant_id, "member")
    member_id = (
        (
            await session.execute(
                select(Member.id).where(
                    Member.tenant_id == tenant_id, Member.id != owner_id, Member.user_id.is_(None)
                )
            )
        )
        .scalars()
        .first()
    )
    assert member_id is not None
    await session.execute(update(Member).where(Member.id == member_id).values(user_id=user_id))
    await assign(session, tenant_id, member_id, viewer)
    await session.commit()
    async with await login(app, session, tenant_id, user_id) as client:
        people = await _people(client, group_id)
    assert all(p["customer_id"] is None for p in people.values())
    assert people[theirs.external_userid]["name"] is None
    assert any(p["name"] == STRANGER for p in people.values())


async def test_a_rerun_keeps_stored_names_untouched(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    """Names are refreshed by reads that change membership or find a person without one; a full
    rerun over unchanged groups writes no member row."""
    state, report, _ = emulator
    chat_id = next(iter(emulator_groups(state)))
    scenarios.customer_joins_group(state, report.corp_id, chat_id, name=STRANGER)
    await deliver(session, tenant, state)
    await sync(session, tenant.id, full=True)

    async def stamps() -> dict[uuid.UUID, Any]:
        rows = await session.execute(
            select(GroupChatMember)
            .where(GroupChatMember.tenant_id == tenant.id)
            .execution_options(populate_existing=True)
        )
        return {row.id: (row.updated_at, row.display_name) for row in rows.scalars()}

    before = await stamps()
    assert STRANGER in {name for _, name in before.values()}
    await sync(session, tenant.id, full=True)
    assert await stamps() == before
