"""The F1 checks over the declarations: coverage, encryption, reachability and forbidden combinations.

Each function takes a declarative base (``huike.models.Base`` in CI; a small throwaway base in the
tests that prove a check catches what it should) and returns a list of problems, empty when all is
well. ``docs/privacy/inventory-rules.md`` explains each rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import JSON

from huike.privacy.egress import Recipient, Role
from huike.privacy.inventory import (
    IDENTITIES,
    MUST_ENCRYPT,
    NATURAL_PERSONS,
    PURPOSES,
    REGIONS,
    TAXONOMY,
    TOP_LEVELS,
    TRIGGERS,
    Erasure,
    LegalBasis,
    is_marketing,
    matches_registered,
)
from huike.privacy.ropa.service import TableRecord, resolve, resolve_key, route_text, subject_paths
from huike.security.blind_index import BLIND_INDEX_INFO, BlindIndexSpec


@dataclass(frozen=True)
class Problem:
    table: str
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where}: {self.message}"


def _is_json(record: TableRecord, name: str) -> bool:
    column = record.column(name)
    return column is not None and isinstance(column.column.type, JSON)


def coverage(base: type[DeclarativeBase]) -> list[Problem]:
    """Every table declares ``__inventory__``; every non-structural column a registered category; the
    declarations name only columns and JSON paths that exist; encryption matches the column type and
    the policy; personal data has a natural-person subject, registered purposes and an erasure action
    that erases; retention rules use the known triggers."""
    return [problem for record in resolve(base) for problem in _table_coverage(record)]


def _table_coverage(record: TableRecord) -> list[Problem]:
    problems: list[Problem] = []

    def add(column: str | None, message: str) -> None:
        problems.append(Problem(record.name, column, message))

    inventory = record.inventory
    if inventory is None:
        add(None, "no __inventory__ = TableInventory(...) on its model")
    else:
        rule = inventory.retention
        if rule.trigger not in TRIGGERS:
            add(None, f"retention trigger {rule.trigger!r} is not one of {', '.join(TRIGGERS)}")
        if (rule.trigger == "never") != (rule.days is None):
            add(None, "retention: 'never' has no days, every other trigger has some")
        for purpose in inventory.purposes:
            if purpose.code not in PURPOSES:
                add(None, f"purpose {purpose.code!r} is not registered in inventory.PURPOSES")
        if not inventory.purposes:
            add(None, "no purpose")
        for key in inventory.all_keys():
            if resolve_key(record, key.key) is None:
                add(None, f"subject key {key.key!r} names no column or declared JSON path of the table")
    for column in record.columns:
        problems += _column_coverage(record, column.name)
    return problems


def _column_coverage(record: TableRecord, name: str) -> list[Problem]:
    column = record.column(name)
    assert column is not None
    problems: list[Problem] = []

    def add(message: str) -> None:
        problems.append(Problem(record.name, name, message))

    if column.declared is None and not column.structural:
        add("no declaration: add info=describe(<category>, ...) (or use encrypted_column / secret_column)")
        return problems
    category = column.category or ""
    if category not in TAXONOMY or category.split(".")[0] not in TOP_LEVELS:
        add(f"category {category!r} is not in the taxonomy (inventory.TAXONOMY)")
    if column.encrypted_type and not column.encrypted:
        add("stored as EncryptedText but not declared encrypted")
    if column.encrypted and not column.encrypted_type:
        add("declared encrypted but its type is not EncryptedText: use encrypted_column / secret_column")
    if category in MUST_ENCRYPT and not column.encrypted_type:
        add(f"{category} must be encrypted at rest (inventory.MUST_ENCRYPT): use encrypted_column")
    if category.startswith("user.") and not column.personal:
        add(f"{category} is about a person: declare personal=True")
    if column.personal:
        if column.subject not in NATURAL_PERSONS:
            subject = column.subject.value if column.subject else None
            add(f"personal data needs a natural person as subject, not {subject!r}")
        if column.erasure in (None, Erasure.keep):
            add("personal data needs an erasure action other than 'keep'")
        for purpose in column.purposes:
            if purpose.code not in PURPOSES:
                add(f"purpose {purpose.code!r} is not registered in inventory.PURPOSES")
    if column.json_paths and not _is_json(record, name):
        add("json_paths declared on a column that is not JSON")
    for path, declared in column.json_paths.items():
        if declared.category not in TAXONOMY:
            add(f"JSON path {path}: category {declared.category!r} is not in the taxonomy")
        if not declared.subjects:
            add(f"JSON path {path}: no subject")
        if not column.personal:
            add(f"JSON path {path} is declared, so the column is personal: declare personal=True")
    index = column.column.info.get(BLIND_INDEX_INFO)
    if isinstance(index, BlindIndexSpec):
        source = record.column(index.source)
        if source is None:
            add(f"blind index of {index.source!r}, which is not a column of the table")
    return problems


def identity_paths_are_keys(base: type[DeclarativeBase]) -> list[Problem]:
    """A JSON path holding a subject's identity is invisible to a column walk, so it must be declared
    as one of the table's subject keys (``subject_key`` / ``subject_keys``) for each of its subjects."""
    problems = []
    for record in resolve(base):
        if record.inventory is None:
            continue
        declared = {(key.subject, key.key) for key in record.inventory.all_keys()}
        for column in record.columns:
            for path, json_path in column.json_paths.items():
                for subject in json_path.subjects:
                    if json_path.category not in IDENTITIES.get(subject, frozenset()):
                        continue
                    if (subject, f"{column.name}.{path}") not in declared:
                        problems.append(
                            Problem(
                                record.name,
                                column.name,
                                f"JSON path {path} holds a {subject.value}'s identity but is not a subject key",
                            )
                        )
    return problems


