"""Writes go to WeCom first and then here: round trips, bad input, WeCom refusing, a local failure after
WeCom accepted (reconciled by a sync), audit rows and the permission hook."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job
from huike.core.tenancy import TenantContext
from huike.privacy.audit.models import AuditEvent
from huike.tag import service
from huike.tag.models import TagGroup, TagOwner
from huike.tenant.models import Tenant
from tests.tag.conftest import assert_in_step, id_of, local_shape, wecom_shape
from wecom_emulator import EmulatorState
from wecom_emulator.routes.tags import add_tags, delete_tags
from wecom_emulator.seed import SeedReport

Emulator = tuple[EmulatorState, SeedReport, FastAPI]
pytestmark = pytest.mark.usefixtures("synced")


async def _create(
    client: httpx.AsyncClient, name: str = "会员等级", tags: tuple[str, ...] = ("金卡", "银卡", "铜卡")
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tag-groups", json={"name": name, "tags": [{"name": t} for t in tags]}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _actions(session: AsyncSession, tenant: Tenant) -> list[tuple[str, str]]:
    rows = (
        await session.execute(
            select(AuditEvent).where(AuditEvent.tenant_id == id_of(tenant)).order_by(AuditEvent.seq)
        )
    ).scalars()
    return [(row.action, row.result) for row in rows if row.action.startswith("tag.")]


async def _seeded_group(session: AsyncSession, tenant: Tenant) -> TagGroup:
    return (
        (
            await session.execute(
                select(TagGroup).where(TagGroup.tenant_id == id_of(tenant)).order_by(TagGroup.order.desc())
            )
        )
        .scalars()
        .first()
    )  # type: ignore[return-value]


# --- round trips -------------------------------------------------------------------------------------


async def test_create_group_with_tags(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    group = await _create(synced, "  会员等级 ")
    assert group["name"] == "会员等级"
    assert group["owner"] == TagOwner.huike
    assert group["created_by"] is not None
    assert [t["name"] for t in group["tags"]] == ["金卡", "银卡", "铜卡"]
    assert all(t["wecom_id"].startswith("et") for t in group["tags"])
    local = await assert_in_step(session, tenant, state)
    assert local[group["wecom_id"]][0] == "会员等级"
    assert await _actions(session, tenant) == [("tag.created", "success")]


async def test_add_rename_reorder_delete(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    group = await _create(synced)
    gid = group["id"]

    added = await synced.post(
        f"/api/v1/tag-groups/{gid}/tags", json={"tags": [{"name": "钻石卡", "order": 9}]}
    )
    assert added.status_code == 201, added.text
    assert next(t["name"] for t in added.json()["tags"]) == "钻石卡"  # larger order first
    await assert_in_step(session, tenant, state)

    renamed = await synced.patch(f"/api/v1/tag-groups/{gid}", json={"name": "会员卡"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "会员卡"
    tag_id = added.json()["tags"][1]["id"]
    tag = await synced.patch(f"/api/v1/tags/{tag_id}", json={"name": "白金卡", "order": 3})
    assert tag.status_code == 200, tag.text
    assert (tag.json()["name"], tag.json()["order"], tag.json()["version"]) == ("白金卡", 3, 2)
    await assert_in_step(session, tenant, state)

    wanted = [t["id"] for t in reversed(added.json()["tags"])]
    reordered = await synced.put(f"/api/v1/tag-groups/{gid}/tag-order", json={"tag_ids": wanted})
    assert reordered.status_code == 200, reordered.text
    assert [t["id"] for t in reordered.json()["tags"]] == wanted
    await assert_in_step(session, tenant, state)

    groups = (await synced.get("/api/v1/tag-groups")).json()["items"]
    wanted_groups = [gid] + [g["id"] for g in groups if g["id"] != gid]
    moved = await synced.put("/api/v1/tag-groups/order", json={"tag_group_ids": wanted_groups})
    assert moved.status_code == 200, moved.text  # only Huike's own group moved: the admin's keep their order
    assert [g["id"] for g in moved.json()["items"]] == wanted_groups
    await assert_in_step(session, tenant, state)

    for t in reordered.json()["tags"][:-1]:
        assert (await synced.delete(f"/api/v1/tags/{t['id']}")).status_code == 204
    await assert_in_step(session, tenant, state)
    last = reordered.json()["tags"][-1]["id"]
    assert (await synced.delete(f"/api/v1/tags/{last}")).status_code == 204
    local = await assert_in_step(session, tenant, state)
    assert group["wecom_id"] not in local  # the last tag took the group with it, in WeCom and here

    other = await _create(synced, "第二组", ("x",))
    assert (await synced.delete(f"/api/v1/tag-groups/{other['id']}")).status_code == 204
    assert other["wecom_id"] not in await assert_in_step(session, tenant, state)
    actions = [a for a, _ in await _actions(session, tenant)]
    assert {"tag.created", "tag.renamed", "tag.reordered", "tag.deleted"} <= set(actions)


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "   ", "tags": [{"name": "a"}]}, 422, "tag.name_empty"),
        ({"name": "x" * 31, "tags": [{"name": "a"}]}, 422, "tag.name_too_long"),
        ({"name": "组", "tags": [{"name": " " + "y" * 31}]}, 422, "tag.name_too_long"),
        ({"name": "组", "tags": [{"name": ""}]}, 422, "tag.name_empty"),
        ({"name": "组", "tags": []}, 422, "tag.tags_required"),
        ({"name": "组"}, 422, "tag.tags_required"),
        ({"name": "组", "tags": [{"name": "a"}, {"name": "a "}]}, 409, "tag.duplicate_name"),
        ({"name": "客户等级", "tags": [{"name": "a"}]}, 409, "tag.group_name_taken"),
        ({"name": "组", "order": -1, "tags": [{"name": "a"}]}, 422, "validation_error"),
        ({"name": "组", "tags": [{"name": "a", "order": 2**32}]}, 422, "validation_error"),
        ({"name": "组", "tags": [{"name": "a"}], "colour": "red"}, 422, "validation_error"),
    ],
)
async def test_bad_group_input_changes_nothing(
    synced: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    state, _, _ = emulator
    before = wecom_shape(state)
    response = await synced.post("/api/v1/tag-groups", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert wecom_shape(state) == before
    assert await local_shape(session, tenant) == before
    assert await _actions(session, tenant) == []


async def test_the_name_limit_is_counted_after_trimming(synced: httpx.AsyncClient) -> None:
    response = await synced.post(
        "/api/v1/tag-groups", json={"name": " " + "z" * 30 + " ", "tags": [{"name": "a"}]}
    )
    assert response.status_code == 201
    too_long = await synced.post("/api/v1/tag-groups", json={"name": "w" * 31, "tags": [{"name": "a"}]})
    assert too_long.json()["error"]["details"] == {"field": "name", "max": 30, "length": 31}


async def test_the_tag_cap_is_counted_locally(
    synced: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _, _ = emulator
    monkeypatch.setattr(service, "MAX_TAGS", 7)
    before = wecom_shape(state)
    response = await synced.post(
        "/api/v1/tag-groups", json={"name": "组", "tags": [{"name": "a"}, {"name": "b"}]}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "tag.limit_reached",
        "message": response.json()["error"]["message"],
        "details": {"limit": 7, "current": 6, "adding": 2},
    }
    assert wecom_shape(state) == before == await local_shape(session, tenant)


async def test_bad_edits_change_nothing(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    group = await _create(synced)
    before = wecom_shape(state)
    gid, tags = group["id"], group["tags"]
    cases = [
        (
            synced.post(f"/api/v1/tag-groups/{gid}/tags", json={"tags": [{"name": "金卡"}]}),
            409,
            "tag.duplicate_name",
        ),
        (synced.post(f"/api/v1/tag-groups/{gid}/tags", json={}), 422, "tag.tags_required"),
        (synced.patch(f"/api/v1/tags/{tags[0]['id']}", json={"name": "银卡"}), 409, "tag.duplicate_name"),
        (synced.patch(f"/api/v1/tags/{tags[0]['id']}", json={"name": " "}), 422, "tag.name_empty"),
        (synced.patch(f"/api/v1/tags/{tags[0]['id']}", json={}), 422, "tag.nothing_to_change"),
        (synced.patch(f"/api/v1/tag-groups/{gid}", json={"name": "客户等级"}), 409, "tag.group_name_taken"),
        (synced.patch(f"/api/v1/tag-groups/{gid}", json={"name": "名" * 31}), 422, "tag.name_too_long"),
        (synced.patch(f"/api/v1/tags/{uuid.uuid4()}", json={"name": "x"}), 404, "not_found"),
        (synced.delete(f"/api/v1/tag-groups/{uuid.uuid4()}"), 404, "not_found"),
        (
            synced.put(f"/api/v1/tag-groups/{gid}/tag-order", json={"tag_ids": [tags[0]["id"]]}),
            422,
            "tag.order_mismatch",
        ),
        (
            synced.put(
                f"/api/v1/tag-groups/{gid}/tag-order",
                json={"tag_ids": [t["id"] for t in tags] + [tags[0]["id"]]},
            ),
            422,
            "tag.order_mismatch",
        ),
    ]
    for call, status, code in cases:
        response = await call
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert wecom_shape(state) == before == await local_shape(session, tenant)
    assert await _actions(session, tenant) == [("tag.created", "success")]


# --- WeCom refusing -------------------------------------------------------------------------------------


async def test_wecom_refuses_to_change_what_an_admin_made(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    before = wecom_shape(state)
    seeded = (await _seeded_group(session, tenant)).id
    for response in (
        await synced.patch(f"/api/v1/tag-groups/{seeded}", json={"name": "新名字"}),
        await synced.delete(f"/api/v1/tag-groups/{seeded}"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "tag.not_app_owned"
        assert response.json()["error"]["details"] == {"errcode": 48002}
    assert wecom_shape(state) == before == await local_shape(session, tenant)


async def test_wecom_refuses_unknown_ids_and_taken_names(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    group = await _create(synced)
    corp = state.find_corp(report.corp_id)
    assert corp is not None
    gone = state.store.one("SELECT * FROM tag WHERE tag_id = ?", (group["tags"][0]["wecom_id"],))
    group_row = state.store.one("SELECT * FROM tag_group WHERE group_id = ?", (group["wecom_id"],))
    with state.store.transaction():  # behind Huike's back, with no event
        delete_tags(state, corp.pk, [gone], [])
        add_tags(
            state,
            corp.pk,
            "app",
            group_id=group_row["group_id"],
            group_name=None,
            group_order=0,
            tags=[("VIP", 0)],
        )
    before_wecom, before_local = wecom_shape(state), await local_shape(session, tenant)

    unknown = await synced.patch(f"/api/v1/tags/{group['tags'][0]['id']}", json={"name": "新"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "wecom.invalid_tag")
    assert unknown.json()["error"]["details"]["errcode"] == 40068
    taken = await synced.post(f"/api/v1/tag-groups/{group['id']}/tags", json={"tags": [{"name": "VIP"}]})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "wecom.tag_name_taken")
    assert wecom_shape(state) == before_wecom
    assert await local_shape(session, tenant) == before_local


async def test_a_reorder_stopped_by_wecom_keeps_the_moves_made(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    mine = await _create(synced, "我的组", ("a",))
    groups = (await synced.get("/api/v1/tag-groups")).json()["items"]
    seeded = [g["id"] for g in groups if g["id"] != mine["id"]]
    # the admin's groups in reverse: one of them must move, and WeCom refuses that
    response = await synced.put(
        "/api/v1/tag-groups/order", json={"tag_group_ids": [mine["id"], *reversed(seeded)]}
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "tag.reorder_incomplete"
    assert error["details"] == {"applied": 1, "total": 2, "cause": "tag.not_app_owned"}
    await assert_in_step(session, tenant, state)


# --- WeCom accepted, storing failed --------------------------------------------------------------------


async def test_a_local_failure_after_wecom_accepted_is_reconciled(
    synced: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _, _ = emulator
    group = await _create(synced)
    tag = group["tags"][0]

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_apply_edit", broken)
    response = await synced.patch(f"/api/v1/tags/{tag['id']}", json={"name": "黑卡"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "tag.reconcile_pending"
    job = await session.get(Job, uuid.UUID(error["details"]["job_id"]))
    assert job is not None
    assert job.kind == "tag.sync_from_wecom"
    assert wecom_shape(state)[group["wecom_id"]][2][tag["wecom_id"]][0] == "黑卡"  # WeCom has it ...
    assert (await local_shape(session, tenant))[group["wecom_id"]][2][tag["wecom_id"]][
        0
    ] == "金卡"  # ... we do not
    assert (await _actions(session, tenant))[-1] == ("tag.renamed", "failure")

    monkeypatch.undo()
    await service.sync_from_wecom(session, TenantContext.system(id_of(tenant)))  # what the job does
    await assert_in_step(session, tenant, state)


async def test_a_local_failure_on_create_is_reconciled(
    synced: httpx.AsyncClient,
    session: AsyncSession,
    tenant: Tenant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _, _ = emulator

    async def broken(self: object, fetched: object) -> None:
        raise RuntimeError("constraint")

    monkeypatch.setattr(service.Mirror, "apply_group", broken)
    response = await synced.post("/api/v1/tag-groups", json={"name": "新组", "tags": [{"name": "一"}]})
    assert response.json()["error"]["code"] == "tag.reconcile_pending"
    assert len(wecom_shape(state)) == 3
    assert len(await local_shape(session, tenant)) == 2
    monkeypatch.undo()
    await service.sync_from_wecom(session, TenantContext.system(id_of(tenant)))
    await assert_in_step(session, tenant, state)


# --- the permission hook ------------------------------------------------------------------------------


async def test_the_permission_hook_decides(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    group = await _create(synced)
    seen: list[object] = []

    async def only_new_groups(session: AsyncSession, ctx: TenantContext, group: TagGroup | None) -> bool:
        seen.append(group)
        return group is None

    service.set_permission_check(only_new_groups)
    before = wecom_shape(state)
    response = await synced.patch(f"/api/v1/tag-groups/{group['id']}", json={"name": "不行"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "tag.forbidden")
    assert wecom_shape(state) == before
    assert (
        await synced.post("/api/v1/tag-groups", json={"name": "可以", "tags": [{"name": "a"}]})
    ).status_code == 201
    assert seen[-1] is None


def test_plan_order_changes_as_little_as_possible() -> None:
    assert service.plan_order([30, 20, 10], [1, 1, 1]) == [30, 20, 10]
    planned = service.plan_order([10, 30, 20], [1, 1, 1])
    assert planned[1:] == [30, 20]
    assert planned[0] > 30
    heavy = service.plan_order([0, 1000, 990], [1, 1000, 1000])
    assert heavy[1:] == [1000, 990]
    assert heavy[0] > 1000
    same = service.plan_order([0, 0, 0], [1, 1, 1])
    assert same[0] > same[1] > same[2] >= 0
    assert all(0 <= o < 2**32 for o in service.plan_order([5] * 50, [1] * 50))
