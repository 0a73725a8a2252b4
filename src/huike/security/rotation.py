"""Key rotation: ``huike keys rotate`` (F3).

1. **Start** (skipped when a rotation is still running: that one resumes). For every scope, each rotated
   family gets a new active version; the old active version becomes ``decrypt_only``. Data keys still
   wrapped by an older master key version are re-wrapped with the current one. A ``key_rotations`` row
   records the run. One commit.
2. **Rewrite.** Every table of the metadata that has an encrypted column (found by the marker
   :func:`encrypted_column` puts in ``Column.info``) is walked in primary-key order, in batches. A value
   whose ``v{n}:`` prefix is not its scope's active version is decrypted and encrypted again (blind
   indexes are recomputed when the index family rotates). Each batch commits together with the table's
   cursor in ``key_rotations.cursor``, so an interrupted run resumes at the last committed batch; the
   version prefix makes a repeated batch harmless. An UPDATE only applies if the row still holds the
   value that was read, so a concurrent edit is never overwritten with a stale one.
3. **Sweep and retire.** A second walk from the start catches rows written with an old key by a unit
   of work that began before step 1. When a sweep finds nothing, the ``decrypt_only`` versions are
   retired (their wrapped keys erased) and the run is ``done``. Until then old and new keys both decrypt.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy import Column, MetaData, Table, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from huike.core.db import rowcount, utcnow
from huike.security.blind_index import BLIND_INDEX_INFO, BlindIndexSpec, KeyScope, compute
from huike.security.crypto import Ciphertext, FieldContext, decrypt_value, encrypt_value, parse
from huike.security.fields import ENCRYPTED_INFO, EncryptedSpec
from huike.security.keys import (
    KEYS_TABLE,
    PLATFORM,
    KeyFamily,
    KeyRotation,
    KeyState,
    ScopeKeys,
    get_keyring,
    insert_key_version_sync,
    load_scope_sync,
    retire_sync,
    scope_of,
    tenant_of,
    wrap_context,
)

log = structlog.get_logger(__name__)

RUNNING = "running"
DONE = "done"


class RotationObserver(Protocol):
    def table_started(self, table: str, total: int) -> None: ...

    def batch_done(self, table: str, scanned: int, rewritten: int) -> None: ...


class _Quiet:
    def table_started(self, table: str, total: int) -> None:
        pass

    def batch_done(self, table: str, scanned: int, rewritten: int) -> None:
        pass


@dataclass
class RotationReport:
    rotation_id: uuid.UUID
    families: tuple[KeyFamily, ...]
    resumed: bool
    new_versions: int = 0
    rewrapped: int = 0
    rows_rewritten: int = 0
    retired: int = 0
    finished: bool = False


@dataclass(frozen=True)
class _Target:
    table: Table
    pk: Column[Any]
    tenant: Column[Any] | None
    encrypted: tuple[tuple[Column[Any], KeyScope | None], ...]
    indexes: tuple[tuple[Column[Any], BlindIndexSpec], ...]

    def scope(self, row: Any, declared: KeyScope | None) -> str:
        tenant_id = row._mapping[self.tenant] if self.tenant is not None else None
        return scope_of(None if declared == KeyScope.platform else tenant_id)

    def where(self, row: Any, column: Column[Any]) -> FieldContext:
        tenant_id = row._mapping[self.tenant] if self.tenant is not None else None
        return FieldContext(tenant_id, self.table.name, column.name, str(row._mapping[self.pk]))


def targets(metadata: MetaData | Sequence[MetaData]) -> list[_Target]:
    """Every table with an encrypted column or blind index, found by the column markers."""
    metadatas = [metadata] if isinstance(metadata, MetaData) else list(metadata)
    found: list[_Target] = []
    for md in metadatas:
        for table in md.sorted_tables:
            encrypted = tuple(
                (column, column.info[ENCRYPTED_INFO].scope)
                for column in table.columns
                if isinstance(column.info.get(ENCRYPTED_INFO), EncryptedSpec)
            )
            indexes = tuple(
                (column, column.info[BLIND_INDEX_INFO])
                for column in table.columns
                if isinstance(column.info.get(BLIND_INDEX_INFO), BlindIndexSpec)
            )
            if not encrypted and not indexes:
                continue
            pks = list(table.primary_key.columns)
            if len(pks) != 1:
                raise TypeError(f"{table.name}: encrypted tables need a single-column primary key")
            found.append(_Target(table, pks[0], table.c.get("tenant_id"), encrypted, indexes))
    return found


# --- step 1: start or resume ---------------------------------------------------------------------


def _start_sync(session: Session, families: tuple[KeyFamily, ...]) -> tuple[int, int]:
    """New active versions for every scope of each family; re-wrap keys under an old master key."""
    table = KEYS_TABLE
    created = 0
    for family in families:
        scopes = session.execute(
            select(table.c.scope, func.max(table.c.version))
            .where(table.c.family == str(family))
            .group_by(table.c.scope)
        ).all()
        for scope, latest in scopes:
            session.execute(
                update(table)
                .where(
                    table.c.scope == scope,
                    table.c.family == str(family),
                    table.c.state == str(KeyState.active),
                )
                .values(state=str(KeyState.decrypt_only))
            )
            insert_key_version_sync(session, scope, family, int(latest) + 1, KeyState.active)
            created += 1
    return created, _rewrap_sync(session)


def _rewrap_sync(session: Session) -> int:
    from sqlalchemy.util import await_

    keyring = get_keyring()
    current = keyring.provider.current_kek_id
    table = KEYS_TABLE
    rows = session.execute(
        select(
            table.c.id, table.c.scope, table.c.family, table.c.version, table.c.kek_id, table.c.wrapped
        ).where(table.c.kek_id != current, table.c.wrapped.is_not(None))
    ).all()
    for key_id, scope, family, version, kek_id, wrapped in rows:
        dek = await_(keyring.unwrap(scope, family, version, kek_id, wrapped))
        rewrapped = await_(keyring.provider.wrap(dek, wrap_context(scope, family, version)))
        session.execute(
            update(table).where(table.c.id == key_id).values(kek_id=rewrapped.kek_id, wrapped=rewrapped.blob)
        )
    return len(rows)


async def _start_or_resume(
    sessionmaker: async_sessionmaker[AsyncSession], families: tuple[KeyFamily, ...]
) -> RotationReport:
    async with sessionmaker() as session:
        running = (
            (
                await session.execute(
                    select(KeyRotation).where(KeyRotation.status == RUNNING).order_by(KeyRotation.created_at)
                )
            )
            .scalars()
            .first()
        )
        if running is not None:
            resumed_families = tuple(KeyFamily(name) for name in running.families.split(","))
            log.info("keys.rotation_resumed", rotation_id=str(running.id), families=running.families)
            return RotationReport(running.id, resumed_families, resumed=True)
        created, rewrapped = await session.run_sync(_start_sync, families)
        rotation = KeyRotation(families=",".join(families), status=RUNNING, cursor={}, rows_rewritten=0)
        session.add(rotation)
        await session.commit()
        log.info(
            "keys.rotation_started", rotation_id=str(rotation.id), new_versions=created, rewrapped=rewrapped
        )
        return RotationReport(rotation.id, families, resumed=False, new_versions=created, rewrapped=rewrapped)


# --- step 2: rewrite -----------------------------------------------------------------------------


@dataclass
class _Keys:
    session: Session
    cache: dict[tuple[str, KeyFamily], ScopeKeys] = field(default_factory=dict)

    def of(self, scope: str, family: KeyFamily) -> ScopeKeys:
        entry = self.cache.get((scope, family))
        if entry is None:
            loaded = load_scope_sync(self.session, scope, tuple(KeyFamily))
            for fam, keys in loaded.items():
                self.cache[(scope, fam)] = keys
            entry = self.cache[(scope, family)]
        return entry


def _new_values(target: _Target, row: Any, keys: _Keys, families: tuple[KeyFamily, ...]) -> dict[str, Any]:
    """The columns of ``row`` that must change, with their new values."""
    changes: dict[str, Any] = {}
    plaintexts: dict[str, str | None] = {}

    def plaintext(column: Column[Any], declared: KeyScope | None) -> str | None:
        if column.key not in plaintexts:
            value = row._mapping[column]
            data = keys.of(target.scope(row, declared), KeyFamily.data)
            plaintexts[column.key] = (
                None if value is None else decrypt_value(value, data.key, target.where(row, column))
            )
        return plaintexts[column.key]

    if KeyFamily.data in families:
        for column, declared in target.encrypted:
            value = row._mapping[column]
            if value is None:
                continue
            data = keys.of(target.scope(row, declared), KeyFamily.data)
            if data.active is None or parse(value)[0] == data.active:
                continue
            plain = plaintext(column, declared)
            assert plain is not None
            changes[column.key] = encrypt_value(
                plain, data.keys[data.active], data.active, target.where(row, column)
            )
    if KeyFamily.blind_index in families:
        sources = {column.key: (column, declared) for column, declared in target.encrypted}
        for column, spec in target.indexes:
            source_column, source_declared = sources[spec.source]
            current = row._mapping[column]
            index_keys = keys.of(target.scope(row, spec.scope), KeyFamily.blind_index)
            source_value = row._mapping[source_column]
            if source_value is None:
                if current is not None:
                    changes[column.key] = None
                continue
            if index_keys.active is None or (
                current is not None and current.startswith(f"v{index_keys.active}:")
            ):
                continue
            plain = plaintext(source_column, source_declared)
            assert plain is not None
            changes[column.key] = compute(
                index_keys.keys[index_keys.active], index_keys.active, spec.kind, spec.normalise(plain)
            )
    return changes


def _batch_changes(
    session: Session, target: _Target, rows: Sequence[Any], families: tuple[KeyFamily, ...]
) -> list[tuple[Any, dict[str, Any]]]:
    keys = _Keys(session)
    return [(row, _new_values(target, row, keys, families)) for row in rows]


def _pk_from_cursor(target: _Target, value: str) -> Any:
    python_type = target.pk.type.python_type
    return uuid.UUID(value) if python_type is uuid.UUID else python_type(value)


async def _walk(
    sessionmaker: async_sessionmaker[AsyncSession],
    report: RotationReport,
    all_targets: list[_Target],
    *,
    phase: str,
    batch_size: int,
    observer: RotationObserver,
) -> int:
    """One pass over every target table from the rotation's cursor; returns rows rewritten."""
    rewritten_total = 0
    for target in all_targets:
        name = target.table.name
        async with sessionmaker() as session:
            rotation = await session.get_one(KeyRotation, report.rotation_id)
            position = rotation.cursor.get(phase, {}).get(name)
            total = int((await session.execute(select(func.count()).select_from(target.table))).scalar_one())
        if position == DONE:
            continue
        observer.table_started(name, total)
        while True:
            async with sessionmaker() as session:
                rotation = await session.get_one(KeyRotation, report.rotation_id)
                position = rotation.cursor.get(phase, {}).get(name)
                columns = [target.pk]
                if target.tenant is not None:
                    columns.append(target.tenant)
                columns += [column for column, _ in target.encrypted] + [
                    column for column, _ in target.indexes
                ]
                query = select(*columns).order_by(target.pk).limit(batch_size)
                if position is not None:
                    query = query.where(target.pk > _pk_from_cursor(target, position))
                rows = (await session.execute(query)).all()
                rewritten = 0
                if rows:
                    changes = await session.run_sync(_batch_changes, target, rows, report.families)
                    for row, values in changes:
                        if not values:
                            continue
                        guard = [
                            target.table.c[key] == row._mapping[target.table.c[key]]
                            if row._mapping[target.table.c[key]] is not None
                            else target.table.c[key].is_(None)
                            for key in values
                        ]
                        result = await session.execute(
                            update(target.table)
                            .where(target.pk == row._mapping[target.pk], and_(*guard))
                            .values(**values)
                        )
                        rewritten += rowcount(result)
                cursor = {key: dict(value) for key, value in rotation.cursor.items()}
                cursor.setdefault(phase, {})[name] = str(rows[-1]._mapping[target.pk]) if rows else DONE
                rotation.cursor = cursor
                rotation.rows_rewritten += rewritten
                await session.commit()
            rewritten_total += rewritten
            report.rows_rewritten += rewritten
            if not rows:
                break
            observer.batch_done(name, len(rows), rewritten)
    return rewritten_total


