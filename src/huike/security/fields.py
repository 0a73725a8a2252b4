"""Encrypted ORM columns a domain declares in one line (F3)::

    class Member(TenantScoped, Base):
        phone: Mapped[str | None] = encrypted_column("user.contact.phone_number", subject=Subject.member)
        phone_index: Mapped[str | None] = blind_index_column("phone")

Design
------
The AAD binds ``tenant_id|table|column|row_pk``, which a TypeDecorator never sees, so encryption
happens in session and mapper events over an ordinary text column that only ever holds ciphertext:

* **Writing.** ``before_flush`` visits new and changed objects of mappers with encrypted columns. It
  gives a new row its UUID primary key now (the column default would only run inside the INSERT),
  loads the scope's keys if this unit of work has not (creating version 1 on first use), replaces each
  changed plaintext with a :class:`~huike.security.crypto.Ciphertext` under the active key and
  recomputes the blind indexes that follow it. ``after_flush_postexec`` puts the plaintext back as the
  *committed* value, so after the flush the object reads as before and is not dirty. A flush that fails
  gives unsaved objects their plaintext back (``after_soft_rollback``). A bulk writer that inserts
  new rows without a flush seals them with :func:`sealed_rows`, which does the same per row.
* **Reading.** A mapper ``load`` / ``refresh`` event decrypts each loaded ciphertext with the keys of
  the session's key view and stores the plaintext as the committed value: no await, no lazy I/O. The
  view must be warmed first (:func:`huike.security.keys.warm_keys`); otherwise :class:`KeysNotLoaded`.
  A value that fails to decrypt raises a typed error naming table, column, row and key version, and
  the attribute is left unloaded, never holding ciphertext or an empty value.
* **Guard.** The column type, :class:`EncryptedText`, refuses to bind anything but a ``Ciphertext`` (or
  NULL): plaintext cannot reach the database or the SQL log even through a hand-written statement, and
  ``where(Model.phone == "138…")`` fails loudly (use the blind index).

Limits: the mapper needs a single-column primary key that Python can generate (a UUID); a column
query (``select(Model.phone)``) returns ciphertext, because only entities are decrypted; bulk ORM
``update()`` of an encrypted column is not supported. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Text, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import MappedColumn, Mapper, Session, UOWTransaction, mapped_column
from sqlalchemy.orm.attributes import get_history, set_committed_value
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.types import TypeDecorator, Uuid

from huike.privacy.inventory import Erasure, Purpose, Subject, describe
from huike.security.blind_index import BLIND_INDEX_INFO, BlindIndexSpec, KeyScope, index_value
from huike.security.crypto import Ciphertext, FieldContext, decrypt_value, encrypt_value
from huike.security.errors import DecryptionFailed, KeysNotLoaded
from huike.security.keys import (
    KeyFamily,
    ScopeKeys,
    cached_scope_keys,
    load_scope_sync,
    require_scope_keys,
    scope_of,
)

log = structlog.get_logger(__name__)

ENCRYPTED_INFO = "huike.encrypted"
_PENDING = "huike.encrypted_pending"


class EncryptedText(TypeDecorator[str]):
    """Text that holds ``v{n}:{base64}`` only. Binding anything else is a programming error."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Ciphertext):
            raise TypeError(
                "an encrypted column only takes ciphertext; plaintext must not reach the database"
            )
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Ciphertext | None:
        return None if value is None else Ciphertext(value)


@dataclass(frozen=True, slots=True)
class EncryptedSpec:
    scope: KeyScope | None


def encrypted_column(
    category: str,
    *,
    subject: Subject | None = None,
    sensitive: bool = False,
    purposes: tuple[Purpose, ...] | None = None,
    erasure: Erasure | None = None,
    notes: str = "",
    scope: KeyScope | None = None,
    name: str | None = None,
    nullable: bool | None = None,
) -> MappedColumn[Any]:
    """An AES-256-GCM encrypted text column, declared in the inventory as personal and encrypted.

    ``scope``: whose data keys encrypt it; by default the row's tenant when the table has a
    ``tenant_id``, else the platform's. ``nullable`` defaults to what the ``Mapped[...]`` says.
    """
    info = describe(
        category,
        personal=True,
        sensitive=sensitive,
        encrypted=True,
        subject=subject,
        purposes=purposes,
        erasure=erasure,
        notes=notes,
    )
    return _column(info, scope, name, nullable)


