"""The data inventory (F1): what every persisted column holds, about whom, why, for how long, and
what erasure does to it. Declarations live on the models themselves:

* each table declares its defaults with ``__inventory__ = TableInventory(...)``;
* each column that is not structural (id, tenant_id, created_at, updated_at) declares its category
  with ``mapped_column(..., info=describe("user.contact.phone_number", ...))``; personal columns may
  override the table's subject, purpose, retention or erasure action there.

The checks (every column declared, every personal table reachable from a subject) live in
``tests/privacy/test_inventory.py``; the record of processing activities is built from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from typing import Any


class Subject(StrEnum):
    """Whose data it is (the policy's roles)."""

    account_holder = "account_holder"  # a platform user: team creator, admin, member (授权用户)
    member = "member"  # a WeCom member of a customer's corp (成员)
    customer_admin = "customer_admin"
    external_contact = "external_contact"  # the customer's customer (外部联系人客户)
    guardian = "guardian"
    tenant = "tenant"  # the organisation itself: not a natural person
    none = "none"  # system data about no one


class Owner(StrEnum):
    """Who decides the processing: the platform as handler, or the customer with us as processor."""

    platform = "platform"
    customer = "customer"  # 客户使用数据: we process it on the customer's behalf


class Erasure(StrEnum):
    delete_row = "delete_row"
    null = "null"
    anonymise = "anonymise"
    pseudonymise_under_hold = "pseudonymise_under_hold"
    keep = "keep"  # not personal: nothing to erase


class LegalBasis(StrEnum):
    consent = "consent"
    contract = "contract"
    legal_duty = "legal_duty"
    exception = "exception"  # one of the codes a–l of §一（二）8


@dataclass(frozen=True)
class Purpose:
    code: str
    basis: LegalBasis = LegalBasis.contract


@dataclass(frozen=True)
class Retention:
    """When the clock starts, how long it runs, and what happens then."""

    trigger: (
        str  # created | account_closed | tenant_terminated | authorisation_closed | ticket_closed | never
    )
    days: int | None
    action: Erasure


@dataclass(frozen=True)
class TableInventory:
    subject: Subject
    owner: Owner
    purposes: tuple[Purpose, ...]
    retention: Retention
    erasure: Erasure
    # how to find the subject's rows: a column holding the subject's identity or a reference to it
    subject_key: str | None = None
    region: str = "cn-mainland"


@dataclass(frozen=True)
class FieldInventory:
    category: str
    personal: bool = False
    sensitive: bool = False
    encrypted: bool = False
    subject: Subject | None = None
    purposes: tuple[Purpose, ...] | None = None
    erasure: Erasure | None = None
    notes: str = ""
    extra: dict[str, Any] = dc_field(default_factory=dict)


INFO_KEY = "huike.inventory"

# Columns whose meaning is the same on every table; they need no declaration of their own.
STRUCTURAL: dict[str, str] = {
    "id": "system.id",
    "tenant_id": "system.tenant_reference",
    "created_at": "system.timestamp",
    "updated_at": "system.timestamp",
}


def describe(
    category: str,
    *,
    personal: bool = False,
    sensitive: bool = False,
    encrypted: bool = False,
    subject: Subject | None = None,
    purposes: tuple[Purpose, ...] | None = None,
    erasure: Erasure | None = None,
    notes: str = "",
) -> dict[str, Any]:
    """The ``info=`` of a mapped column: its category and how it differs from the table's defaults."""
    return {
        INFO_KEY: FieldInventory(
            category=category,
            personal=personal,
            sensitive=sensitive,
            encrypted=encrypted,
            subject=subject,
            purposes=purposes,
            erasure=erasure,
            notes=notes,
        )
    }


SYSTEM_TABLE = TableInventory(
    subject=Subject.none,
    owner=Owner.platform,
    purposes=(Purpose("operations"),),
    retention=Retention("never", None, Erasure.keep),
    erasure=Erasure.keep,
)
