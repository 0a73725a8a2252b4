"""The record of processing activities, resolved from the declarations on the models.

:func:`resolve` turns a declarative base into one :class:`TableRecord` per table of its metadata, each
column with its *effective* declaration (the column's own values, else the table's defaults).
:func:`subject_paths` walks foreign keys and declared subject keys to say how each subject's rows are
found (the reachability rule, ``docs/privacy/inventory-rules.md``). :func:`build` gives the record in
one language; :func:`render_csv`, :func:`render_json` and :func:`render_markdown` export it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import DeclarativeBase

from huike.privacy.inventory import (
    IDENTITIES,
    INFO_KEY,
    MUST_ENCRYPT,
    NATURAL_PERSONS,
    STRUCTURAL,
    TAXONOMY,
    Erasure,
    FieldInventory,
    JsonPath,
    LegalBasis,
    Locale,
    Owner,
    Purpose,
    Subject,
    SubjectKey,
    TableInventory,
    category_label,
    purpose_label,
)
from huike.privacy.ropa.schemas import (
    ColumnRead,
    InventoryRead,
    JsonPathRead,
    RetentionRead,
    RopaPurposeRead,
    TableRead,
)
from huike.security.fields import EncryptedText

# --- resolution ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRecord:
    table: str
    column: Column[Any]
    declared: FieldInventory | None  # None: structural without a declaration, or missing
    structural: bool
    category: str | None
    personal: bool
    sensitive: bool
    encrypted: bool  # declared
    encrypted_type: bool  # the column's type is EncryptedText
    subject: Subject | None
    purposes: tuple[Purpose, ...]
    erasure: Erasure | None
    notes: str
    json_paths: Mapping[str, JsonPath]

    @property
    def name(self) -> str:
        return self.column.name

    def subjects(self) -> set[Subject]:
        """The natural persons this column holds data about (its own subject and its JSON paths')."""
        found: set[Subject] = set()
        if self.personal and self.subject in NATURAL_PERSONS:
            found.add(self.subject)
        for path in self.json_paths.values():
            found.update(subject for subject in path.subjects if subject in NATURAL_PERSONS)
        return found


@dataclass(frozen=True)
class TableRecord:
    table: Table
    inventory: TableInventory | None
    columns: tuple[ColumnRecord, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def personal(self) -> bool:
        return any(column.personal for column in self.columns)

    def subjects(self) -> set[Subject]:
        found: set[Subject] = set()
        for column in self.columns:
            found |= column.subjects()
        return found

    def column(self, name: str) -> ColumnRecord | None:
        return next((column for column in self.columns if column.name == name), None)


def _inventories(base: type[DeclarativeBase]) -> dict[str, TableInventory | None]:
    found: dict[str, TableInventory | None] = {}
    for mapper in base.registry.mappers:
        table = mapper.local_table
        if not isinstance(table, Table):  # pragma: no cover - joined or selectable mappings
            continue
        declared = getattr(mapper.class_, "__inventory__", None)
        found[table.name] = declared if isinstance(declared, TableInventory) else None
    return found


def _column_record(table: Table, column: Column[Any], inventory: TableInventory | None) -> ColumnRecord:
    declared = column.info.get(INFO_KEY)
    field = declared if isinstance(declared, FieldInventory) else None
    structural = column.name in STRUCTURAL
    category = field.category if field is not None else STRUCTURAL.get(column.name)
    purposes = (field.purposes if field is not None else None) or (inventory.purposes if inventory else ())
    erasure = (field.erasure if field is not None else None) or (inventory.erasure if inventory else None)
    subject = (field.subject if field is not None else None) or (inventory.subject if inventory else None)
    registered = TAXONOMY.get(category) if category is not None else None
    return ColumnRecord(
        table=table.name,
        column=column,
        declared=field,
        structural=structural,
        category=category,
        personal=field.personal if field is not None else False,
        sensitive=(field.sensitive if field is not None else False)
        or (registered.sensitive if registered is not None else False),
        encrypted=field.encrypted if field is not None else False,
        encrypted_type=isinstance(column.type, EncryptedText),
        subject=subject,
        purposes=purposes,
        erasure=erasure,
        notes=field.notes if field is not None else "",
        json_paths=field.json_paths if field is not None else {},
    )


def resolve(base: type[DeclarativeBase]) -> list[TableRecord]:
    """Every table of ``base.metadata`` (sorted by name) with its effective declarations."""
    inventories = _inventories(base)
    records = []
    for name in sorted(base.metadata.tables):
        table = base.metadata.tables[name]
        inventory = inventories.get(name)
        columns = tuple(_column_record(table, column, inventory) for column in table.columns)
        records.append(TableRecord(table, inventory, columns))
    return records


# --- reachability ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyTarget:
    """What a subject key names: a column, maybe a path inside it, and the category found there."""

    column: ColumnRecord
    path: str | None
    category: str | None


def resolve_key(record: TableRecord, key: str) -> KeyTarget | None:
    """``"column"`` or ``"column.Json.Path"``; None when the column or the declared path does not exist."""
    name, _, path = key.partition(".")
    column = record.column(name)
    if column is None:
        return None
    if not path:
        return KeyTarget(column, None, column.category)
    declared = column.json_paths.get(path)
    if declared is None:
        return None
    return KeyTarget(column, path, declared.category)


class Reachability:
    """Finds, for a (table, subject), how the subject's rows are found from the subject's identity:

    1. a declared key of the table for that subject (``subject_key`` for the table's subject, or an
       entry of ``subject_keys``) whose column or JSON path has one of the subject's identity
       categories (:data:`~huike.privacy.inventory.IDENTITIES`): it *holds* the identity; or which is
       the table's primary key declared for the table's own subject: the row *is* the subject's
       record (``users.id``); or whose column is a foreign key to a table where the subject is
       reachable: it holds a *reference*;
    2. otherwise a foreign key of the table to a table where the subject is reachable.

    Foreign keys are followed from the referring table to the referred one only (a subject's rows are
    found by what points at the subject's row); cycles are cut. Every declared key that works is a
    separate route (e.g. an actor id and an actor pseudonym); one foreign-key route suffices.
    """

    def __init__(self, records: Iterable[TableRecord]) -> None:
        self.records = {record.name: record for record in records}
        self._memo: dict[tuple[str, Subject], list[list[str]]] = {}

    def routes(self, table: str, subject: Subject) -> list[list[str]]:
        """Each route is a list of steps; no route means the subject's rows cannot be found."""
        return self._find(table, subject, frozenset())

    def _find(self, table: str, subject: Subject, visiting: frozenset[str]) -> list[list[str]]:
        memo_key = (table, subject)
        if memo_key in self._memo:
            return self._memo[memo_key]
        record = self.records.get(table)
        if record is None or record.inventory is None or table in visiting:
            return []
        inner = visiting | {table}
        found = self._by_key(record, subject, inner) or self._by_foreign_key(record, subject, inner)
        if found or not visiting:  # a miss below the top may be a cut cycle: not final
            self._memo[memo_key] = found
        return found

    def _by_key(self, record: TableRecord, subject: Subject, visiting: frozenset[str]) -> list[list[str]]:
        inventory = record.inventory
        assert inventory is not None
        routes: list[list[str]] = []
        for key in inventory.all_keys():
            if key.subject != subject:
                continue
            target = resolve_key(record, key.key)
            if target is None:
                continue
            if target.category in IDENTITIES.get(subject, frozenset()):
                how = f"; {key.how}" if key.how else ""
                routes.append([f"{record.name}.{key.key} [{target.category}{how}]"])
                continue
            if target.path is None and target.column.column.primary_key and subject == inventory.subject:
                # the table's own primary key, declared as its subject's key: the row *is* the
                # subject's record (users.id is the user id, tenants.id the tenant)
                routes.append([f"{record.name}.{key.key} [primary key: the subject's own row]"])
                continue
            if target.path is None:
                for fk in target.column.column.foreign_keys:
                    rest = self._find(fk.column.table.name, subject, visiting)
                    if rest:
                        routes.append([f"{record.name}.{key.key} → {fk.column.table.name}", *rest[0]])
                        break
        return routes

    def _by_foreign_key(
        self, record: TableRecord, subject: Subject, visiting: frozenset[str]
    ) -> list[list[str]]:
        for column in record.columns:
            for fk in sorted(column.column.foreign_keys, key=lambda fk: fk.target_fullname):
                rest = self._find(fk.column.table.name, subject, visiting)
                if rest:
                    return [[f"{record.name}.{column.name} → {fk.column.table.name}", *rest[0]]]
        return []


def subject_paths(records: list[TableRecord]) -> dict[str, dict[Subject, list[list[str]]]]:
    """For each personal table, each natural person it holds data about, and the routes to them."""
    reach = Reachability(records)
    return {
        record.name: {subject: reach.routes(record.name, subject) for subject in sorted(record.subjects())}
        for record in records
        if record.personal
    }


# --- labels ------------------------------------------------------------------------------------------

SUBJECT_LABELS: dict[Subject, tuple[str, str]] = {
    Subject.account_holder: ("授权用户（平台帐号持有人）", "Account holder"),
    Subject.member: ("企业成员", "Member of a customer's corp"),
    Subject.customer_admin: ("客户管理员", "Customer administrator"),
    Subject.external_contact: ("外部联系人客户", "External contact"),
    Subject.guardian: ("监护人", "Guardian"),
    Subject.tenant: ("客户企业（非自然人）", "Customer organisation (not a person)"),
    Subject.none: ("无", "None"),
}

OWNER_LABELS: dict[Owner, tuple[str, str]] = {
    Owner.platform: ("平台为个人信息处理者", "The platform as handler"),
    Owner.customer: (
        "客户为个人信息处理者，平台为受托处理者",
        "The customer as handler, the platform as entrusted processor",
    ),
}

BASIS_LABELS: dict[LegalBasis, tuple[str, str]] = {
    LegalBasis.consent: ("取得个人同意", "Consent"),
    LegalBasis.contract: ("订立、履行合同所必需", "Necessary for a contract"),
    LegalBasis.legal_duty: ("履行法定职责或法定义务所必需", "Necessary for a legal duty"),
    LegalBasis.exception: ("法律、行政法规规定的其他情形", "Another case the law provides for"),
}

ERASURE_LABELS: dict[Erasure, tuple[str, str]] = {
    Erasure.delete_row: ("删除记录", "Delete the row"),
    Erasure.null: ("清空字段", "Set the column to null"),
    Erasure.anonymise: ("匿名化", "Anonymise"),
    Erasure.pseudonymise_under_hold: ("依法留存期内假名化保存", "Pseudonymised, kept under legal hold"),
    Erasure.keep: ("保留（非个人信息）", "Keep (not personal)"),
}

TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    "created": ("创建", "creation"),
    "account_closed": ("帐号注销", "account closure"),
    "tenant_terminated": ("客户服务终止", "termination of the tenant's service"),
    "authorisation_closed": ("解除授权", "end of the authorisation"),
    "ticket_closed": ("工单关闭", "closing of the ticket"),
}

REGION_LABELS: dict[str, tuple[str, str]] = {"cn-mainland": ("中国境内", "Mainland China")}

_YES_NO = {"zh-CN": ("是", "否"), "en": ("yes", "no")}


def _pick(pair: tuple[str, str], locale: Locale) -> str:
    return pair[1] if locale == "en" else pair[0]


def _purposes(purposes: tuple[Purpose, ...], locale: Locale) -> list[RopaPurposeRead]:
    return [
        RopaPurposeRead(
            code=purpose.code,
            label=purpose_label(purpose.code, locale),
            legal_basis=purpose.basis.value,
            legal_basis_label=_pick(BASIS_LABELS[purpose.basis], locale),
        )
        for purpose in purposes
    ]


def _retention(inventory: TableInventory, locale: Locale) -> RetentionRead:
    rule = inventory.retention
    action = _pick(ERASURE_LABELS[rule.action], locale)
    if rule.trigger == "never" or rule.days is None:
        text = "长期保存" if locale == "zh-CN" else "Kept without a time limit"
    else:
        trigger = _pick(TRIGGER_LABELS.get(rule.trigger, (rule.trigger, rule.trigger)), locale)
        if locale == "en":
            text = f"{action} {rule.days} days after {trigger}"
        else:
            text = f"{trigger}后 {rule.days} 天：{action}"
    return RetentionRead(trigger=rule.trigger, days=rule.days, action=rule.action.value, text=text)


def _subject(subject: Subject | None, locale: Locale) -> tuple[str, str]:
    value = subject or Subject.none
    return value.value, _pick(SUBJECT_LABELS[value], locale)


def _column_read(column: ColumnRecord, locale: Locale) -> ColumnRead:
    category = column.category or ""
    subject, subject_label = _subject(column.subject if column.personal else Subject.none, locale)
    erasure = column.erasure or Erasure.keep
    return ColumnRead(
        column=column.name,
        category=category,
        category_label=category_label(category, locale),
        structural=column.structural,
        personal=column.personal,
        sensitive=column.sensitive,
        encrypted=column.encrypted,
        subject=subject,
        subject_label=subject_label,
        purposes=_purposes(column.purposes, locale),
        erasure=erasure.value,
        erasure_label=_pick(ERASURE_LABELS[erasure], locale),
        notes=column.notes,
        json_paths=[
            JsonPathRead(
                path=path,
                category=declared.category,
                category_label=category_label(declared.category, locale),
                subjects=[subject.value for subject in declared.subjects],
                notes=declared.notes,
            )
            for path, declared in sorted(column.json_paths.items())
        ],
    )


def route_text(route: list[str]) -> str:
    return " → ".join(route)


def _paths(paths: Mapping[Subject, list[list[str]]], locale: Locale) -> list[str]:
    lines = []
    for subject, routes in paths.items():
        label = _pick(SUBJECT_LABELS[subject], locale)
        if not routes:
            lines.append(f"{label}: " + ("（无法到达）" if locale == "zh-CN" else "(unreachable)"))
        lines += [f"{label}: {route_text(route)}" for route in routes]
    return lines


def build(base: type[DeclarativeBase], locale: Locale) -> InventoryRead:
    """The record of processing activities of every table of ``base``, labelled in ``locale``.

    Tables without an ``__inventory__`` are left out (the coverage test fails on them)."""
    records = resolve(base)
    paths = subject_paths(records)
    tables = []
    for record in records:
        inventory = record.inventory
        if inventory is None:
            continue
        subject, subject_label = _subject(inventory.subject, locale)
        tables.append(
            TableRead(
                table=record.name,
                personal=record.personal,
                subject=subject,
                subject_label=subject_label,
                owner_role=inventory.owner.value,
                owner_label=_pick(OWNER_LABELS[inventory.owner], locale),
                purposes=_purposes(inventory.purposes, locale),
                retention=_retention(inventory, locale),
                erasure=inventory.erasure.value,
                erasure_label=_pick(ERASURE_LABELS[inventory.erasure], locale),
                region=inventory.region,
                region_label=_pick(REGION_LABELS.get(inventory.region, (inventory.region,) * 2), locale),
                subject_paths=_paths(paths.get(record.name, {}), locale),
                notes=inventory.notes,
                columns=[_column_read(column, locale) for column in record.columns],
            )
        )
    return InventoryRead(locale=locale, encrypted_categories=sorted(MUST_ENCRYPT), tables=tables)


# --- exports -----------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("table", "数据表", "Table"),
    ("column", "字段", "Column"),
    ("category", "类别", "Category"),
    ("category_label", "类别名称", "Category name"),
    ("personal", "个人信息", "Personal"),
    ("sensitive", "敏感个人信息", "Sensitive"),
    ("encrypted", "加密存储", "Encrypted"),
    ("subject", "个人信息主体", "Data subject"),
    ("owner_role", "处理者角色", "Owner role"),
    ("purposes", "处理目的及合法性基础", "Purposes and legal basis"),
    ("retention", "保存期限", "Retention"),
    ("erasure", "删除方式", "Erasure action"),
    ("region", "存储地域", "Storage region"),
    ("notes", "说明", "Notes"),
)