def secret_column(
    category: str,
    *,
    notes: str = "",
    scope: KeyScope | None = None,
    name: str | None = None,
    nullable: bool | None = None,
) -> MappedColumn[Any]:
    """Like :func:`encrypted_column` for secrets that are not personal data (a corp secret, a callback
    token): encrypted the same way, declared in the inventory as encrypted but not personal."""
    return _column(describe(category, encrypted=True, notes=notes), scope, name, nullable)


def _column(
    info: dict[str, Any], scope: KeyScope | None, name: str | None, nullable: bool | None
) -> MappedColumn[Any]:
    info[ENCRYPTED_INFO] = EncryptedSpec(scope=scope)
    if nullable is None:
        return mapped_column(name, EncryptedText(), info=info)
    return mapped_column(name, EncryptedText(), nullable=nullable, info=info)


KEYS_LATER = "huike_keys_later"
"""Execution option for a lookup that must run before its tenant is known (a callback that finds its
tenant by a URL key): ``select(M).where(...).execution_options(huike_keys_later=True)``. Rows whose keys
are not warm load with their encrypted attributes *unloaded*; then ``await warm_keys(session,
row.tenant_id)`` and ``await session.refresh(row)`` decrypt them. Without the option such a load raises
:class:`KeysNotLoaded`."""


# --- what a mapper encrypts ----------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedAttr:
    key: str  # attribute
    column: str  # database column (part of the AAD)
    spec: EncryptedSpec


@dataclass(frozen=True)
class IndexAttr:
    key: str
    spec: BlindIndexSpec


@dataclass(frozen=True)
class MapperCrypto:
    table: str
    pk_key: str
    pk_column: Any
    tenant_key: str | None
    encrypted: tuple[EncryptedAttr, ...]
    indexes: tuple[IndexAttr, ...]

    def scope(self, obj_dict: dict[str, Any], declared: KeyScope | None) -> tuple[str, uuid.UUID | None]:
        """The key scope of a row and the tenant id that goes into its AAD."""
        tenant_id = obj_dict.get(self.tenant_key) if self.tenant_key else None
        if declared == KeyScope.platform:
            return scope_of(None), tenant_id
        return scope_of(tenant_id), tenant_id

    def where(self, obj_dict: dict[str, Any], attr: EncryptedAttr) -> FieldContext:
        tenant_id = obj_dict.get(self.tenant_key) if self.tenant_key else None
        return FieldContext(tenant_id, self.table, attr.column, str(obj_dict.get(self.pk_key)))


_CRYPTO: dict[Mapper[Any], MapperCrypto | None] = {}


def crypto_of(mapper: Mapper[Any]) -> MapperCrypto | None:
    if mapper in _CRYPTO:
        return _CRYPTO[mapper]
    encrypted: list[EncryptedAttr] = []
    indexes: list[IndexAttr] = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        spec = column.info.get(ENCRYPTED_INFO)
        if isinstance(spec, EncryptedSpec):
            encrypted.append(EncryptedAttr(prop.key, column.name, spec))
        index_spec = column.info.get(BLIND_INDEX_INFO)
        if isinstance(index_spec, BlindIndexSpec):
            indexes.append(IndexAttr(prop.key, index_spec))
    result: MapperCrypto | None = None
    if encrypted or indexes:
        if len(mapper.primary_key) != 1:
            raise TypeError(f"{mapper.class_.__name__}: encrypted columns need a single-column primary key")
        pk_column = mapper.primary_key[0]
        tenant_prop = mapper.get_property("tenant_id") if mapper.has_property("tenant_id") else None
        sources = {attr.key for attr in encrypted}
        for index in indexes:
            if index.spec.source not in sources:
                raise TypeError(f"blind index {index.key} names {index.spec.source}, not an encrypted column")
        result = MapperCrypto(
            table=mapper.local_table.name,  # type: ignore[attr-defined]
            pk_key=mapper.get_property_by_column(pk_column).key,
            pk_column=pk_column,
            tenant_key=tenant_prop.key if tenant_prop is not None else None,
            encrypted=tuple(encrypted),
            indexes=tuple(indexes),
        )
    _CRYPTO[mapper] = result
    return result


# --- reading -------------------------------------------------------------------------------------


