"""``huike keys rotate``: a new key version for every scope, every encrypted column re-encrypted in
batches, resumable after an interruption, old and new keys both decrypting until old ones retire."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from huike.config import Settings
from huike.core.db import Base, Database
from huike.security.blind_index import blind_index_match
from huike.security.crypto import Ciphertext, parse
from huike.security.errors import DecryptionFailed
from huike.security.keys import (
    EncryptionKey,
    KeyFamily,
    KeyRing,
    KeyRotation,
    KeyState,
    set_keyring,
    warm_keys,
)
from huike.security.kms import MASTER_KEY_ENV, LocalKeyProvider
from huike.security.rotation import rotate_keys, targets
from huike.tenant.models import Tenant
from tests.security.models import SecretAccount, SecretBase, SecretContact
from tests.security.support import dump_text, flip_bit, raw_rows

METADATA = [Base.metadata, SecretBase.metadata]
NOTES = ["张三住在北京", "VIP 客户", "喜欢喝茶"]


@pytest_asyncio.fixture
async def db(clean_db: Database) -> Database:
    async with clean_db.engine.begin() as conn:
        await conn.run_sync(SecretBase.metadata.create_all)
        for table in reversed(SecretBase.metadata.sorted_tables):
            await conn.execute(table.delete())
    return clean_db


def phone(i: int) -> str:
    return f"1380013{i:04d}"


async def seed(db: Database, per_tenant: int = 7) -> tuple[list[uuid.UUID], dict[uuid.UUID, str]]:
    """Two tenants' contacts and some platform accounts; returns tenant ids and row id → phone."""
    async with db.sessionmaker() as session:
        tenants = [Tenant(name="甲"), Tenant(name="乙")]
        session.add_all(tenants)
        await session.flush()
        rows: list[SecretContact | SecretAccount] = []
        n = 0
        for tenant in tenants:
            for _ in range(per_tenant):
                rows.append(
                    SecretContact(tenant_id=tenant.id, phone=phone(n), note=NOTES[n % 3], label=str(n))
                )
                n += 1
        for _ in range(3):
            rows.append(SecretAccount(phone=phone(n)))
            n += 1
        session.add_all(rows)
        await session.commit()
        expected = {row.id: value for row in rows if (value := row.phone) is not None}
        return [tenant.id for tenant in tenants], expected


async def read_all(db: Database, tenant_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    async with db.read_sessionmaker() as session:
        for tenant_id in [*tenant_ids, None]:
            await warm_keys(session, tenant_id)
        contacts = (await session.execute(select(SecretContact))).scalars().all()
        accounts = (await session.execute(select(SecretAccount))).scalars().all()
        return {row.id: row.phone for row in [*contacts, *accounts]}


async def stored_versions(session: AsyncSession, table: str, column_index: int) -> set[int]:
    return {parse(row[column_index])[0] for row in await raw_rows(session, table) if row[column_index]}


async def key_rows(db: Database, family: KeyFamily) -> list[EncryptionKey]:
    async with db.read_sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(EncryptionKey)
                    .where(EncryptionKey.family == family)
                    .order_by(EncryptionKey.scope, EncryptionKey.version)
                )
            ).scalars()
        )


def test_rotation_finds_encrypted_columns_by_their_marker() -> None:
    found = {(t.table.name, column.name) for t in targets(METADATA) for column, _ in t.encrypted}
    test_tables = {pair for pair in found if pair[0].startswith("test_secret_")}
    assert test_tables == {
        ("test_secret_contacts", "phone"),
        ("test_secret_contacts", "note"),
        ("test_secret_accounts", "phone"),
        ("test_secret_accounts", "api_secret"),
    }
    # the product's own encrypted columns are found the same way
    assert ("wecom_connections", "app_secret") in found


