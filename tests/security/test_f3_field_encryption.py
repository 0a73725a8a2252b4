"""F3 field encryption: AES-256-GCM values bound to tenant, table, column and row; one-line ORM columns
that never let plaintext reach the database or the logs."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, inspect, select, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.i18n import translate
from huike.security.crypto import (
    Ciphertext,
    FieldContext,
    decrypt_value,
    encrypt_value,
    looks_encrypted,
    parse,
)
from huike.security.errors import (
    DecryptionFailed,
    KeysNotLoaded,
    MalformedCiphertext,
    UnknownKeyVersion,
)
from huike.security.fields import KEYS_LATER, sealed_rows
from huike.security.keys import EncryptionKey, KeyFamily, forget_keys, warm_keys
from huike.tenant.models import Tenant
from tests.security.models import SecretAccount, SecretContact
from tests.security.support import PHONES, dump_text, flip_bit, raw_rows, truncate_blob

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
WHERE = FieldContext(uuid.UUID(int=7), "members", "phone", str(uuid.UUID(int=9)))


# --- the primitive ---------------------------------------------------------------------------------


def test_stored_format_is_version_then_base64_of_nonce_ciphertext_tag() -> None:
    value = encrypt_value("13800138000", KEY, 3, WHERE)
    assert isinstance(value, Ciphertext)
    assert value.startswith("v3:")
    assert looks_encrypted(value)
    version, blob = parse(value)
    assert version == 3
    assert len(blob) == 12 + len("13800138000") + 16
    assert "13800138000" not in value
    assert encrypt_value("13800138000", KEY, 3, WHERE) != value  # random nonce


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_of_any_unicode(plaintext: str) -> None:
    value = encrypt_value(plaintext, KEY, 1, WHERE)
    assert decrypt_value(value, {1: KEY}.get, WHERE) == plaintext


@settings(max_examples=100, deadline=None)
@given(
    st.text(min_size=1),
    st.sampled_from(["tenant", "table", "column", "row"]),
)
def test_any_other_place_does_not_authenticate(plaintext: str, change: str) -> None:
    value = encrypt_value(plaintext, KEY, 1, WHERE)
    elsewhere = FieldContext(
        uuid.UUID(int=8) if change == "tenant" else WHERE.tenant_id,
        "contacts" if change == "table" else WHERE.table,
        "mobile" if change == "column" else WHERE.column,
        str(uuid.UUID(int=10)) if change == "row" else WHERE.row_pk,
    )
    with pytest.raises(DecryptionFailed) as caught:
        decrypt_value(value, {1: KEY}.get, elsewhere)
    assert caught.value.details == elsewhere.details(1)


def test_platform_values_bind_no_tenant() -> None:
    platform = FieldContext(None, "accounts", "phone", "1")
    assert platform.aad() == b"-|accounts|phone|1"
    value = encrypt_value("x", KEY, 1, platform)
    with pytest.raises(DecryptionFailed):
        decrypt_value(value, {1: KEY}.get, FieldContext(uuid.UUID(int=0), "accounts", "phone", "1"))


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (flip_bit, DecryptionFailed),
        (lambda v: flip_bit(v, position=0), DecryptionFailed),  # in the nonce
        (lambda v: flip_bit(v, position=-1), DecryptionFailed),  # in the tag
        (truncate_blob, DecryptionFailed),
        (lambda v: v[:-5], MalformedCiphertext),
        (lambda v: "v1:" + v.partition(":")[2][:16], MalformedCiphertext),  # shorter than nonce + tag
        (lambda v: v.partition(":")[2], MalformedCiphertext),  # no version
        (lambda v: "v2:" + v.partition(":")[2], UnknownKeyVersion),
        (lambda v: "v0:" + v.partition(":")[2], MalformedCiphertext),
        (lambda v: "13800138000", MalformedCiphertext),
    ],
)
def test_tampered_values_fail_with_typed_errors(tamper: object, error: type[DecryptionFailed]) -> None:
    value = encrypt_value("13800138000", KEY, 1, WHERE)
    with pytest.raises(error) as caught:
        decrypt_value(tamper(value), {1: KEY}.get, WHERE)  # type: ignore[operator]
    assert caught.value.details["table"] == "members"
    assert caught.value.details["column"] == "phone"
    assert caught.value.details["row"] == WHERE.row_pk
    assert "13800138000" not in caught.value.message()


def test_a_wrong_key_under_the_right_version_fails() -> None:
    value = encrypt_value("x", KEY, 1, WHERE)
    with pytest.raises(DecryptionFailed):
        decrypt_value(value, {1: OTHER_KEY}.get, WHERE)


def test_error_messages_name_the_place_in_both_languages() -> None:
    details = WHERE.details(4)
    assert "members.phone" in translate("crypto.decryption_failed", "en", **details)
    assert "密钥版本 4" in translate("crypto.unknown_key_version", "zh-CN", **details)


# --- the ORM column --------------------------------------------------------------------------------


async def _reload(session: AsyncSession, tenant_id: uuid.UUID | None) -> list[SecretContact]:
    session.expunge_all()
    await warm_keys(session, tenant_id)
    return list((await session.execute(select(SecretContact).order_by(SecretContact.label))).scalars())


async def test_round_trip_through_the_orm(secret_session: AsyncSession, tenant: Tenant) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, label="a", phone="138 0013 8000", note="客户很重要 🎉")
    session.add(row)
    await session.flush()
    assert row.phone == "138 0013 8000"  # plaintext again after the flush, and not dirty
    assert row not in session.dirty
    [stored] = await raw_rows(session, "test_secret_contacts")
    assert "13800138000" not in dump_text([stored])
    assert "138 0013 8000" not in dump_text([stored])
    assert "客户" not in dump_text([stored])

    [loaded] = await _reload(session, tenant.id)
    assert (loaded.phone, loaded.note) == ("138 0013 8000", "客户很重要 🎉")
    assert loaded not in session.dirty

    loaded.note = "改了"
    loaded.phone = None
    await session.flush()
    [again] = await _reload(session, tenant.id)
    assert (again.phone, again.note, again.phone_index) == (None, "改了", None)


async def test_rows_sealed_for_a_bulk_insert_read_like_flushed_ones(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    session = secret_session
    await warm_keys(session, tenant.id)
    flushed = SecretContact(tenant_id=tenant.id, label="a", phone="138 0013 8000", note="由 ORM 写入")
    session.add(flushed)
    await session.flush()
    bulk = [
        SecretContact(tenant_id=tenant.id, label="b", phone="138 0013 8000", note="批量写入"),
        SecretContact(tenant_id=tenant.id, label="c", phone=None, note=None),
    ]
    rows = sealed_rows(session.sync_session, SecretContact, bulk)
    assert bulk[0].phone == "138 0013 8000"
    assert bulk[0] not in session
    assert all(isinstance(r["note"], Ciphertext) for r in rows[:1])
    assert rows[1]["note"] is None
    await session.execute(insert(cast(Table, SecretContact.__table__)), rows)
    stored = dump_text(await raw_rows(session, "test_secret_contacts"))
    # whole values only: a short fragment like "138" turns up in random UUIDs and base64
    assert "13800138000" not in stored
    assert "138 0013 8000" not in stored
    assert "批量" not in stored

    a, b, c = await _reload(session, tenant.id)
    assert (b.id, b.phone, b.note) == (bulk[0].id, "138 0013 8000", "批量写入")
    assert b.phone_index == a.phone_index is not None  # found by the same blind-index lookup
    assert (c.phone, c.note, c.phone_index) == (None, None, None)


async def test_only_a_changed_value_is_encrypted_again(secret_session: AsyncSession, tenant: Tenant) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, phone="13800138000")
    session.add(row)
    await session.flush()
    first = (await raw_rows(session, "test_secret_contacts"))[0]
    row.phone = "13800138000"  # same value: nothing to write
    row.label = "touched"
    await session.flush()
    second = (await raw_rows(session, "test_secret_contacts"))[0]
    assert (first[3], first[4]) == (second[3], second[4])
    row.phone = "+86 139 1234 5678"
    await session.flush()
    third = (await raw_rows(session, "test_secret_contacts"))[0]
    assert third[3] != second[3]
    assert third[4] != second[4]
    [loaded] = await _reload(session, tenant.id)
    assert loaded.phone == "+86 139 1234 5678"


async def test_platform_rows_use_the_platform_keys(secret_session: AsyncSession) -> None:
    session = secret_session
    account = SecretAccount(phone="13800138000")
    session.add(account)
    await session.flush()
    keys = (
        (await session.execute(select(EncryptionKey).where(EncryptionKey.scope == "platform")))
        .scalars()
        .all()
    )
    assert {(key.family, key.tenant_id) for key in keys} == {("data", None), ("index", None)}
    assert all(key.wrapped is not None and b"13800138000" not in key.wrapped for key in keys)
    session.expunge_all()
    await warm_keys(session, None)
    loaded = await session.get_one(SecretAccount, account.id)
    assert loaded.phone == "13800138000"


async def test_each_tenant_has_its_own_data_key(
    secret_session: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    session = secret_session
    session.add_all(
        [
            SecretContact(tenant_id=tenant.id, phone=PHONES[0]),
            SecretContact(tenant_id=other_tenant.id, phone=PHONES[0]),
        ]
    )
    await session.flush()
    keys = (
        (
            await session.execute(
                select(EncryptionKey).where(
                    EncryptionKey.tenant_id.in_([tenant.id, other_tenant.id]),
                    EncryptionKey.family == KeyFamily.data,
                )
            )
        )
        .scalars()
        .all()
    )
    assert {key.scope for key in keys} == {str(tenant.id), str(other_tenant.id)}
    assert keys[0].wrapped != keys[1].wrapped


async def _two_rows(
    session: AsyncSession, tenant_id: uuid.UUID, other_tenant_id: uuid.UUID
) -> list[SecretContact]:
    rows = [
        SecretContact(tenant_id=tenant_id, label="a", phone=PHONES[0], note="note a"),
        SecretContact(tenant_id=tenant_id, label="b", phone=PHONES[1], note="note b"),
        SecretContact(tenant_id=other_tenant_id, label="c", phone=PHONES[2], note="note c"),
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def _stored(session: AsyncSession, row_id: uuid.UUID, column: str) -> Ciphertext:
    table = SecretContact.__table__
    value = (await session.execute(select(table.c[column]).where(table.c.id == row_id))).scalar_one()
    assert isinstance(value, Ciphertext)
    return value


async def _overwrite(session: AsyncSession, row_id: uuid.UUID, column: str, value: str) -> None:
    table = SecretContact.__table__
    await session.execute(update(table).where(table.c.id == row_id).values({column: Ciphertext(value)}))


@pytest.mark.parametrize(
    "case",
    ["flipped_bit", "truncated", "malformed", "wrong_version", "other_row", "other_column", "other_tenant"],
)
async def test_tampered_rows_fail_to_load_with_typed_errors(
    secret_session: AsyncSession, tenant: Tenant, other_tenant: Tenant, case: str
) -> None:
    session = secret_session
    a, b, c = await _two_rows(session, tenant.id, other_tenant.id)
    phone_a = await _stored(session, a.id, "phone")
    expected: type[DecryptionFailed] = DecryptionFailed
    target, column = b.id, "phone"
    match case:
        case "flipped_bit":
            target, value = a.id, flip_bit(phone_a)
        case "truncated":
            target, value = a.id, truncate_blob(phone_a)
        case "malformed":
            target, value, expected = a.id, phone_a[:-3], MalformedCiphertext
        case "wrong_version":
            target, value, expected = a.id, "v9:" + phone_a.partition(":")[2], UnknownKeyVersion
        case "other_row":
            value = phone_a
        case "other_column":
            target, column, value = a.id, "note", phone_a
        case "other_tenant":
            target, value = c.id, phone_a
    await _overwrite(session, target, column, value)
    session.expunge_all()
    await warm_keys(session, tenant.id)
    await warm_keys(session, other_tenant.id)
    with structlog.testing.capture_logs() as logs, pytest.raises(expected) as caught:
        await session.get(SecretContact, target)
    assert type(caught.value) is expected
    assert caught.value.details == {
        "table": "test_secret_contacts",
        "column": column,
        "row": str(target),
        "key_version": caught.value.details["key_version"],
    }
    assert logs[-1]["event"] == "crypto.decrypt_failed"
    assert PHONES[0] not in str(logs)
    assert phone_a not in str(logs)
    # the attribute is left unloaded: never ciphertext, never an empty value
    for obj in session.identity_map.values():
        assert not isinstance(inspect(obj).dict.get(column), Ciphertext)
    # the untouched rows still read
    session.expunge_all()
    others = [row for row in (a, b, c) if row.id != target]
    for row in others:
        loaded = await session.get_one(SecretContact, row.id)
        assert loaded.phone == row.phone


async def test_reading_without_warm_keys_is_an_error_not_an_empty_value(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, phone=PHONES[0])
    session.add(row)
    await session.flush()
    session.expunge_all()
    forget_keys(session)
    with pytest.raises(KeysNotLoaded) as caught:
        await session.get(SecretContact, row.id)
    assert caught.value.details["scope"] == str(tenant.id)
    await warm_keys(session, tenant.id)
    session.expunge_all()
    assert (await session.get_one(SecretContact, row.id)).phone == PHONES[0]


async def test_plaintext_cannot_be_bound_to_an_encrypted_column(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, phone=PHONES[0])
    session.add(row)
    await session.flush()
    table = SecretContact.__table__
    with pytest.raises(StatementError, match="only takes ciphertext"):
        await session.execute(update(table).values(phone="13800138000"))
    with pytest.raises(StatementError, match="only takes ciphertext"):
        await session.execute(select(SecretContact.id).where(SecretContact.phone == "13800138000"))


async def test_a_failed_flush_gives_the_caller_its_plaintext_back(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    session = secret_session
    await session.commit()
    duplicate_id = uuid.uuid4()
    session.add(SecretContact(id=duplicate_id, tenant_id=tenant.id, phone=PHONES[0]))
    await session.commit()
    clash = SecretContact(id=duplicate_id, tenant_id=tenant.id, phone=PHONES[1])
    session.add(clash)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate|identity"):
        await session.flush()
    await session.rollback()
    assert clash.phone == PHONES[1]


async def test_nothing_personal_reaches_the_logs(
    secret_session: AsyncSession, tenant: Tenant, capfd: pytest.CaptureFixture[str]
) -> None:
    session = secret_session
    with structlog.testing.capture_logs() as logs:
        row = SecretContact(tenant_id=tenant.id, phone=PHONES[3], note="张三的地址")
        session.add(row)
        await session.flush()
        loaded = (await _reload(session, tenant.id))[0]
        loaded.phone = PHONES[2]
        await session.flush()
    out, err = capfd.readouterr()
    text = str(logs) + out + err
    for secret in (PHONES[3], PHONES[2], "张三"):
        assert secret not in text


async def test_a_lookup_before_the_tenant_is_known_can_warm_keys_afterwards(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    session = secret_session
    row = SecretContact(tenant_id=tenant.id, label="by-url-key", phone=PHONES[0], note="n")
    session.add(row)
    await session.flush()
    session.expunge_all()
    forget_keys(session)
    statement = select(SecretContact).where(SecretContact.label == "by-url-key")
    found = (await session.execute(statement.execution_options(**{KEYS_LATER: True}))).scalar_one()
    assert "phone" in inspect(found).unloaded  # neither ciphertext nor an empty value
    await warm_keys(session, found.tenant_id)
    await session.refresh(found)
    assert (found.phone, found.note) == (PHONES[0], "n")


async def test_secret_columns_are_encrypted_but_not_personal(secret_session: AsyncSession) -> None:
    session = secret_session
    account = SecretAccount(phone=None, api_secret="s3cr3t-corp-secret")
    session.add(account)
    await session.flush()
    assert "s3cr3t" not in dump_text(await raw_rows(session, "test_secret_accounts"))
    session.expunge_all()
    await warm_keys(session, None)
    assert (await session.get_one(SecretAccount, account.id)).api_secret == "s3cr3t-corp-secret"