def _decrypt_loaded(
    state: InstanceState[Any], session: Session | None, only: set[str] | None, keys_later: bool = False
) -> None:
    crypto = crypto_of(state.mapper)
    if crypto is None:
        return
    obj_dict = state.dict
    for attr in crypto.encrypted:
        if only is not None and attr.key not in only:
            continue
        value = obj_dict.get(attr.key)
        if not isinstance(value, Ciphertext):
            continue
        where = crypto.where(obj_dict, attr)
        scope, _ = crypto.scope(obj_dict, attr.spec.scope)
        try:
            if session is None:
                raise KeysNotLoaded(scope=scope, family=str(KeyFamily.data))
            keys = require_scope_keys(session, scope, KeyFamily.data)
            plaintext = decrypt_value(value, keys.key, where)
        except KeysNotLoaded:
            obj_dict.pop(attr.key, None)
            if keys_later:
                continue
            raise
        except DecryptionFailed as exc:
            obj_dict.pop(attr.key, None)  # unloaded: never ciphertext or an empty value
            log_decrypt_failed(exc, where)
            raise
        set_committed_value(state.obj(), attr.key, plaintext)


def log_decrypt_failed(exc: DecryptionFailed, where: FieldContext) -> None:
    """The one log line of a value that would not decrypt: where it is, never what it holds."""
    log.warning(
        "crypto.decrypt_failed", code=exc.code, table=where.table, column=where.column, row=where.row_pk
    )


def _keys_later(context: Any) -> bool:
    """Whether the statement or the execute() call asked for :data:`KEYS_LATER`."""
    if context is None:
        return False
    if context.execution_options.get(KEYS_LATER):
        return True
    statement = getattr(context, "query", None)
    return bool(statement is not None and statement.get_execution_options().get(KEYS_LATER))


def _session_of(state: InstanceState[Any], context: Any) -> Session | None:
    session = getattr(context, "session", None) if context is not None else None
    return session if session is not None else state.session


@event.listens_for(Mapper, "load")
def _on_load(target: Any, context: Any) -> None:
    state: InstanceState[Any] = inspect(target)
    if crypto_of(state.mapper) is not None:
        _decrypt_loaded(state, _session_of(state, context), None, _keys_later(context))


@event.listens_for(Mapper, "refresh")
def _on_refresh(target: Any, context: Any, attrs: Any) -> None:
    # context is None when a bulk UPDATE synchronises the objects in the session
    state: InstanceState[Any] = inspect(target)
    if crypto_of(state.mapper) is not None:
        _decrypt_loaded(
            state, _session_of(state, context), set(attrs) if attrs else None, _keys_later(context)
        )


# --- writing -------------------------------------------------------------------------------------


def _write_keys(session: Session, scope: str, family: KeyFamily) -> ScopeKeys:
    keys = cached_scope_keys(session, scope, family)
    if keys is None or keys.active is None:
        keys = load_scope_sync(session, scope, (family,), create=True)[family]
    if keys.active is None:  # pragma: no cover - create=True made one
        raise KeysNotLoaded(scope=scope, family=str(family))
    return keys


def _assign_pk(crypto: MapperCrypto, obj: Any) -> None:
    if getattr(obj, crypto.pk_key) is not None:
        return
    default = crypto.pk_column.default
    if default is not None and default.is_callable:
        setattr(obj, crypto.pk_key, default.arg(None))
    elif isinstance(crypto.pk_column.type, Uuid):
        setattr(obj, crypto.pk_key, uuid.uuid4())
    else:
        raise TypeError(f"{crypto.table}: encrypted rows need a primary key Python can generate")


def _changed(state: InstanceState[Any], key: str) -> bool:
    return bool(get_history(state.obj(), key).added)


@event.listens_for(Session, "before_flush")
def _encrypt_before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    pending: list[tuple[Any, str, str]] = []
    try:
        _encrypt_changes(session, pending)
    except BaseException:
        for obj, key, plaintext in pending:  # nothing was written: put the caller's values back
            setattr(obj, key, plaintext)
        raise
    session.info[_PENDING] = pending


def _seal(
    session: Session, crypto: MapperCrypto, values: dict[str, Any], attr: EncryptedAttr, plaintext: str
) -> Ciphertext:
    """``plaintext`` of ``attr`` encrypted under its scope's active data key, bound to its row."""
    scope, _ = crypto.scope(values, attr.spec.scope)
    keys = _write_keys(session, scope, KeyFamily.data)
    assert keys.active is not None
    return encrypt_value(plaintext, keys.keys[keys.active], keys.active, crypto.where(values, attr))


