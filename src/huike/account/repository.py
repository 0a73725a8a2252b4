"""Queries of the account domain. Users and SMS codes are platform rows (no tenant): they are found
by the platform-wide blind index of the phone, never by a plaintext filter."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import (
    LoginThrottle,
    Membership,
    Role,
    SalesTerritory,
    SmsCode,
    User,
    WeComLoginState,
)
from huike.core.db import insert_ignore
from huike.security.blind_index import blind_index_match, blind_index_terms, compute
from huike.security.keys import KeyFamily, cached_scope_keys, scope_of, warm_keys

PLATFORM_SCOPE = scope_of(None)


async def platform_index_keys(session: AsyncSession) -> tuple[int, dict[int, bytes]]:
    """The platform's blind-index keys (active version, all live versions), created on first use."""
    keys = cached_scope_keys(session.sync_session, PLATFORM_SCOPE, KeyFamily.blind_index)
    if keys is None or keys.active is None:
        await warm_keys(session, None, families=(KeyFamily.blind_index,), create=True)
        keys = cached_scope_keys(session.sync_session, PLATFORM_SCOPE, KeyFamily.blind_index)
    assert keys is not None
    assert keys.active is not None
    return keys.active, keys.keys


async def pseudonym(session: AsyncSession, kind: str, value: str) -> str:
    """``v{n}:`` + HMAC-SHA256 of ``kind|value`` under the platform's active index key."""
    active, keys = await platform_index_keys(session)
    return compute(keys[active], active, kind, value)


async def phone_pseudonym(session: AsyncSession, phone_e164: str) -> str:
    """The blind index the phone has (or would have) on ``users`` under the active key version."""
    active, keys = await platform_index_keys(session)
    return compute(keys[active], active, "phone", phone_e164)


# --- users ---------------------------------------------------------------------------------------


async def user_by_phone(session: AsyncSession, phone_e164: str) -> User | None:
    await warm_keys(session, None)
    match = await blind_index_match(session, User.phone_index, phone_e164)
    return (await session.execute(select(User).where(match))).scalars().first()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    await warm_keys(session, None)
    return await session.get(User, user_id)


async def user_by_wecom(session: AsyncSession, corp_id: str, userid: str) -> User | None:
    await warm_keys(session, None)
    match = await blind_index_match(session, User.wecom_userid_index, userid)
    return (await session.execute(select(User).where(User.wecom_corp_id == corp_id, match))).scalars().first()


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Membership]:
    """The user's memberships: creator first, then admin, then member; oldest first within a role."""
    rows = (await session.execute(select(Membership).where(Membership.user_id == user_id))).scalars().all()
    order = {Role.creator: 0, Role.admin: 1, Role.member: 2}
    return sorted(rows, key=lambda m: (order.get(Role(m.role), 9), m.created_at))


async def membership(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    return (
        await session.execute(
            select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
        )
    ).scalar_one_or_none()


async def memberships_in(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> Sequence[Membership]:
    wanted = list(set(user_ids))
    if not wanted:
        return []
    statement = select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id.in_(wanted))
    return (await session.execute(statement)).scalars().all()


# --- SMS codes -----------------------------------------------------------------------------------


async def sms_phone_terms(session: AsyncSession, phone_e164: str) -> list[str]:
    return await blind_index_terms(session, SmsCode.phone_index, phone_e164)


async def latest_sms_code(
    session: AsyncSession, terms: list[str], purpose: str | None = None, *, lock: bool = False
) -> SmsCode | None:
    await warm_keys(session, None)
    statement = select(SmsCode).where(SmsCode.phone_index.in_(terms))
    if purpose is not None:
        statement = statement.where(SmsCode.purpose == purpose)
    statement = statement.order_by(SmsCode.created_at.desc()).limit(1)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def count_sms_by_phone(session: AsyncSession, terms: list[str], since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(SmsCode.phone_index.in_(terms), SmsCode.created_at >= since)
        )
        or 0
    )


async def count_sms_by_ip(session: AsyncSession, ip_hash: str, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(SmsCode.ip_hash == ip_hash, SmsCode.created_at >= since)
        )
        or 0
    )


async def active_sms_codes(session: AsyncSession, terms: list[str], purpose: str) -> Sequence[SmsCode]:
    await warm_keys(session, None)
    return (
        (
            await session.execute(
                select(SmsCode).where(
                    SmsCode.phone_index.in_(terms), SmsCode.purpose == purpose, SmsCode.status == "active"
                )
            )
        )
        .scalars()
        .all()
    )


# --- throttles -----------------------------------------------------------------------------------


async def throttle(session: AsyncSession, kind: str, key: str) -> LoginThrottle:
    """The throttle row of (kind, key), created if missing, locked for this transaction."""
    await session.execute(
        insert_ignore(session, LoginThrottle, ["kind", "key"]).values(
            id=uuid.uuid4(), kind=kind, key=key, failures=0
        )
    )
    return (
        await session.execute(
            select(LoginThrottle)
            .where(LoginThrottle.kind == kind, LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


# --- sales territories ---------------------------------------------------------------------------


async def territory(session: AsyncSession, region: str) -> SalesTerritory | None:
    return (
        await session.execute(select(SalesTerritory).where(SalesTerritory.region == region))
    ).scalar_one_or_none()


# --- WeCom login ---------------------------------------------------------------------------------


async def wecom_state(session: AsyncSession, state_hash: str) -> WeComLoginState | None:
    return (
        await session.execute(
            select(WeComLoginState).where(WeComLoginState.state_hash == state_hash).with_for_update()
        )
    ).scalar_one_or_none()


async def connection_by_corp(session: AsyncSession, corp_id: str) -> tuple[uuid.UUID, int] | None:
    """(tenant id, agent id) of the tenant that connected ``corp_id``. A column query (no secrets are
    read); it belongs in the WeCom domain's service and moves there with its next change."""
    from huike.wecom.models import WeComConnection

    row = (
        await session.execute(
            select(WeComConnection.tenant_id, WeComConnection.agent_id).where(
                WeComConnection.corp_id == corp_id
            )
        )
    ).first()
    return None if row is None else (row[0], int(row[1]))