async def test_rotation_re_encrypts_everything_and_retires_old_keys(db: Database) -> None:
    tenant_ids, expected = await seed(db)
    report = await rotate_keys(db.sessionmaker, metadata=METADATA, batch_size=3)
    assert report.finished
    assert not report.resumed
    assert report.new_versions == 3  # two tenants and the platform
    assert report.rows_rewritten == len(expected)
    assert report.retired == 3

    keys = await key_rows(db, KeyFamily.data)
    assert {(key.version, key.state) for key in keys} == {(1, KeyState.retired), (2, KeyState.active)}
    assert all(key.wrapped is None and key.retired_at is not None for key in keys if key.version == 1)
    index_keys = await key_rows(db, KeyFamily.blind_index)
    assert {(key.version, key.state) for key in index_keys} == {(1, KeyState.active)}  # not rotated

    async with db.read_sessionmaker() as session:
        assert await stored_versions(session, "test_secret_contacts", 3) == {2}
        assert await stored_versions(session, "test_secret_contacts", 5) == {2}
        assert await stored_versions(session, "test_secret_accounts", 1) == {2}
        dump = "\n".join(
            [dump_text(await raw_rows(session, table.name)) for table in [*Base.metadata.sorted_tables]]
            + [
                dump_text(await raw_rows(session, name))
                for name in ("test_secret_contacts", "test_secret_accounts")
            ]
        )
    for value in [*expected.values(), *NOTES, "+86138001300"]:
        assert value not in dump
    assert await read_all(db, tenant_ids) == expected

    async with db.read_sessionmaker() as session:
        rotation = (await session.execute(select(KeyRotation))).scalar_one()
        assert rotation.status == "done"
        assert rotation.finished_at is not None


class Interrupt(Exception):
    pass


class StopAfter:
    def __init__(self, batches: int) -> None:
        self.left = batches

    def table_started(self, table: str, total: int) -> None:
        pass

    def batch_done(self, table: str, scanned: int, rewritten: int) -> None:
        self.left -= 1
        if self.left == 0:
            raise Interrupt()


async def test_an_interrupted_rotation_resumes_and_leaves_every_row_readable(db: Database) -> None:
    tenant_ids, expected = await seed(db)
    with pytest.raises(Interrupt):
        await rotate_keys(db.sessionmaker, metadata=METADATA, batch_size=4, observer=StopAfter(2))

    # mid-way: some rows under v1, some under v2, and every one of them reads
    async with db.read_sessionmaker() as session:
        versions = await stored_versions(session, "test_secret_contacts", 3) | await stored_versions(
            session, "test_secret_accounts", 1
        )
        rotation = (await session.execute(select(KeyRotation))).scalar_one()
    assert versions == {1, 2}
    assert rotation.status == "running"
    assert await read_all(db, tenant_ids) == expected

    # rows written meanwhile use the new key
    async with db.sessionmaker() as session:
        late = SecretContact(tenant_id=tenant_ids[0], phone=phone(99), note="新")
        session.add(late)
        await session.commit()
    expected[late.id] = phone(99)

    report = await rotate_keys(db.sessionmaker, metadata=METADATA, batch_size=4)
    assert report.resumed
    assert report.finished
    assert report.new_versions == 0  # resuming adds no version
    keys = await key_rows(db, KeyFamily.data)
    assert sorted(
        (key.scope, key.version, key.state) for key in keys if key.state != KeyState.retired
    ) == sorted((scope, 2, KeyState.active) for scope in {key.scope for key in keys})
    async with db.read_sessionmaker() as session:
        assert await stored_versions(session, "test_secret_contacts", 3) == {2}
        assert await stored_versions(session, "test_secret_accounts", 1) == {2}
        dump = dump_text(await raw_rows(session, "test_secret_contacts")) + dump_text(
            await raw_rows(session, "test_secret_accounts")
        )
    assert not any(value in dump for value in [*expected.values(), *NOTES])
    assert await read_all(db, tenant_ids) == expected

    # the next rotation starts a new run with version 3
    again = await rotate_keys(db.sessionmaker, metadata=METADATA)
    assert not again.resumed
    assert again.new_versions == 3
    assert await read_all(db, tenant_ids) == expected


