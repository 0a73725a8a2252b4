"""F1 data inventory: coverage, encryption, reachability and forbidden combinations over every model,
plus throwaway models that prove each check catches what it should. Rules: docs/privacy/inventory-rules.md."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import JSON

import huike.models
from huike.privacy.egress import REGISTER, Recipient, Role
from huike.privacy.inventory import (
    MUST_ENCRYPT,
    SYSTEM_TABLE,
    TAXONOMY,
    TOP_LEVELS,
    Erasure,
    JsonPath,
    LegalBasis,
    Owner,
    Purpose,
    Retention,
    Subject,
    SubjectKey,
    TableInventory,
    describe,
)
from huike.privacy.ropa import checks
from huike.privacy.ropa.service import export
from huike.security.fields import encrypted_column

Base = huike.models.Base
DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy" / "inventory.md"
REGENERATE = "huike inventory export --format md --output docs/privacy/inventory.md"


def _fail(title: str, problems: list[checks.Problem], extra: str = "") -> str:
    return f"{title}:\n{checks.lines(problems)}\n{extra}"


# --- the real models ---------------------------------------------------------------------------------


def test_f1_coverage_every_table_and_column_is_declared() -> None:
    problems = checks.coverage(Base) + checks.identity_paths_are_keys(Base)
    assert not problems, _fail(
        "inventory declarations missing or wrong (see docs/privacy/inventory-rules.md)", problems
    )


def test_f1_coverage_sees_every_table() -> None:
    names = set(Base.metadata.tables)
    assert {
        "audit_events",
        "jobs",
        "job_outbox",
        "wecom_inbox_events",
        "wecom_connections",
        "tenants",
    } <= names


def test_f1_reachability_every_personal_table_is_found_from_a_subject() -> None:
    problems, report = checks.reachability(Base)
    paths = "routes found:\n" + "\n".join(f"  {line}" for line in report)
    assert not problems, _fail("personal tables a subject's identity cannot reach", problems, paths)
    # the two special cases are reached through declared keys, not exempted
    assert any(
        line.startswith("audit_events [account_holder]: audit_events.actor_pseudonym [user.pseudonym")
        for line in report
    ), paths
    assert any(
        line.startswith("wecom_inbox_events [external_contact]: wecom_inbox_events.payload.ExternalUserID")
        for line in report
    ), paths
    assert any(
        line.startswith("wecom_inbox_events [member]: wecom_inbox_events.payload.UserID") for line in report
    ), paths


def test_f1_forbidden_combinations_none_in_models_or_register() -> None:
    problems = checks.storage_combinations(Base) + checks.egress_combinations(REGISTER)
    assert not problems, _fail("forbidden combinations (F1)", problems)


def test_f1_every_recipient_is_in_the_mainland() -> None:
    assert {recipient.region for recipient in REGISTER.values()} == {"cn-mainland"}


def test_taxonomy_is_dotted_under_four_roots_with_both_labels() -> None:
    for key, category in TAXONOMY.items():
        assert key.split(".")[0] in TOP_LEVELS, key
        assert category.zh, key
        assert category.en, key
        assert category.key == key
    assert {"user.contact.phone_number", "system.wecom_credentials.app_secret"} <= MUST_ENCRYPT
    assert "user.contact.phone_number.blind_index" not in MUST_ENCRYPT


def test_docs_inventory_md_is_current() -> None:
    expected = export(Base, "md", "zh-CN").decode()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == expected, f"docs/privacy/inventory.md is stale: run `{REGENERATE}` and commit it"


# --- throwaway models: each check catches what it should ---------------------------------------------

PERSONAL = TableInventory(
    subject=Subject.account_holder,
    owner=Owner.platform,
    purposes=(Purpose("account.login"),),
    retention=Retention("account_closed", 30, Erasure.delete_row),
    erasure=Erasure.delete_row,
    subject_key="user_id",
)


def _base() -> type[DeclarativeBase]:
    class Throwaway(DeclarativeBase):
        pass

    return Throwaway


def _messages(problems: list[checks.Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def test_coverage_catches_missing_and_wrong_declarations() -> None:
    base = _base()

    class NoInventory(base):  # type: ignore[valid-type, misc]
        __tablename__ = "no_inventory"
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        note: Mapped[str] = mapped_column(String(10))

    class Wrong(base):  # type: ignore[valid-type, misc]
        __tablename__ = "wrong"
        __inventory__ = replace(PERSONAL, subject_key="nobody")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        user_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
        odd: Mapped[str] = mapped_column(String(10), info=describe("user.shoe_size", personal=True))
        mobile: Mapped[str] = mapped_column(
            String(20), info=describe("user.contact.phone_number", personal=True)
        )
        claims: Mapped[str] = mapped_column(
            String(20), info=describe("user.name", personal=True, encrypted=True)
        )
        hidden: Mapped[str] = encrypted_column("user.name")
        hidden.column.info.pop("huike.inventory")  # an EncryptedText column that lost its declaration
        unnamed: Mapped[str] = mapped_column(String(10), info=describe("user.name"))
        kept: Mapped[str] = mapped_column(
            String(10), info=describe("user.name", personal=True, erasure=Erasure.keep)
        )

    found = _messages(checks.coverage(base))
    assert "no_inventory: no __inventory__ = TableInventory(...) on its model" in found
    assert any(m.startswith("no_inventory.note: no declaration") for m in found)
    assert any(m.startswith("wrong: subject key 'nobody' names no column") for m in found)
    assert any(m.startswith("wrong.odd: category 'user.shoe_size' is not in the taxonomy") for m in found)
    assert any(m.startswith("wrong.mobile: user.contact.phone_number must be encrypted") for m in found)
    assert any(
        m.startswith("wrong.claims: declared encrypted but its type is not EncryptedText") for m in found
    )
    assert any(m.startswith("wrong.hidden: no declaration") for m in found)
    assert any(m.startswith("wrong.unnamed: user.name is about a person") for m in found)
    assert any(m.startswith("wrong.kept: personal data needs an erasure action") for m in found)


def test_coverage_catches_encrypted_type_declared_plain() -> None:
    base = _base()

    class Plain(base):  # type: ignore[valid-type, misc]
        __tablename__ = "plain"
        __inventory__ = PERSONAL
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        user_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
        name: Mapped[str] = encrypted_column("user.name")
        name.column.info["huike.inventory"] = describe("user.name", personal=True)["huike.inventory"]

    assert "plain.name: stored as EncryptedText but not declared encrypted" in _messages(
        checks.coverage(base)
    )


def test_encrypted_phone_passes() -> None:
    base = _base()

    class Person(base):  # type: ignore[valid-type, misc]
        __tablename__ = "person"
        __inventory__ = PERSONAL
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        user_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
        phone: Mapped[str] = encrypted_column("user.contact.phone_number")

    assert checks.coverage(base) == []


def test_reachability_follows_foreign_keys_and_prints_the_path() -> None:
    base = _base()

    class Account(base):  # type: ignore[valid-type, misc]
        __tablename__ = "account"
        __inventory__ = replace(PERSONAL, subject_key="id")
        id: Mapped[uuid.UUID] = mapped_column(
            primary_key=True, info=describe("user.unique_id", personal=True)
        )

    class Ticket(base):  # type: ignore[valid-type, misc]
        __tablename__ = "ticket"
        __inventory__ = replace(PERSONAL, subject_key="account_id")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        account_id: Mapped[uuid.UUID] = mapped_column(
            ForeignKey("account.id"), info=describe("system.reference", personal=True)
        )

    class Reply(base):  # type: ignore[valid-type, misc]
        __tablename__ = "reply"
        __inventory__ = replace(PERSONAL, subject_key=None)
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        ticket_id: Mapped[uuid.UUID] = mapped_column(
            ForeignKey("ticket.id"), info=describe("system.reference")
        )
        body: Mapped[str] = mapped_column(String(100), info=describe("user.name", personal=True))

    class Profile(base):  # type: ignore[valid-type, misc]
        __tablename__ = "profile"
        __inventory__ = replace(PERSONAL, subject_key="id")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # structural: system.id
        nickname: Mapped[str] = mapped_column(String(100), info=describe("user.name", personal=True))

    class Orphan(base):  # type: ignore[valid-type, misc]
        __tablename__ = "orphan"
        __inventory__ = replace(PERSONAL, subject_key=None)
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(String(100), info=describe("user.name", personal=True))

    problems, report = checks.reachability(base)
    assert "account [account_holder]: account.id [user.unique_id]" in report
    assert "ticket [account_holder]: ticket.account_id → account → account.id [user.unique_id]" in report
    assert (
        "reply [account_holder]: reply.ticket_id → ticket → ticket.account_id → account → account.id [user.unique_id]"
        in report
    )
    assert "profile [account_holder]: profile.id [primary key: the subject's own row]" in report
    assert "orphan [account_holder]: UNREACHABLE" in report
    assert [p.table for p in problems] == ["orphan"]


def test_reachability_through_declared_json_paths_only() -> None:
    base = _base()
    paths = {
        "ExternalUserID": JsonPath(
            "customer_data.external_contact.external_userid", (Subject.external_contact,)
        )
    }
    inventory = replace(PERSONAL, subject=Subject.external_contact, owner=Owner.customer, subject_key=None)

    class Declared(base):  # type: ignore[valid-type, misc]
        __tablename__ = "declared"
        __inventory__ = replace(inventory, subject_key="payload.ExternalUserID")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        payload: Mapped[dict[str, Any]] = mapped_column(
            JSON, info=describe("customer_data.wecom_event", personal=True, json_paths=paths)
        )

    class Undeclared(base):  # type: ignore[valid-type, misc]
        __tablename__ = "undeclared"
        __inventory__ = replace(inventory, subject_key="payload.ExternalUserID")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        payload: Mapped[dict[str, Any]] = mapped_column(
            JSON, info=describe("customer_data.wecom_event", personal=True)
        )

    class NotAKey(base):  # type: ignore[valid-type, misc]
        __tablename__ = "not_a_key"
        __inventory__ = replace(
            inventory, subject_keys=(SubjectKey(Subject.external_contact, "payload.ExternalUserID"),)
        )
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        payload: Mapped[dict[str, Any]] = mapped_column(
            JSON, info=describe("customer_data.wecom_event", personal=True, json_paths=paths)
        )
        other: Mapped[dict[str, Any]] = mapped_column(
            JSON, info=describe("customer_data.wecom_event", personal=True, json_paths=paths)
        )

    _, report = checks.reachability(base)
    assert (
        "declared [external_contact]: declared.payload.ExternalUserID [customer_data.external_contact.external_userid]"
        in report
    )
    assert "undeclared [external_contact]: UNREACHABLE" in report
    assert any(
        m.startswith("undeclared: subject key 'payload.ExternalUserID' names no column")
        for m in _messages(checks.coverage(base))
    )
    assert _messages(checks.identity_paths_are_keys(base)) == [
        "not_a_key.other: JSON path ExternalUserID holds a external_contact's identity but is not a subject key"
    ]


def test_sensitive_data_for_marketing_needs_consent() -> None:
    base = _base()

    class Campaign(base):  # type: ignore[valid-type, misc]
        __tablename__ = "campaign"
        __inventory__ = PERSONAL
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        user_id: Mapped[uuid.UUID] = mapped_column(info=describe("user.unique_id", personal=True))
        place: Mapped[str] = mapped_column(
            String(50),
            info=describe(
                "user.location.precise", personal=True, purposes=(Purpose("marketing.product_intro"),)
            ),
        )
        place_ok: Mapped[str] = mapped_column(
            String(50),
            info=describe(
                "user.location.precise",
                personal=True,
                purposes=(Purpose("marketing.product_intro", LegalBasis.consent),),
            ),
        )
        flagged: Mapped[str] = mapped_column(
            String(50),
            info=describe("user.name", personal=True, sensitive=True, purposes=(Purpose("scrm.marketing"),)),
        )

    found = _messages(checks.storage_combinations(base))
    assert found == [
        "campaign.place: sensitive data used for marketing (marketing.product_intro) on contract, not consent",
        "campaign.flagged: sensitive data used for marketing (scrm.marketing) on contract, not consent",
    ]


def test_storage_outside_the_mainland_is_refused() -> None:
    base = _base()

    class Abroad(base):  # type: ignore[valid-type, misc]
        __tablename__ = "abroad"
        __inventory__ = replace(SYSTEM_TABLE, region="hk")
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    assert _messages(checks.storage_combinations(base)) == ["abroad: stored in 'hk', outside the mainland"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"region": "sg"}, "egress:wecom: recipient in 'sg', outside the mainland"),
        (
            {"role": Role.affiliate, "categories": ("user.location.precise",)},
            "egress:wecom: sensitive 'user.location.precise' to an affiliate",
        ),
        (
            {"categories": ("user.shoe_size",)},
            "egress:wecom: category 'user.shoe_size' is not in the taxonomy",
        ),
    ],
)
def test_egress_combinations_are_refused(change: dict[str, Any], expected: str) -> None:
    recipient: Recipient = REGISTER["wecom"]
    categories = change.pop("categories", None)
    if categories is not None:
        change["flows"] = (replace(recipient.flows[0], categories=categories),)
    assert expected in _messages(checks.egress_combinations({"wecom": replace(recipient, **change)}))
