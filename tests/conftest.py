"""Test fixtures: one database per run (SQLite file by default, PostgreSQL when
HUIKE_TEST_DATABASE_URL is set), every test inside a transaction that is rolled back."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import huike.models  # noqa: F401
from huike.app import create_app
from huike.config import Settings
from huike.core.db import Base, Database, get_read_sessions, get_session, make_engine, rollback
from huike.security.kms import ensure_master_key
from huike.security.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrf_token_for, start_session
from huike.tenant.models import Tenant
from tests.support import RecordingDispatcher, block_outside_network, database_url_for, reset_database

block_outside_network()

pytest_plugins = ["tests.emulator_fixtures"]


@pytest.fixture(scope="session")
def test_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url_for("main", tmp_path_factory.mktemp("db"))


@pytest_asyncio.fixture(scope="session")
async def engine(test_db_url: str) -> AsyncIterator[AsyncEngine]:
    await reset_database(test_db_url)
    engine = make_engine(test_db_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits only release savepoints; everything is rolled back at the end."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
def settings(tmp_path: Path, test_db_url: str) -> Settings:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=test_db_url,
        redis_url=None,
        web_dist=tmp_path / "no-dist",
        max_body_bytes=64 * 1024,
        log_level="WARNING",
    )
    ensure_master_key(settings)
    return settings


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest_asyncio.fixture
async def app(
    settings: Settings, session: AsyncSession, dispatcher: RecordingDispatcher
) -> AsyncIterator[FastAPI]:
    app = create_app(settings)

    async def _session() -> AsyncIterator[AsyncSession]:
        # like huike.core.db.get_session, but on the test's session (rollback = its savepoint)
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise

    app.dependency_overrides[get_session] = _session

    @contextlib.asynccontextmanager
    async def _read_session() -> AsyncIterator[AsyncSession]:
        yield session  # a streamed download reads the test's (uncommitted) data too

    app.dependency_overrides[get_read_sessions] = lambda: _read_session

    @contextlib.asynccontextmanager
    async def test_session_scope() -> AsyncIterator[AsyncSession]:
        yield session  # batched callback writes join the test's transaction too

    async with app.router.lifespan_context(app):
        app.state.jobs.dispatcher = dispatcher
        app.state.inbox.session_scope = app.state.inbox.read_scope = test_session_scope
        yield app


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest_asyncio.fixture
async def tenant(session: AsyncSession) -> Tenant:
    row = Tenant(name=f"租户甲 {uuid.uuid4().hex[:6]}")
    session.add(row)
    await session.commit()  # releases the test savepoint, so a failing request cannot roll it back
    return row


@pytest_asyncio.fixture
async def other_tenant(session: AsyncSession) -> Tenant:
    row = Tenant(name=f"租户乙 {uuid.uuid4().hex[:6]}")
    session.add(row)
    await session.commit()
    return row


@pytest_asyncio.fixture
async def logged_in(client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant) -> httpx.AsyncClient:
    """The client with a session cookie of a user of ``tenant``, an admin (roles: every permission but
    the creator's own)."""
    user_id = await user_with_role(session, tenant.id, "admin")
    _, token = await start_session(session, tenant.id, user_id)
    await session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token_for(token))
    client.headers[CSRF_HEADER] = csrf_token_for(token)
    return client


@pytest.fixture(autouse=True)
def csrf_for_bare_session_cookies(request: pytest.FixtureRequest) -> None:
    """Tests that put a bare session cookie on ``client`` (made with ``start_session``, not through the
    login API) act like a browser that logged in: an unsafe request that carries neither the CSRF cookie
    nor the header gets both. A request with either one is left alone, so CSRF tests see what they send."""
    if "client" not in request.fixturenames:
        return
    client: httpx.AsyncClient = request.getfixturevalue("client")

    async def add_csrf(outgoing: httpx.Request) -> None:
        if outgoing.method in ("GET", "HEAD", "OPTIONS") or CSRF_HEADER.lower() in outgoing.headers:
            return
        header = outgoing.headers.get("cookie", "")
        jar = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)
        token = jar.get(SESSION_COOKIE)
        if token and CSRF_COOKIE not in jar:
            value = csrf_token_for(token)
            outgoing.headers[CSRF_HEADER] = value
            outgoing.headers["cookie"] = f"{header}; {CSRF_COOKIE}={value}"

    client.event_hooks["request"].append(add_csrf)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("HUIKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest_asyncio.fixture(scope="module")
async def committed_db(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A database of the module's own where work really commits (jobs, workers, schedulers)."""
    name = "m_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    url = database_url_for(name, tmp_path_factory.mktemp("committed"))
    await reset_database(url)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield db
    await db.dispose()


@pytest_asyncio.fixture
async def clean_db(committed_db: Database) -> Database:
    """The module's committed database, emptied before the test."""
    async with committed_db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    return committed_db


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in this thread
    for as long as its session fixture lives, and async tests cannot start their own beside it."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


# --- roles (huike.permission) -------------------------------------------------------------------


async def user_with_role(session: AsyncSession, tenant_id: uuid.UUID, role: str) -> uuid.UUID:
    """A user (no phone) with an account membership of ``role`` (creator, admin or member) in the tenant."""
    from huike.account.models import Membership, User

    user = User(phone=None, status="active")
    session.add(user)
    await session.flush()
    session.add(Membership(tenant_id=tenant_id, user_id=user.id, role=role))
    await session.flush()
    return user.id


async def client_with_role(
    app: FastAPI, session: AsyncSession, tenant_id: uuid.UUID, role: str
) -> httpx.AsyncClient:
    """A new client of ``app`` logged in as a new user of ``role``; the caller closes it."""
    user_id = await user_with_role(session, tenant_id, role)
    _, token = await start_session(session, tenant_id, user_id)
    await session.commit()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, csrf_token_for(token))
    client.headers[CSRF_HEADER] = csrf_token_for(token)
    return client


@pytest_asyncio.fixture
async def creator_client(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the tenant's creator (every permission, the creator-only ones included)."""
    client = await client_with_role(app, session, tenant.id, "creator")
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def member_client(
    app: FastAPI, session: AsyncSession, tenant: Tenant
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a plain member (the built-in member role: its default permissions, scope self)."""
    client = await client_with_role(app, session, tenant.id, "member")
    yield client
    await client.aclose()