async def test_rotating_index_keys_recomputes_indexes_and_lookups_keep_working(db: Database) -> None:
    tenant_ids, expected = await seed(db, per_tenant=4)
    contact_id, contact_phone = next(
        (row_id, value) for row_id, value in expected.items() if value == phone(0)
    )

    async def lookup() -> list[uuid.UUID]:
        async with db.read_sessionmaker() as session:
            clause = await blind_index_match(
                session, SecretContact.phone_index, "+86 " + contact_phone, tenant_id=tenant_ids[0]
            )
            return list((await session.execute(select(SecretContact.id).where(clause))).scalars())

    assert await lookup() == [contact_id]
    with pytest.raises(Interrupt):
        await rotate_keys(
            db.sessionmaker,
            metadata=METADATA,
            families=[KeyFamily.blind_index],
            batch_size=2,
            observer=StopAfter(1),
        )
    assert await lookup() == [contact_id]  # old and new index versions both match
    report = await rotate_keys(
        db.sessionmaker, metadata=METADATA, families=[KeyFamily.blind_index], batch_size=2
    )
    assert report.finished
    assert report.resumed
    async with db.read_sessionmaker() as session:
        assert await stored_versions(session, "test_secret_contacts", 3) == {1}  # data keys untouched
        indexes = {row[4].partition(":")[0] for row in await raw_rows(session, "test_secret_contacts")}
    assert indexes == {"v2"}
    assert await lookup() == [contact_id]
    assert await read_all(db, tenant_ids) == expected


async def test_rotation_rewraps_data_keys_under_a_new_master_key(
    db: Database, master_keys: dict[int, bytes]
) -> None:
    tenant_ids, expected = await seed(db, per_tenant=2)
    new_master = os.urandom(32)
    set_keyring(KeyRing(LocalKeyProvider({**master_keys, 2: new_master})))
    report = await rotate_keys(db.sessionmaker, metadata=METADATA)
    assert report.finished
    assert report.rewrapped == 6  # data v1 and index v1 of three scopes
    live = [
        key for family in KeyFamily for key in await key_rows(db, family) if key.state != KeyState.retired
    ]
    assert {key.kek_id for key in live} == {"local:v2"}
    # the old master key can now be dropped: a ring with only the new one reads everything
    set_keyring(KeyRing(LocalKeyProvider({2: new_master})))
    assert await read_all(db, tenant_ids) == expected


async def test_a_row_that_does_not_decrypt_stops_the_rotation_without_retiring(db: Database) -> None:
    _tenant_ids, expected = await seed(db, per_tenant=2)
    target = next(iter(expected))
    async with db.sessionmaker() as session:
        table = SecretContact.__table__
        stored = (await session.execute(select(table.c.phone).where(table.c.id == target))).scalar_one()
        if stored is not None:
            await session.execute(
                update(table).where(table.c.id == target).values(phone=Ciphertext(flip_bit(stored)))
            )
        await session.commit()
    with pytest.raises(DecryptionFailed) as caught:
        await rotate_keys(db.sessionmaker, metadata=METADATA)
    assert caught.value.details["row"] == str(target)
    keys = await key_rows(db, KeyFamily.data)
    assert KeyState.retired not in {key.state for key in keys}
    async with db.read_sessionmaker() as session:
        rotation = (await session.execute(select(KeyRotation))).scalar_one()
    assert rotation.status == "running"
    assert rotation.error == "crypto.decryption_failed"


async def test_cli_status_and_rotate(
    db: Database, master_keys: dict[int, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huike.security import cli

    tenant_ids, _expected = await seed(db, per_tenant=2)
    settings = Settings(env="test", data_dir=tmp_path, database_url=db.url, redis_url=None)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setenv(
        MASTER_KEY_ENV, ",".join(f"v{v}:{base64.b64encode(k).decode()}" for v, k in master_keys.items())
    )
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(cli.keys_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    status = await asyncio.to_thread(invoke, "status")
    assert "data" in status
    assert "active" in status
    output = await asyncio.to_thread(invoke, "rotate", "--batch-size", "2")
    assert "done" in output
    status = await asyncio.to_thread(invoke, "status")
    assert "retired" in status
    assert "done" in status
    assert tenant_ids