def _all_models() -> MetaData:
    """The application's metadata with every model imported."""
    importlib.import_module("huike.models")
    from huike.core.db import Base

    return Base.metadata


# --- the whole run -------------------------------------------------------------------------------


async def rotate_keys(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    metadata: MetaData | Sequence[MetaData] | None = None,
    families: Iterable[KeyFamily] = (KeyFamily.data,),
    batch_size: int = 500,
    max_sweeps: int = 3,
    observer: RotationObserver | None = None,
) -> RotationReport:
    """Rotate (or resume rotating) the given key families and re-encrypt every encrypted column."""
    if metadata is None:
        metadata = _all_models()
    observer = observer or _Quiet()
    report = await _start_or_resume(sessionmaker, tuple(families))
    all_targets = targets(metadata)
    try:
        await _walk(
            sessionmaker, report, all_targets, phase="rewrite", batch_size=batch_size, observer=observer
        )
        for sweep in range(1, max_sweeps + 1):
            stale = await _walk(
                sessionmaker,
                report,
                all_targets,
                phase=f"sweep{sweep}",
                batch_size=batch_size,
                observer=observer,
            )
            if stale == 0:
                break
            log.warning("keys.rotation_stale_rows", rotation_id=str(report.rotation_id), rows=stale)
        else:
            log.warning("keys.rotation_not_finished", rotation_id=str(report.rotation_id))
            return report
    except Exception as exc:
        async with sessionmaker() as session:
            rotation = await session.get_one(KeyRotation, report.rotation_id)
            rotation.error = getattr(exc, "code", type(exc).__name__)
            await session.commit()
        raise
    async with sessionmaker() as session:
        retired = 0
        for family in report.families:
            retired += await session.run_sync(retire_sync, family)
        rotation = await session.get_one(KeyRotation, report.rotation_id)
        rotation.status = DONE
        rotation.error = None
        rotation.finished_at = utcnow()
        await session.commit()
    get_keyring().clear()
    report.retired = retired
    report.finished = True
    log.info(
        "keys.rotation_finished",
        rotation_id=str(report.rotation_id),
        rows=report.rows_rewritten,
        retired=retired,
    )
    return report


