"""The list's filters as SQL over ``external_contacts`` (every clause starts with the tenant).

Each filter on a relation or a tag is an ``EXISTS`` probe that the indexes beginning with
``(tenant_id, …, contact_id)`` answer; the keyset order is ``(added_at, id)``, served by
``ix_external_contacts_tenant_added`` (and its twins with status / type in front), or ``(lost_at, id)``
for the lost customers (a small share of them). Probed customer by customer in the list's order, a
tag filter reads ``ix_external_contact_tags_contact`` ``(tenant_id, contact_id, tag_id)`` alone; the
:func:`leads` of a page are read from the indexes that start with the filter's own column. The
customer-group filter is the group domain's own ``EXISTS`` over its members, passed in ready-made.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from huike.external_contact.models import (
    ContactTag,
    ExternalContact,
    FollowRelation,
    KeywordToken,
    RemarkMobile,
)


@dataclass
class Resolved:
    """Filters with every name turned into ids and every keyword into index tokens."""

    tenant_id: uuid.UUID
    tag_any: list[uuid.UUID] = field(default_factory=list)
    tag_all: list[uuid.UUID] = field(default_factory=list)
    tag_none: list[uuid.UUID] = field(default_factory=list)
    member_ids: list[uuid.UUID] | None = None  # owners and/or department members; None: no filter
    added_from: datetime | None = None
    added_to: datetime | None = None
    add_ways: list[int] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    contact_type: str | None = None
    status: str | None = None
    keyword_tokens: list[list[str]] = field(default_factory=list)  # AND over groups, OR within one
    mobile_terms: list[str] | None = None
    # customer-group membership, as the group domain's SQL (its tables are not read from here)
    in_group: ColumnElement[bool] | None = None
    contact_ids: list[uuid.UUID] = field(default_factory=list)
    visible_member_ids: Sequence[uuid.UUID] | None = None  # the data scope; None: everything


def _having(
    tenant: Any, contact: Any, conditions: Sequence[ColumnElement[bool]], *, lead: bool
) -> ColumnElement[bool]:
    """Customers with a row (of relations, tags, tokens) meeting ``conditions``. As a correlated
    ``EXISTS`` (``lead`` false) it is probed customer by customer in the list's order, which stops as
    soon as a page is full; as ``id IN (…)`` (``lead``) SQLite can start from the row's own index,
    which is what a selective filter needs (PostgreSQL plans both as semi-joins and picks itself)."""
    if lead:
        return ExternalContact.id.in_(select(contact).where(*conditions))
    return exists(select(contact).where(contact == ExternalContact.id, *conditions))


def _relation(
    tenant_id: uuid.UUID, *conditions: ColumnElement[bool], lead: bool = False
) -> ColumnElement[bool]:
    return _having(
        FollowRelation.tenant_id,
        FollowRelation.contact_id,
        [FollowRelation.tenant_id == tenant_id, *conditions],
        lead=lead,
    )


def _tagged(tenant_id: uuid.UUID, tag_ids: Sequence[uuid.UUID], *, lead: bool = False) -> ColumnElement[bool]:
    condition = ContactTag.tag_id.in_(list(tag_ids)) if len(tag_ids) > 1 else ContactTag.tag_id == tag_ids[0]
    return _having(
        ContactTag.tenant_id, ContactTag.contact_id, [ContactTag.tenant_id == tenant_id, condition], lead=lead
    )


def row_clauses(f: Resolved) -> list[ColumnElement[bool]]:
    """The conditions on the customer's own columns (its indexes answer them in the list's order)."""
    where: list[ColumnElement[bool]] = [ExternalContact.tenant_id == f.tenant_id]
    if f.added_from is not None:
        where.append(ExternalContact.added_at >= f.added_from)
    if f.added_to is not None:
        where.append(ExternalContact.added_at < f.added_to)
    if f.contact_type is not None:
        where.append(ExternalContact.contact_type == f.contact_type)
    if f.status is not None:
        where.append(ExternalContact.status == f.status)
    return where


def clauses(f: Resolved, *, lead: bool = False) -> list[ColumnElement[bool]]:
    """Every condition: :func:`row_clauses`, then the probes of relations, tags, tokens and groups
    (``lead``: in the form a selective filter wants, see :func:`_having`)."""
    t = f.tenant_id
    where = row_clauses(f)
    if f.tag_any:
        where.append(_tagged(t, f.tag_any, lead=lead))
    if lead and len(f.tag_all) > 1:  # customers having every tag: one pass over those tags' links
        having_all = (
            select(ContactTag.contact_id)
            .where(ContactTag.tenant_id == t, ContactTag.tag_id.in_(f.tag_all))
            .group_by(ContactTag.contact_id)
            .having(func.count(func.distinct(ContactTag.tag_id)) == len(set(f.tag_all)))
        )
        where.append(ExternalContact.id.in_(having_all))
    else:
        for tag_id in f.tag_all:
            where.append(_tagged(t, [tag_id], lead=lead))
    if f.tag_none:  # negative: matches most customers, always probed in order
        where.append(~_tagged(t, f.tag_none))
    if f.member_ids is not None:
        where.append(_relation(t, FollowRelation.member_id.in_(f.member_ids), lead=lead))
    if f.visible_member_ids is not None:
        where.append(_relation(t, FollowRelation.member_id.in_(list(f.visible_member_ids)), lead=lead))
    if f.add_ways:
        where.append(_relation(t, FollowRelation.add_way.in_(f.add_ways), lead=lead))
    if f.states:
        where.append(_relation(t, FollowRelation.state.in_(f.states), lead=lead))
    # each group is one gram under every live key version: a contact matches a group if it has any
    # of its tokens, and must match every group (one indexed probe per gram)
    for group in f.keyword_tokens:
        tokens = [KeywordToken.tenant_id == t, KeywordToken.token.in_(sorted(set(group)))]
        where.append(_having(KeywordToken.tenant_id, KeywordToken.contact_id, tokens, lead=lead))
    if f.mobile_terms is not None:
        where.append(
            _relation(
                t,
                exists(
                    select(RemarkMobile.id).where(
                        RemarkMobile.tenant_id == t,
                        RemarkMobile.follow_id == FollowRelation.id,
                        RemarkMobile.mobile_index.in_(f.mobile_terms or ["-"]),
                    )
                ),
            )
        )
    if f.in_group is not None:
        where.append(f.in_group)
    if f.contact_ids:
        where.append(ExternalContact.id.in_(f.contact_ids))
    return where


def leads(f: Resolved) -> list[Select[Any]]:
    """The customers each positive filter admits, read from that filter's own index alone (a customer
    id per row, repeated when several rows match). A page starts from the narrowest of them when it is
    small: its customers are looked up by id and sorted, the other filters probed on those alone."""
    t = f.tenant_id
    found: list[Select[Any]] = []

    def tagged(tag_ids: Sequence[uuid.UUID]) -> Select[Any]:
        return select(ContactTag.contact_id).where(
            ContactTag.tenant_id == t, ContactTag.tag_id.in_(list(tag_ids))
        )

    def related(condition: ColumnElement[bool]) -> Select[Any]:
        return select(FollowRelation.contact_id).where(FollowRelation.tenant_id == t, condition)

    if f.tag_any:
        found.append(tagged(f.tag_any))
    found += [tagged([tag_id]) for tag_id in f.tag_all]
    if f.member_ids is not None:
        found.append(related(FollowRelation.member_id.in_(f.member_ids)))
    if f.visible_member_ids is not None:
        found.append(related(FollowRelation.member_id.in_(list(f.visible_member_ids))))
    if f.add_ways:
        found.append(related(FollowRelation.add_way.in_(f.add_ways)))
    if f.states:
        found.append(related(FollowRelation.state.in_(f.states)))
    for group in f.keyword_tokens:
        found.append(
            select(KeywordToken.contact_id).where(
                KeywordToken.tenant_id == t, KeywordToken.token.in_(sorted(set(group)))
            )
        )
    if f.contact_ids:
        found.append(
            select(ExternalContact.id).where(
                ExternalContact.tenant_id == t, ExternalContact.id.in_(f.contact_ids)
            )
        )
    return found


#: the list's orders: the first add time, or (customers that were lost) the time they were lost
SORT_COLUMNS = {"added_at": ExternalContact.added_at, "lost_at": ExternalContact.lost_at}


def sort_key(contact: ExternalContact, sort: str) -> datetime:
    value: datetime | None = getattr(contact, sort)
    assert value is not None  # a lost_at order only lists customers with a lost_at
    return value


def after(
    value: datetime, contact_id: uuid.UUID, *, descending: bool, sort: str = "added_at"
) -> ColumnElement[bool]:
    """The keyset condition: rows strictly after ``(value, id)`` in the list's order."""
    column = SORT_COLUMNS[sort]
    if descending:
        return or_(column < value, and_(column == value, ExternalContact.id < contact_id))
    return or_(column > value, and_(column == value, ExternalContact.id > contact_id))
