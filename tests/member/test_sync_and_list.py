"""Full sync against the emulator (in the test's transaction), the list views, filters and paging,
the department tree, and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.member.models import Department, Member, MemberDepartment
from huike.security.keys import warm_keys
from huike.tenant.models import Tenant
from tests.member.conftest import Emulator, emulator_members, sync

pytestmark = pytest.mark.usefixtures("wired")


async def snapshot(session: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    await warm_keys(session, tenant.id)
    rows = (
        (
            await session.execute(
                select(Member).where(Member.tenant_id == tenant.id).execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    departments = (
        (await session.execute(select(Department).where(Department.tenant_id == tenant.id))).scalars().all()
    )
    links = (
        await session.execute(
            select(MemberDepartment.member_id, MemberDepartment.department_wecom_id).where(
                MemberDepartment.tenant_id == tenant.id
            )
        )
    ).all()
    return {
        "members": {
            m.wecom_userid: (
                m.id,
                m.name,
                m.position,
                m.status,
                m.in_scope,
                m.has_customer_contact,
                m.deleted_at,
                m.details_synced_at,
                m.updated_at,
            )
            for m in rows
        },
        "departments": {
            d.wecom_id: (d.id, d.name, d.parent_wecom_id, d.order, d.updated_at) for d in departments
        },
        "links": sorted((str(a), b) for a, b in links),
    }


async def test_full_sync_counts(
    synced: dict[str, int], session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    visible = emulator_members(state, "visible = 1")
    departments = state.store.all("SELECT * FROM department")
    assert synced["departments"] == len(departments)
    assert synced["created"] == len(visible)
    assert synced["details_read"] == len(visible)
    snap = await snapshot(session, tenant)
    assert set(snap["members"]) == {r["userid"] for r in visible}  # out of scope: never listed
    by_userid = {r["userid"]: r for r in visible}
    for userid, (_, name, position, status, in_scope, contact, deleted_at, *_) in snap["members"].items():
        row = by_userid[userid]
        assert name == row["name"]
        assert position == row["position"]
        assert in_scope is True
        assert contact == bool(row["customer_contact"] and row["status"] in (1, 5))
        if row["status"] == 5:
            assert (status, deleted_at is not None) == ("resigned", True)
        else:
            assert (status, deleted_at) == ("active", None)
    assert set(snap["departments"]) == {r["id"] for r in departments}
    assert len(snap["links"]) == len(visible)


async def test_names_are_encrypted_and_no_contact_details_are_kept(
    synced: dict[str, int], session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    from sqlalchemy import text

    state, _, _ = emulator
    stored = (await session.execute(text("SELECT name FROM members"))).scalars().all()
    assert stored
    assert all(value.startswith("v1:") for value in stored)
    columns = {c.name for c in Member.__table__.columns}
    assert not columns & {"mobile", "email", "avatar", "gender", "phone"}
    dump = str((await session.execute(text("SELECT * FROM members"))).all())
    for row in emulator_members(state):
        assert row["mobile"] not in dump
        assert row["name"] not in dump


async def test_rerun_changes_nothing(synced: dict[str, int], session: AsyncSession, tenant: Tenant) -> None:
    before = await snapshot(session, tenant)
    again = await sync(session, tenant)
    assert again.get("created", 0) == 0
    assert again.get("updated", 0) == 0
    assert again.get("details_read", 0) == 0  # details are fresh: no user/get on a rerun
    assert again.get("out_of_scope", 0) == 0
    assert await snapshot(session, tenant) == before


async def test_full_rerun_reads_details_but_writes_nothing(
    synced: dict[str, int], session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    before = await snapshot(session, tenant)
    again = await sync(session, tenant, full=True)
    assert again["details_read"] == len(emulator_members(emulator[0], "visible = 1"))
    assert again.get("updated", 0) == 0
    after = await snapshot(session, tenant)
    strip = lambda snap: {k: v[:7] for k, v in snap["members"].items()}  # noqa: E731 - details_synced_at moves
    assert strip(after) == strip(before)
    assert {k: v[:4] for k, v in after["departments"].items()} == {
        k: v[:4] for k, v in before["departments"].items()
    }


async def test_members_gone_from_the_scope_or_from_wecom_become_out_of_scope(
    synced: dict[str, int], session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    first, second = emulator_members(state, "visible = 1 AND status = 1")[:2]
    state.store.conn.execute("UPDATE member SET visible = 0 WHERE pk = ?", (first["pk"],))
    state.store.conn.execute("DELETE FROM member WHERE pk = ?", (second["pk"],))
    stats = await sync(session, tenant)
    assert stats["out_of_scope"] == 2
    snap = (await snapshot(session, tenant))["members"]
    assert snap[first["userid"]][4] is False
    assert snap[first["userid"]][6] is None
    assert snap[second["userid"]][4] is False
    # and back in scope
    state.store.conn.execute("UPDATE member SET visible = 1 WHERE pk = ?", (first["pk"],))
    await sync(session, tenant)
    assert (await snapshot(session, tenant))["members"][first["userid"]][4] is True


async def test_sync_api_starts_a_job_and_refuses_a_second(
    connected: dict[str, Any], admin: httpx.AsyncClient
) -> None:
    first = await admin.post("/api/v1/members/sync", json={})
    assert first.status_code == 202, first.text
    assert first.json()["kind"] == "member.sync_from_wecom"
    assert first.json()["status"] == "queued"
    second = await admin.post("/api/v1/members/sync")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "member.sync_running"
    assert second.json()["error"]["details"]["job_id"] == first.json()["id"]


async def test_sync_needs_an_admin(connected: dict[str, Any], member_client: httpx.AsyncClient) -> None:
    response = await member_client.post("/api/v1/members/sync")
    assert response.status_code == 403
    # roles: the route needs members.manage, refused before the member domain's own check
    assert response.json()["error"]["code"] == "permission.denied"


async def test_list_filters_and_keyset_paging(
    synced: dict[str, int], admin: httpx.AsyncClient, emulator: Emulator
) -> None:
    state, _, _ = emulator
    visible = emulator_members(state, "visible = 1")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await admin.get("/api/v1/members", params=params)).json()
        seen += [item["wecom_userid"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(r["userid"] for r in visible)
    assert pages == -(-len(visible) // 3)

    resigned = (await admin.get("/api/v1/members", params={"status": "resigned"})).json()["items"]
    assert [m["wecom_userid"] for m in resigned] == [r["userid"] for r in visible if r["status"] == 5]
    assert (await admin.get("/api/v1/members", params={"in_scope": "false"})).json()["items"] == []

    target = visible[0]
    keyword = target["name"][1:]  # a part of the name (given name)
    found = (await admin.get("/api/v1/members", params={"keyword": keyword})).json()["items"]
    assert target["userid"] in [m["wecom_userid"] for m in found]
    assert all(keyword in m["name"] or keyword.casefold() in m["wecom_userid"].casefold() for m in found)
    by_userid = (await admin.get("/api/v1/members", params={"keyword": target["userid"].upper()})).json()
    assert [m["wecom_userid"] for m in by_userid["items"]] == [target["userid"]]

    tree = (await admin.get("/api/v1/departments")).json()["items"]
    assert len(tree) == 1
    assert tree[0]["wecom_id"] == 1

    def walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [n for node in nodes for n in [node, *walk(node["children"])]]

    nodes = {n["wecom_id"]: n for n in walk(tree)}
    assert len(nodes) == len(state.store.all("SELECT id FROM department"))
    department = nodes[target["main_department"]]
    in_department = (await admin.get("/api/v1/members", params={"department_id": department["id"]})).json()
    expected = sorted(r["userid"] for r in visible if r["main_department"] == target["main_department"])
    assert [m["wecom_userid"] for m in in_department["items"]] == expected
    assert department["member_count"] == len(
        [r for r in visible if r["main_department"] == target["main_department"] and r["status"] != 5]
    )

    one = (await admin.get(f"/api/v1/members/{found[0]['id']}")).json()
    assert one["main_department"]["name"] == department["name"]
    assert one["activated"] is False
    assert "mobile" not in one
    assert "avatar" not in one


async def test_tenant_isolation(
    synced: dict[str, int],
    admin: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    from huike.security.sessions import start_session
    from tests.member.conftest import login_client, make_admin

    tenant_id, other_id = tenant.id, other_tenant.id  # a failed request rolls the session back
    ours = (await admin.get("/api/v1/members", params={"limit": 1})).json()["items"][0]
    other = await make_admin(session, other_tenant, phone="+8613900000002")
    _, token = await start_session(session, other_tenant.id, other.id)
    await session.commit()
    transport = admin._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as foreign:
        login_client(foreign, token)
        assert (await foreign.get("/api/v1/members")).json()["items"] == []
        assert (await foreign.get("/api/v1/departments")).json()["items"] == []
        for response in (
            await foreign.get(f"/api/v1/members/{ours['id']}"),
            await foreign.post(f"/api/v1/members/{ours['id']}/invite"),
        ):
            assert response.status_code == 404
        department = (
            (await session.execute(select(Department.id).where(Department.tenant_id == tenant_id)))
            .scalars()
            .first()
        )
        assert (await foreign.get("/api/v1/members", params={"department_id": str(department)})).json()[
            "items"
        ] == []
    assert TenantContext(tenant_id) != TenantContext(other_id)
    assert uuid.UUID(ours["id"])
