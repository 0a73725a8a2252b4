"""F3 blind index: HMAC-SHA256 of the E.164 phone, platform-wide for accounts, per tenant for contacts."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.security.blind_index import (
    BlindIndexSpec,
    blind_index_match,
    blind_index_terms,
    compute,
    normalise_phone,
)
from huike.security.errors import InvalidPhoneNumber
from huike.tenant.models import Tenant
from tests.security.models import SecretAccount, SecretContact
from tests.security.support import raw_rows

SAME_NUMBER = [
    "+86 138 0013 8000",
    "+86 13800138000",
    "+8613800138000",
    "+86-138-0013-8000",
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    " 138 0013 8000 ",
    "0086 138 0013 8000",
    "008613800138000",
    "0086-138-0013-8000",
    "(+86) 138 0013 8000",
]


@pytest.mark.parametrize("written", SAME_NUMBER)
def test_mainland_numbers_normalise_to_e164(written: str) -> None:
    assert normalise_phone(written) == "+8613800138000"


def test_foreign_and_landline_numbers_keep_their_country() -> None:
    assert normalise_phone("+852 9123 4567") == "+85291234567"
    assert normalise_phone("010 6552 9988") == "+861065529988"


@pytest.mark.parametrize("bad", ["12345678901", "138", "", "not a phone", "+86 000 0000 0000"])
def test_invalid_numbers_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone(bad)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([" ", "-", ""]), min_size=10, max_size=10))
def test_any_spacing_gives_the_same_index(separators: list[str]) -> None:
    digits = "13800138000"
    written = digits[0] + "".join(sep + d for sep, d in zip(separators, digits[1:], strict=True))
    spec = BlindIndexSpec(source="phone", kind="phone", scope=None)
    key = bytes(32)
    assert compute(key, 1, "phone", spec.normalise(written)) == compute(key, 1, "phone", "+8613800138000")


async def test_every_spelling_finds_the_same_contact(secret_session: AsyncSession, tenant: Tenant) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, phone="138 0013 8000")
    session.add(row)
    await session.flush()
    [stored] = await raw_rows(session, "test_secret_contacts")
    assert str(stored[4]).startswith("v1:")
    assert "13800138000" not in str(stored[4])
    terms = {
        tuple(await blind_index_terms(session, SecretContact.phone_index, written, tenant_id=tenant.id))
        for written in SAME_NUMBER
    }
    assert terms == {(row.phone_index,)}
    for written in SAME_NUMBER:
        clause = await blind_index_match(session, SecretContact.phone_index, written, tenant_id=tenant.id)
        found = (await session.execute(select(SecretContact.id).where(clause))).scalars().all()
        assert found == [row.id]


async def test_contact_indexes_are_keyed_per_tenant(
    secret_session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    session = secret_session
    mine = SecretContact(tenant_id=tenant.id, phone="13800138000")
    theirs = SecretContact(tenant_id=other_tenant.id, phone="13800138000")
    session.add_all([mine, theirs])
    await session.flush()
    assert mine.phone_index != theirs.phone_index
    clause = await blind_index_match(
        session, SecretContact.phone_index, "+86 138 0013 8000", tenant_id=tenant.id
    )
    found = (
        (await session.execute(select(SecretContact.id).where(SecretContact.tenant_id == tenant.id, clause)))
        .scalars()
        .all()
    )
    assert found == [mine.id]
    with pytest.raises(ValueError, match="per tenant"):
        await blind_index_match(session, SecretContact.phone_index, "13800138000")


async def test_account_index_is_platform_wide(secret_session: AsyncSession) -> None:
    session = secret_session
    account = SecretAccount(phone="+86 139 1234 5678")
    session.add(account)
    await session.flush()
    clause = await blind_index_match(session, SecretAccount.phone_index, "139-1234-5678")
    assert (await session.execute(select(SecretAccount.id).where(clause))).scalars().all() == [account.id]


async def test_a_scope_without_index_keys_matches_nothing(secret_session: AsyncSession) -> None:
    clause = await blind_index_match(
        secret_session, SecretContact.phone_index, "13800138000", tenant_id=uuid.uuid4()
    )
    assert (await secret_session.execute(select(SecretContact.id).where(clause))).all() == []


async def test_an_invalid_phone_cannot_be_stored(secret_session: AsyncSession, tenant: Tenant) -> None:
    row = SecretContact(tenant_id=tenant.id, phone="12345678901")
    secret_session.add(row)
    with pytest.raises(InvalidPhoneNumber):
        await secret_session.flush()
    assert row.phone == "12345678901"  # the caller's value, not ciphertext
    secret_session.expunge(row)
