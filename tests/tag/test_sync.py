"""Sync from WeCom: a job people watch, counts, idempotency, deletions, ordering and usage counts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job, Outbox
from huike.core.tenancy import TenantContext
from huike.tag import service
from huike.tag.models import Tag, TagGroup, TagOwner
from huike.tenant.models import Tenant
from tests.tag.conftest import assert_in_step, wecom_shape
from wecom_emulator import EmulatorState
from wecom_emulator.routes.tags import delete_tags
from wecom_emulator.seed import SeedReport

Emulator = tuple[EmulatorState, SeedReport, FastAPI]


async def test_sync_is_a_watched_job(
    connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
) -> None:
    response = await connected.post("/api/v1/tags/sync")
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["kind"], job["status"]) == ("tag.sync_from_wecom", "queued")
    again = await connected.post("/api/v1/tags/sync")
    assert again.json()["id"] == job["id"]  # one queued sync is enough
    outbox = (
        (await session.execute(select(Outbox).where(Outbox.job_id == uuid.UUID(job["id"])))).scalars().all()
    )
    assert [row.task for row in outbox] == ["tag.sync_from_wecom"]
    assert (await session.get(Job, uuid.UUID(job["id"]))) is not None


async def test_sync_needs_a_connection(logged_in: httpx.AsyncClient) -> None:
    response = await logged_in.post("/api/v1/tags/sync")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "wecom.connection_missing"


async def test_sync_counts_and_a_rerun_writes_nothing(
    connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    ctx = TenantContext.system(tenant.id)
    first = await service.sync_from_wecom(session, ctx)
    assert first["groups"] == first["groups_created"] == 2
    assert first["tags"] == first["tags_created"] == report.tags == 6
    local = await assert_in_step(session, tenant, state)
    assert len(local) == 2
    versions = {row.id: row.version for row in (await session.execute(select(Tag))).scalars()}

    second = await service.sync_from_wecom(session, ctx)
    assert second["unchanged"] == 8
    assert all(second[k] == 0 for k in second if k.endswith(("_created", "_updated", "_deleted")))
    assert not session.dirty
    assert not session.new
    assert {row.id: row.version for row in (await session.execute(select(Tag))).scalars()} == versions

    groups = (await session.execute(select(TagGroup))).scalars().all()
    assert {g.owner for g in groups} == {TagOwner.unknown}


async def test_sync_marks_what_wecom_no_longer_has_deleted(
    connected: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, report, _ = emulator
    ctx = TenantContext.system(tenant.id)
    await service.sync_from_wecom(session, ctx)
    corp = state.find_corp(report.corp_id)
    assert corp is not None
    corp_pk = corp.pk
    group = state.store.one("SELECT * FROM tag_group WHERE corp_pk = ? ORDER BY ord DESC LIMIT 1", (corp_pk,))
    one_tag = state.store.one("SELECT * FROM tag WHERE group_pk != ? LIMIT 1", (group["pk"],))
    with state.store.transaction():  # changed without a callback (a lost event)
        delete_tags(state, corp_pk, [one_tag], [group])
        state.store.conn.execute(
            "UPDATE tag SET name = '改名了' WHERE deleted = 0 AND pk = (SELECT min(pk) FROM tag WHERE deleted = 0)"
        )
    counts = await service.sync_from_wecom(session, ctx)
    assert counts["groups_deleted"] == 1
    assert counts["tags_deleted"] == 1 + 4
    assert counts["tags_updated"] == 1
    await assert_in_step(session, tenant, state)
    gone = (
        await session.execute(select(TagGroup).where(TagGroup.wecom_id == group["group_id"]))
    ).scalar_one()
    assert gone.deleted
    assert gone.deleted_at is not None


async def test_list_is_ordered_like_wecom_with_usage_counts(
    synced: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, emulator: Emulator
) -> None:
    state, _, _ = emulator
    listed = await _wecom_list(state)
    body = (await synced.get("/api/v1/tag-groups")).json()
    assert [g["wecom_id"] for g in body["items"]] == [g for g, _ in listed]
    assert [[t["wecom_id"] for t in g["tags"]] for g in body["items"]] == [tags for _, tags in listed]
    assert body["tag_count"] == 6
    assert body["tag_limit"] == 3000
    assert {t["usage"] for g in body["items"] for t in g["tags"]} == {0}  # no provider yet: zeros

    first_tag = uuid.UUID(body["items"][0]["tags"][0]["id"])

    @service.register_usage_provider
    async def customers(session: AsyncSession, ctx: TenantContext) -> Mapping[uuid.UUID, int]:
        return {first_tag: 3, uuid.uuid4(): 9}  # a dead id is ignored

    @service.register_usage_provider
    async def groups(session: AsyncSession, ctx: TenantContext) -> Mapping[uuid.UUID, int]:
        return {first_tag: 1}

    body = (await synced.get("/api/v1/tag-groups")).json()
    assert body["items"][0]["tags"][0]["usage"] == 4
    usage = await service.tag_usage(session, TenantContext.system(tenant.id))
    assert sorted(usage.values()) == [0, 0, 0, 0, 0, 4]


async def _wecom_list(state: EmulatorState) -> list[tuple[str, list[str]]]:
    shape = wecom_shape(state)
    groups = sorted(shape.items(), key=lambda item: -item[1][1])
    return [(gid, [tid for tid, _ in sorted(g[2].items(), key=lambda t: -t[1][1])]) for gid, g in groups]


async def test_other_tenants_see_nothing(
    synced: httpx.AsyncClient, session: AsyncSession, other_tenant: Tenant
) -> None:
    from huike.security.sessions import SESSION_COOKIE, start_session
    from tests.conftest import user_with_role  # reading tags needs customers.view (huike.permission)

    _, token = await start_session(
        session, other_tenant.id, await user_with_role(session, other_tenant.id, "admin")
    )
    await session.commit()
    transport = synced._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        other.cookies.set(SESSION_COOKIE, token)
        body = (await other.get("/api/v1/tag-groups")).json()
    assert body["items"] == []
    assert body["tag_count"] == 0
    assert await service.tag_usage(session, TenantContext.system(other_tenant.id)) == {}
