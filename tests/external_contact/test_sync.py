"""The full customer sync against the emulator: counts, a cheap rerun, reconciled deletions, and a
45009 storm mid-sync after which the same run resumes from its checkpoint."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.external_contact import service
from huike.external_contact.models import (
    ContactEvent,
    ContactSyncState,
    ContactTag,
    ExternalContact,
    FollowRelation,
    KeywordToken,
)
from huike.external_contact.repository import MobileRepository
from huike.external_contact.schemas import ContactFilters
from tests.external_contact.conftest import count, relation, sync_customers, wecom_follows
from wecom_emulator import EmulatorState

pytestmark = pytest.mark.usefixtures("wired")


async def test_sync_matches_wecom_and_a_rerun_writes_nothing(
    session: AsyncSession, ready: uuid.UUID, emulator: tuple[EmulatorState, object, object]
) -> None:
    state = emulator[0]
    follows = wecom_follows(state)
    stats = await sync_customers(session, ready)
    customers = {f["external_userid"] for f in follows}
    assert stats["contacts_created"] == len(customers) == stats["contacts"]
    assert stats["relations_created"] == len(follows)
    assert await count(session, ExternalContact, ExternalContact.tenant_id == ready) == len(customers)
    assert await count(session, FollowRelation, FollowRelation.tenant_id == ready) == len(follows)
    live = {r["tag_id"] for r in state.store.all("SELECT tag_id FROM tag WHERE deleted = 0")}
    links = sum(len([t for t in f["tag_ids"].split(",") if t in live]) for f in follows)
    assert await count(session, ContactTag, ContactTag.tenant_id == ready) == links
    assert await count(session, KeywordToken, KeywordToken.tenant_id == ready) > 0

    events = await count(session, ContactEvent, ContactEvent.tenant_id == ready)
    stamps = sorted(
        (
            await session.execute(select(FollowRelation.updated_at).where(FollowRelation.tenant_id == ready))
        ).scalars()
    )
    again = await sync_customers(session, ready)
    assert again.get("contacts_created", 0) == again.get("contacts_updated", 0) == 0
    assert again.get("relations_created", 0) == again.get("relations_updated", 0) == 0
    assert await count(session, ContactEvent, ContactEvent.tenant_id == ready) == events
    after = sorted(
        (
            await session.execute(select(FollowRelation.updated_at).where(FollowRelation.tenant_id == ready))
        ).scalars()
    )
    assert after == stamps


async def test_relations_gone_from_wecom_are_removed_after_a_complete_pass(
    session: AsyncSession, customers: uuid.UUID, emulator: tuple[EmulatorState, object, object]
) -> None:
    state = emulator[0]
    gone = wecom_follows(state)[0]
    state.store.conn.execute("DELETE FROM follow WHERE pk = ?", (gone["pk"],))  # no callback sent
    stats = await sync_customers(session, customers)
    assert stats["relations_removed"] == 1
    row = await relation(session, customers, gone["external_userid"], gone["userid"])
    assert row.status == "removed"


async def test_a_45009_storm_mid_sync_resumes_without_losing_progress(
    session: AsyncSession, ready: uuid.UUID, emulator: tuple[EmulatorState, object, object]
) -> None:
    state = emulator[0]
    follows = wecom_follows(state)
    run_id = uuid.uuid4()
    ctx = TenantContext.system(ready)
    checkpoints = 0

    async def checkpoint() -> None:
        nonlocal checkpoints
        checkpoints += 1
        await session.commit()
        if checkpoints == 3:  # after the listing and two pages: more 45009s than the client retries
            state.faults.inject("externalcontact/batch/get_by_user", 45009, times=3)

    with pytest.raises(Exception, match="rate"):
        await service.sync_from_wecom(session, ctx, run_id, checkpoint=checkpoint, page_limit=10)
    saved = (
        await session.execute(select(ContactSyncState).where(ContactSyncState.tenant_id == ready))
    ).scalar_one()
    assert saved.phase == "pages"
    kept = await count(session, FollowRelation, FollowRelation.tenant_id == ready)
    assert 0 < kept < len(follows)
    # the retry of the same run (the token was revoked meanwhile: refreshed once on the way)
    state.revoke_tokens(state.store.scalar("SELECT corp_id FROM corp LIMIT 1"))
    stats = await service.sync_from_wecom(session, ctx, run_id, page_limit=10)
    await session.commit()
    assert stats["relations_created"] == len(follows)
    assert await count(session, FollowRelation, FollowRelation.tenant_id == ready) == len(follows)
    assert stats.get("relations_removed", 0) == 0


async def test_rows_the_sync_inserts_in_bulk_read_back_decrypted_and_indexed(
    session: AsyncSession,
    ready: uuid.UUID,
    emulator: tuple[EmulatorState, object, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "ANALYZE_AFTER", 1)  # PostgreSQL: the statistics refresh runs too
    state = emulator[0]
    state.store.conn.execute(
        "UPDATE follow SET remark = '蠡鼋鼍 客户', remark_mobiles = '[\"138 0013 8000\"]' WHERE pk = ?",
        (wecom_follows(state)[0]["pk"],),
    )
    follow = wecom_follows(state)[0]
    await sync_customers(session, ready)
    session.expunge_all()
    row = await relation(session, ready, follow["external_userid"], follow["userid"])
    assert row.remark == "蠡鼋鼍 客户"
    mobiles = await MobileRepository(session, TenantContext.system(ready)).of_follows([row.id])
    assert [m.mobile for m in mobiles[row.id]] == ["138 0013 8000"]
    assert mobiles[row.id][0].mobile_index is not None
    page = await service.list_contacts(
        session, TenantContext.system(ready), ContactFilters(keyword="蠡鼋鼍"), limit=50, cursor=None
    )
    assert [c.id for c in page.items] == [row.contact_id]
