"""Database glue: the declarative base, portable column types, engines for SQLite and PostgreSQL,
the per-request session and the commit boundary (docs/adr/0002-unit-of-work.md).

Application code never calls ``session.commit()``: the route wrapper and the job wrapper call
:func:`commit`, which commits and then runs the callbacks registered with :func:`on_commit`
(dispatching enqueued jobs). A rollback discards those callbacks with the transaction.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

import structlog
from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import JSON, CursorResult, DateTime, MetaData, Result, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
)
from sqlalchemy.types import TypeDecorator, Uuid

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on both databases (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        uuid.UUID: Uuid,
        dict[str, Any]: JSONType,
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine that behaves the same way on SQLite and PostgreSQL for our purposes."""
    if is_sqlite_url(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _make_sqlite_honest(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _make_sqlite_honest(engine: AsyncEngine) -> None:
    """WAL, foreign keys and SQLAlchemy's documented fix so that SAVEPOINT and BEGIN behave."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads, then
        # writes, fails at once with "database is locked" when another writer got there first.
        immediate = conn.get_execution_options().get("huike_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True, info={_READ_ONLY: read_only})


_log = structlog.get_logger("huike.db")
_READ_ONLY = "huike.read_only"
_BEST_EFFORT = "huike.best_effort_write"


@contextlib.contextmanager
def best_effort_write(session: AsyncSession) -> Iterator[None]:
    """A write a read session may try and lose (e.g. a session's last-seen time, in a SAVEPOINT)."""
    session.info[_BEST_EFFORT] = True
    try:
        yield
    finally:
        session.info[_BEST_EFFORT] = False


def _unguarded(session: Session) -> bool:
    return not session.info.get(_READ_ONLY) or bool(session.info.get(_BEST_EFFORT))


@event.listens_for(Session, "do_orm_execute")
def _guard_statement(state: ORMExecuteState) -> None:
    # On SQLite a read session that writes fails with "database is locked" as soon as a job writes
    # meanwhile (ADR 6, ADR 10): such a GET needs @writes_on_get. Logged, so the browser tests see it.
    if _unguarded(state.session) or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    _log.warning("db.write_in_read_session", what=str(getattr(table, "name", "?")))


@event.listens_for(Session, "before_flush")
def _guard_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _unguarded(session):  # checked first: write sessions flush on every hot path
        return
    changed = [*session.new, *(o for o in session.dirty if session.is_modified(o)), *session.deleted]
    if changed:
        _log.warning("db.write_in_read_session", what=",".join(sorted({type(o).__name__ for o in changed})))


class Database:
    """The engine and session factories of one process, made in the app lifespan (never at import).

    ``sessionmaker`` is for transactions that write (on SQLite they take the write lock at BEGIN);
    ``read_sessionmaker`` for those that only read.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = make_sessionmaker(self.engine.execution_options(huike_write=True))
        self.read_sessionmaker = make_sessionmaker(self.engine, read_only=True)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite_url(self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


# --- commit boundary ---------------------------------------------------------------------------

OnCommit = Callable[[], Awaitable[None]]
_CALLBACKS = "huike.on_commit"


def on_commit(session: AsyncSession, callback: OnCommit) -> None:
    """Run ``callback`` after the session's transaction commits; drop it if the transaction rolls back."""
    session.info.setdefault(_CALLBACKS, []).append(callback)


@event.listens_for(Session, "after_transaction_end")
def _discard_on_rollback(session: Session, transaction: SessionTransaction) -> None:
    # A committed root transaction keeps its callbacks for commit() to run; anything else that ends
    # the root transaction (rollback, close) discards them.
    if transaction.parent is None and not session.info.get("huike.committing"):
        session.info.pop(_CALLBACKS, None)


async def commit(session: AsyncSession) -> None:
    """Commit, then run the on-commit callbacks (job dispatch). The only place that commits."""
    session.info["huike.committing"] = True
    try:
        await session.commit()
    finally:
        session.info["huike.committing"] = False
    callbacks: list[OnCommit] = session.info.pop(_CALLBACKS, [])
    for callback in callbacks:
        await callback()


async def rollback(session: AsyncSession) -> None:
    session.info.pop(_CALLBACKS, None)
    await session.rollback()


_WRITES_ON_GET = "huike_writes_on_get"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def writes_on_get(endpoint: _Endpoint) -> _Endpoint:
    """Mark a GET endpoint that writes (a browser reaches it by a link or a redirect, so it cannot be
    a POST, e.g. the WeCom QR login steps): its session takes the write lock up front like an unsafe
    method's, or on SQLite it fails with "database is locked" while a job writes (ADR 0006)."""
    setattr(endpoint, _WRITES_ON_GET, True)
    return endpoint


def writes_on_get_when(when: Callable[[Request], bool]) -> Callable[[_Endpoint], _Endpoint]:
    """``@writes_on_get`` for only the requests ``when`` picks (a list that is audited when it is filtered
    by another member, say): every other request of the route keeps a read session, so it neither takes
    SQLite's write lock nor waits for a job's. ``when`` must pick every request that may write."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        setattr(endpoint, _WRITES_ON_GET, when)
        return endpoint

    return mark


def _route_writes(request: Request) -> bool:
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    marked = getattr(endpoint, _WRITES_ON_GET, False)
    return bool(marked(request)) if callable(marked) else bool(marked)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route wrapper commits it, this only rolls back and closes."""
    db: Database = request.app.state.db
    reads_only = request.method in ("GET", "HEAD", "OPTIONS") and not _route_writes(request)
    factory = db.read_sessionmaker if reads_only else db.sessionmaker
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise


ReadSessions = Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]


async def get_read_sessions(request: Request) -> ReadSessions:
    """Fresh read-only sessions for work that outlives the request's transaction, such as a streamed
    download (a request's write session would hold SQLite's write lock for the whole download)."""
    db: Database = request.app.state.db
    return db.read_sessionmaker


class UnitOfWorkRoute(APIRoute):
    """Commits the request's session as soon as the endpoint returns, before the response is sent."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        @functools.wraps(endpoint)
        async def endpoint_then_commit(*args: Any, **values: Any) -> Any:
            result = await endpoint(*args, **values)
            for value in values.values():
                if isinstance(value, AsyncSession):
                    await commit(value)
                    break
            return result

        super().__init__(path, endpoint_then_commit, **kwargs)


def insert_ignore(session: AsyncSession, model: type[Base], index_elements: list[str]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's dialect."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).on_conflict_do_nothing(index_elements=index_elements)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).on_conflict_do_nothing(index_elements=index_elements)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE/INSERT touched (the async session types its result loosely)."""
    return int(cast("CursorResult[Any]", result).rowcount)
