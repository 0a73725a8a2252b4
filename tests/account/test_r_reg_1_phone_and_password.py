"""R-REG-1 (§一（一）1a): registration by mainland mobile number and password. The phone is parsed with
region CN, must be a valid mobile, is kept as E.164, encrypted, with a blind index; the password is
argon2id (RFC 9106 low-memory t=3, m=64 MiB, p=4), at least 8 characters, rehashed when the parameters
change.

Acceptance: "138 0013 8000", "+86 13800138000" and "+8613800138000" find the same account;
"12345678901" and the landline "010 6552 9988" are rejected; the raw row and a ``pg_dump`` contain
neither "13800138000" nor the password; hashes start with ``$argon2id$``; a hash with old parameters
is upgraded at login."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from argon2.low_level import Type
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import passwords
from huike.account.models import Membership, Registration, SalesLead, User
from huike.account.service import ensure_platform_defaults
from huike.app import create_app
from huike.config import Settings
from huike.core.db import Database, commit
from huike.privacy.policy.models import PolicyAcceptance
from huike.privacy.policy.service import ensure_initial_policy
from huike.tenant.models import Tenant
from tests.account.conftest import HANGZHOU_IP, PASSWORD, PHONE, Flows
from tests.account.test_f3_no_plaintext import dump


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def counts(session: AsyncSession) -> tuple[int, ...]:
    found = []
    for model in (Tenant, User, Membership, PolicyAcceptance, Registration, SalesLead):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


async def login(client: httpx.AsyncClient, phone: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login/password", json={"phone": phone, "password": password})


async def test_r_reg_1_three_spellings_find_the_same_account(flows: Flows) -> None:
    registered = await flows.register(phone="138 0013 8000")
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["user_id"]
    for spelling in ("138 0013 8000", "+86 13800138000", "+8613800138000"):
        flows.client.cookies.clear()
        response = await login(flows.client, spelling)
        assert response.status_code == 200, (spelling, response.text)
        assert response.json()["user_id"] == user_id


@pytest.mark.parametrize("phone", ["12345678901", "010 6552 9988", "+86 10 6552 9988", "not a phone"])
async def test_r_reg_1_invalid_numbers_and_landlines_are_rejected(
    flows: Flows, session: AsyncSession, phone: str
) -> None:
    sent = await flows.client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 422
    assert code_of(sent) == "account.invalid_phone"
    registered = await flows.client.post("/api/v1/auth/register", json=flows.body("123456", phone=phone))
    assert registered.status_code == 422
    assert code_of(registered) == "account.invalid_phone"
    assert await counts(session) == (0, 0, 0, 0, 0, 0)


async def test_r_reg_1_raw_row_holds_no_phone_or_password(flows: Flows, session: AsyncSession) -> None:
    assert (await flows.register()).status_code == 201
    raw = (await session.execute(text("SELECT * FROM users"))).mappings().one()
    values = " ".join(str(value) for value in raw.values())
    assert PHONE not in values
    assert PASSWORD not in values
    assert raw["phone"].startswith("v1:")
    assert raw["phone_index"].startswith("v1:")
    everything = await dump(session)  # every table, as a dump would print it
    assert PHONE not in everything
    assert PASSWORD not in everything


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Ab1!xyz", "too_short"),  # 7 characters
        ("alllowercase1", "too_few_classes"),
        ("Pass13800138000", "contains_phone"),
        ("P@ssw0rd", "too_common"),
        ("A" * 100 + "a1!" * 10, "too_long"),
    ],
)
async def test_r_reg_1_weak_passwords_create_nothing(
    flows: Flows, session: AsyncSession, password: str, reason: str
) -> None:
    response = await flows.register(password=password)
    assert response.status_code == 422
    assert code_of(response) == "account.weak_password"
    assert response.json()["error"]["details"]["reason"] == reason
    assert await counts(session) == (0, 0, 0, 0, 0, 0)


async def test_r_reg_1_eight_characters_are_enough(flows: Flows) -> None:
    assert (await flows.register(password="Ab1!wxyz")).status_code == 201


def test_r_reg_1_production_hash_is_argon2id_with_rfc_9106_parameters() -> None:
    assert (passwords.TIME_COST, passwords.MEMORY_COST_KIB, passwords.PARALLELISM) == (3, 64 * 1024, 4)
    hasher = PasswordHasher(
        time_cost=passwords.TIME_COST,
        memory_cost=passwords.MEMORY_COST_KIB,
        parallelism=passwords.PARALLELISM,
    )
    assert hasher.hash(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_r_reg_1_stored_hash_is_argon2id(flows: Flows, session: AsyncSession) -> None:
    assert (await flows.register()).status_code == 201
    stored = (await session.execute(text("SELECT password_hash FROM users"))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, PASSWORD)


async def test_r_reg_1_hash_with_old_parameters_is_upgraded_at_login(
    flows: Flows, session: AsyncSession
) -> None:
    assert (await flows.register()).status_code == 201
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.ID).hash(PASSWORD)
    user = (await session.execute(select(User))).scalar_one()
    user.password_hash = old
    await session.commit()
    assert passwords.needs_rehash(old)
    flows.client.cookies.clear()
    assert (await login(flows.client, PHONE)).status_code == 200
    upgraded = (await session.execute(text("SELECT password_hash FROM users"))).scalar_one()
    assert upgraded != old
    assert upgraded.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # the hasher's current parameters
    assert not passwords.needs_rehash(upgraded)
    flows.client.cookies.clear()
    assert (await login(flows.client, PHONE)).status_code == 200


# --- the database as stored: pg_dump on PostgreSQL, the database file on SQLite --------------------


@pytest_asyncio.fixture
async def committed_api(settings: Settings, clean_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose requests really commit (into the module's own database)."""
    async with clean_db.sessionmaker() as session:
        await ensure_initial_policy(session)
        await ensure_platform_defaults(session)
        await commit(session)
    app: FastAPI = create_app(settings.model_copy(update={"database_url": clean_db.url}), database=clean_db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HANGZHOU_IP, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def stored_bytes(url: str) -> bytes:
    parsed = make_url(url)
    if parsed.drivername.startswith("postgresql"):
        env = {**os.environ, "PGPASSWORD": parsed.password or ""}
        process = await asyncio.create_subprocess_exec(
            "pg_dump",
            "--data-only",
            "-h",
            parsed.host or "127.0.0.1",
            "-p",
            str(parsed.port or 5432),
            "-U",
            parsed.username or "postgres",
            parsed.database or "",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode(errors="replace")
        return out
    return await asyncio.to_thread(_sqlite_bytes, Path(parsed.database or ""))


def _sqlite_bytes(path: Path) -> bytes:
    """The SQLite database file and its write-ahead log, byte for byte."""
    data = path.read_bytes()
    with contextlib.suppress(FileNotFoundError):
        data += Path(f"{path}-wal").read_bytes()
    return data


async def test_r_reg_1_pg_dump_holds_no_phone_or_password(
    committed_api: httpx.AsyncClient, clean_db: Database, settings: Settings
) -> None:
    flows = Flows(
        committed_api, (await committed_api.get("/api/v1/privacy/policy/versions")).json()["current"]
    )
    response = await flows.register()
    assert response.status_code == 201, response.text
    async with clean_db.sessionmaker() as session:
        assert (await session.scalar(select(func.count()).select_from(User))) == 1
    stored = await stored_bytes(clean_db.url)
    assert "杭州汇客测试有限公司".encode() in stored  # the dump has the registration's rows
    for needle in (PHONE, "+86" + PHONE, PASSWORD):
        assert needle.encode() not in stored
        assert needle.encode("utf-16-le") not in stored