def reachability(base: type[DeclarativeBase]) -> tuple[list[Problem], list[str]]:
    """Problems (unreachable (table, subject) pairs) and the routes found for every personal table."""
    paths = subject_paths(resolve(base))
    problems: list[Problem] = []
    report: list[str] = []
    for table, by_subject in paths.items():
        if not by_subject:
            problems.append(Problem(table, None, "personal, but about no natural person"))
            report.append(f"{table}: (no natural-person subject)")
        for subject, routes in by_subject.items():
            if not routes:
                report.append(f"{table} [{subject.value}]: UNREACHABLE")
                problems.append(
                    Problem(
                        table,
                        None,
                        f"{subject.value}'s rows cannot be found: declare a subject key holding the "
                        "identity or a reference, or a foreign key to a table that has one",
                    )
                )
            report += [f"{table} [{subject.value}]: {route_text(route)}" for route in routes]
    return problems, report


# --- forbidden combinations ------------------------------------------------------------------------


def egress_combinations(register: Mapping[str, Recipient]) -> list[Problem]:
    """No recipient outside the mainland; every category a recipient receives is in the taxonomy;
    no affiliate receives a sensitive category (R-SH-1: that needs separate consent, which a flow
    cannot carry)."""
    problems = []
    for key, recipient in register.items():
        where = f"egress:{key}"
        if recipient.region not in REGIONS:
            problems.append(Problem(where, None, f"recipient in {recipient.region!r}, outside the mainland"))
        for flow in recipient.flows:
            for pattern in flow.categories:
                if not matches_registered(pattern):
                    problems.append(Problem(where, None, f"category {pattern!r} is not in the taxonomy"))
                elif recipient.role == Role.affiliate and _sensitive(pattern):
                    problems.append(Problem(where, None, f"sensitive {pattern!r} to an affiliate"))
    return problems


def _sensitive(pattern: str) -> bool:
    prefix = pattern[:-2] if pattern.endswith(".*") else pattern
    return any(
        category.sensitive and (key == prefix or key.startswith(prefix + "."))
        for key, category in TAXONOMY.items()
    )


def storage_combinations(base: type[DeclarativeBase]) -> list[Problem]:
    """Storage stays in the mainland; a sensitive category used for marketing rests on consent."""
    problems = []
    for record in resolve(base):
        if record.inventory is not None and record.inventory.region not in REGIONS:
            problems.append(
                Problem(record.name, None, f"stored in {record.inventory.region!r}, outside the mainland")
            )
        for column in record.columns:
            if not (column.personal and column.sensitive):
                continue
            for purpose in column.purposes:
                if is_marketing(purpose) and purpose.basis != LegalBasis.consent:
                    problems.append(
                        Problem(
                            record.name,
                            column.name,
                            f"sensitive data used for marketing ({purpose.code}) on {purpose.basis.value}, "
                            "not consent",
                        )
                    )
    return problems


def all_problems(base: type[DeclarativeBase], register: Mapping[str, Recipient]) -> list[Problem]:
    problems: list[Problem] = [*coverage(base), *identity_paths_are_keys(base)]
    problems += reachability(base)[0]
    problems += storage_combinations(base) + egress_combinations(register)
    return problems


def lines(problems: Iterable[Problem]) -> str:
    return "\n".join(f"  - {problem}" for problem in problems)