# --- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyVersionSummary:
    family: str
    version: int
    state: str
    kek_id: str
    scopes: int


@dataclass
class KeyStatus:
    versions: list[KeyVersionSummary]
    platform_scope: bool
    tenant_scopes: int
    rotation: KeyRotation | None
    encrypted_columns: list[str]


async def key_status(
    session: AsyncSession, metadata: MetaData | Sequence[MetaData] | None = None
) -> KeyStatus:
    table = KEYS_TABLE
    rows = (
        await session.execute(
            select(table.c.family, table.c.version, table.c.state, table.c.kek_id, func.count())
            .group_by(table.c.family, table.c.version, table.c.state, table.c.kek_id)
            .order_by(table.c.family, table.c.version, table.c.state)
        )
    ).all()
    scopes = (await session.execute(select(table.c.scope).distinct())).scalars().all()
    rotation = (
        await session.execute(select(KeyRotation).order_by(KeyRotation.created_at.desc()).limit(1))
    ).scalar_one_or_none()
    if metadata is None:
        metadata = _all_models()
    return KeyStatus(
        versions=[KeyVersionSummary(f, int(v), s, k, int(n)) for f, v, s, k, n in rows],
        platform_scope=PLATFORM in scopes,
        tenant_scopes=sum(1 for scope in scopes if tenant_of(scope) is not None),
        rotation=rotation,
        encrypted_columns=[
            f"{target.table.name}.{column.name}"
            for target in targets(metadata)
            for column, _ in target.encrypted
        ],
    )


__all__ = ["Ciphertext", "RotationObserver", "RotationReport", "key_status", "rotate_keys", "targets"]