def _index(
    session: Session, crypto: MapperCrypto, values: dict[str, Any], index: IndexAttr, source: str
) -> str:
    """The blind index of ``source`` under its scope's index key."""
    scope, _ = crypto.scope(values, index.spec.scope)
    return index_value(_write_keys(session, scope, KeyFamily.blind_index), index.spec, source)


def _encrypt_changes(session: Session, pending: list[tuple[Any, str, str]]) -> None:
    for obj in [*session.new, *session.dirty]:
        state: InstanceState[Any] = inspect(obj)
        crypto = crypto_of(state.mapper)
        if crypto is None:
            continue
        is_new = state.key is None
        if is_new:
            _assign_pk(crypto, obj)
        moved = not is_new and (
            _changed(state, crypto.pk_key)
            or (crypto.tenant_key is not None and _changed(state, crypto.tenant_key))
        )
        plaintexts: dict[str, str | None] = {}
        for attr in crypto.encrypted:
            if attr.key not in state.dict:
                continue
            value = state.dict[attr.key]
            if not (is_new or moved or _changed(state, attr.key)):
                continue
            if isinstance(value, Ciphertext):  # left over from a failed flush
                continue
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{crypto.table}.{attr.column} takes text")
            plaintexts[attr.key] = value
            if value is None:
                continue
            setattr(obj, attr.key, _seal(session, crypto, state.dict, attr, value))
            pending.append((obj, attr.key, value))
        for index in crypto.indexes:
            if index.spec.source not in plaintexts:
                continue
            source = plaintexts[index.spec.source]
            if source is None:
                setattr(obj, index.key, None)
                continue
            setattr(obj, index.key, _index(session, crypto, state.dict, index, source))


def sealed_rows(session: Session, model: type[Any], objects: Any) -> list[dict[str, Any]]:
    """The column values of new, *transient* ``objects`` of ``model`` as plain rows for one
    ``insert(model)`` executemany, each encrypted column sealed and each blind index computed exactly
    as a flush would (same AAD, key and format): a bulk writer skips the unit of work, not the
    encryption. The objects stay as they were (plaintext, not in the session).

    Insert them with ``insert(model.__table__)`` (Core): every row has the same keys, None included,
    so they go in one executemany, where the ORM's bulk insert would split them wherever a value is
    None in one row and not in the next."""
    mapper: Mapper[Any] = inspect(model)
    keys = [prop.key for prop in mapper.column_attrs]
    columns = {prop.key: prop.columns[0].key for prop in mapper.column_attrs}
    crypto = crypto_of(mapper)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        if crypto is not None:
            _assign_pk(crypto, obj)
        values = obj.__dict__
        row = {key: values[key] for key in keys if key in values}
        if crypto is not None:
            plaintexts: dict[str, Any] = {}
            for attr in crypto.encrypted:
                if attr.key not in row or isinstance(row[attr.key], Ciphertext):
                    continue
                value = plaintexts[attr.key] = row[attr.key]
                if value is None:
                    continue
                if not isinstance(value, str):
                    raise TypeError(f"{crypto.table}.{attr.column} takes text")
                row[attr.key] = _seal(session, crypto, row, attr, value)
            for index in crypto.indexes:
                if index.spec.source not in plaintexts:
                    continue
                if plaintexts[index.spec.source] is None:
                    row[index.key] = None  # as a flush leaves it: every row has the same keys
                    continue
                row[index.key] = _index(session, crypto, row, index, plaintexts[index.spec.source])
        rows.append({columns[key]: value for key, value in row.items()})
    return rows


@event.listens_for(Session, "after_flush_postexec")
def _restore_after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj, key, plaintext in session.info.pop(_PENDING, []):
        set_committed_value(obj, key, plaintext)


@event.listens_for(Session, "after_soft_rollback")
def _restore_after_failed_flush(session: Session, previous_transaction: Any) -> None:
    for obj, key, plaintext in session.info.pop(_PENDING, []):
        if inspect(obj).key is None:  # not saved: give the caller's plaintext back
            set_committed_value(obj, key, plaintext)


def encrypted_columns(metadata: Any) -> list[tuple[Any, Any]]:
    """``(table, column)`` of every encrypted column in ``metadata`` (rotation, inventory checks)."""
    return [
        (table, column)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.info.get(ENCRYPTED_INFO), EncryptedSpec)
    ]