def csv_header(locale: Locale) -> list[str]:
    return [en if locale == "en" else zh for _, zh, en in CSV_COLUMNS]


def _purpose_text(purposes: list[RopaPurposeRead], locale: Locale) -> str:
    open_, close = ("（", "）") if locale == "zh-CN" else (" (", ")")
    return "; ".join(f"{p.label}{open_}{p.legal_basis_label}{close}" for p in purposes)


def _column_row(table: TableRead, column: ColumnRead, locale: Locale) -> dict[str, str]:
    yes, no = _YES_NO[locale]
    notes = column.notes
    if column.json_paths:
        listed = ", ".join(f"{p.path} [{p.category}]" for p in column.json_paths)
        notes = f"{notes} JSON: {listed}".strip()
    return {
        "table": table.table,
        "column": column.column,
        "category": column.category,
        "category_label": column.category_label,
        "personal": yes if column.personal else no,
        "sensitive": yes if column.sensitive else no,
        "encrypted": yes if column.encrypted else no,
        "subject": column.subject_label,
        "owner_role": table.owner_label,
        "purposes": _purpose_text(column.purposes, locale),
        "retention": table.retention.text,
        "erasure": column.erasure_label,
        "region": table.region_label,
        "notes": notes,
    }


def _cell(value: str) -> str:
    """Declarations are not user input, but a spreadsheet must never read a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def render_csv(record: InventoryRead) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads Chinese correctly), CRLF rows, localised header."""
    locale: Locale = "en" if record.locale == "en" else "zh-CN"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_header(locale))
    for table in record.tables:
        for column in table.columns:
            row = _column_row(table, column, locale)
            writer.writerow([_cell(row[key]) for key, _, _ in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def render_json(record: InventoryRead) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


_MD_TEXT = {
    "zh-CN": {
        "title": "数据清单：个人信息处理活动记录",
        "generated": (
            "由 `huike inventory export --format md --output docs/privacy/inventory.md` 根据模型上的声明生成，"
            "请勿手工编辑；规则见 [inventory-rules.md](inventory-rules.md)。"
        ),
        "encrypted": "必须加密存储的类别",
        "subject": "主体",
        "owner": "处理者角色",
        "purposes": "目的及合法性基础",
        "retention": "保存期限",
        "erasure": "删除方式",
        "region": "存储地域",
        "paths": "查找路径",
        "notes": "说明",
        "personal_tables": "含个人信息的表",
        "other_tables": "不含个人信息的表",
    },
    "en": {
        "title": "Data inventory: record of processing activities",
        "generated": (
            "Generated by `huike inventory export --format md --output docs/privacy/inventory.md` from the "
            "declarations on the models; do not edit. The rules are in [inventory-rules.md](inventory-rules.md)."
        ),
        "encrypted": "Categories that must be encrypted",
        "subject": "Subject",
        "owner": "Owner role",
        "purposes": "Purposes and legal basis",
        "retention": "Retention",
        "erasure": "Erasure",
        "region": "Storage region",
        "paths": "How a subject's rows are found",
        "notes": "Notes",
        "personal_tables": "Tables with personal data",
        "other_tables": "Tables without personal data",
    },
}


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def render_markdown(record: InventoryRead) -> str:
    locale: Locale = "en" if record.locale == "en" else "zh-CN"
    text = _MD_TEXT[locale]
    header = csv_header(locale)
    keys = [key for key, _, _ in CSV_COLUMNS]
    shown = ["column", "category", "category_label", "personal", "sensitive", "encrypted", "subject"]
    shown += ["purposes", "erasure", "notes"]
    lines = [f"# {text['title']}", "", f"> {text['generated']}", ""]
    lines += [f"{text['encrypted']}: " + ", ".join(f"`{key}`" for key in record.encrypted_categories), ""]
    for personal in (True, False):
        lines += [f"## {text['personal_tables' if personal else 'other_tables']}", ""]
        for table in record.tables:
            if table.personal != personal:
                continue
            lines += [f"### `{table.table}`", ""]
            lines.append(f"- {text['subject']}: {table.subject_label}")
            lines.append(f"- {text['owner']}: {table.owner_label}")
            lines.append(f"- {text['purposes']}: {_purpose_text(table.purposes, locale)}")
            lines.append(f"- {text['retention']}: {table.retention.text}")
            lines.append(f"- {text['erasure']}: {table.erasure_label}")
            lines.append(f"- {text['region']}: {table.region_label}")
            for path in table.subject_paths:
                lines.append(f"- {text['paths']}: {_md(path)}")
            if table.notes:
                lines.append(f"- {text['notes']}: {_md(table.notes)}")
            lines.append("")
            lines.append("| " + " | ".join(header[keys.index(key)] for key in shown) + " |")
            lines.append("|" + "---|" * len(shown))
            for column in table.columns:
                row = _column_row(table, column, locale)
                row["column"] = f"`{row['column']}`"
                row["category"] = f"`{row['category']}`"
                lines.append("| " + " | ".join(_md(row[key]) for key in shown) + " |")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def export(base: type[DeclarativeBase], fmt: str, locale: Locale) -> bytes:
    """The record in ``fmt`` (csv, json or md) as bytes, ready to write to a file."""
    record = build(base, locale)
    if fmt == "csv":
        return render_csv(record)
    if fmt == "json":
        return render_json(record).encode()
    if fmt == "md":
        return render_markdown(record).encode()
    raise ValueError(f"unknown format {fmt!r}; one of csv, json, md")


__all__ = [
    "ColumnRecord",
    "KeyTarget",
    "Reachability",
    "SubjectKey",
    "TableRecord",
    "build",
    "export",
    "render_csv",
    "render_json",
    "render_markdown",
    "resolve",
    "resolve_key",
    "subject_paths",
]
