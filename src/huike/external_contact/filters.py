"""The list's filters as SQL over ``external_contacts`` (every clause starts with the tenant).

Each filter on a relation or a tag is an ``EXISTS`` probe that the indexes beginning with
``(tenant_id, …, contact_id)`` answer; the keyset order is ``(added_at, id)``, served by
``ix_external_contacts_tenant_added`` (and its twins with status / type in front), or ``(lost_at, id)``
for the lost customers (a small share of them). Probed customer by customer in the list's order, a
tag filter reads ``ix_external_contact_tags_contact`` ``(tenant_id, contact_id, tag_id)`` alone; the
:func:`leads` of a page are read from the indexes that start with the filter's own column. The
customer-group filter is the group domain's own ``EXISTS`` over its members, passed in ready-made.

Tag links and relations repeat their customer's ``added_at`` (``contact_added_at``), and their
indexes ``(tenant_id, tag_id | member_id, contact_added_at, contact_id)`` yield a tag's or a member's
customers already in the list's order: each such filter is a :class:`Stream`, and a page in the
``added_at`` order can walk one of them, newest first, probing the others (:func:`probes`).
"""

from __future__ import annotations

import dataclasses
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

#: a probe over at most this many tags or members reads their indexes by the customer's added_at
EXACT = 8


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
    in_group_userids: Select[Any] | None = None  # "in this group": its members' ExternalUserIDs (a lead)
    contact_ids: list[uuid.UUID] = field(default_factory=list)
    visible_member_ids: Sequence[uuid.UUID] | None = None  # the data scope; None: everything


def _having(
    tenant: Any,
    contact: Any,
    conditions: Sequence[ColumnElement[bool]],
    *,
    lead: bool,
    of: Any = ExternalContact.id,
    per_row: bool = False,
) -> ColumnElement[bool]:
    """Customers with a row (of relations, tags, tokens) meeting ``conditions``. As a correlated
    ``EXISTS`` (``lead`` false) it is probed customer by customer in the list's order, which stops as
    soon as a page is full; as ``id IN (…)`` (``lead``) SQLite can start from the row's own index,
    which is what a selective filter needs (PostgreSQL plans both as semi-joins and picks itself).
    ``of``: the customer id probed (the customer's own, or a :class:`Stream`'s). ``per_row``: a
    scalar subquery instead of ``EXISTS``, which PostgreSQL cannot turn into a join: it is probed
    row by row in the walk's order (as a semi-join over several tags or members it may hash every
    row of them first, then sort the walk, however few rows the page needs)."""
    if lead:
        return ExternalContact.id.in_(select(contact).where(*conditions))
    found = select(contact).where(contact == of, *conditions)
    if per_row:
        return found.limit(1).scalar_subquery().is_not(None)
    return exists(found)


def _relation(
    tenant_id: uuid.UUID,
    *conditions: ColumnElement[bool],
    lead: bool = False,
    of: Any = ExternalContact.id,
    added: Any = None,
    per_row: bool = False,
) -> ColumnElement[bool]:
    """``added``: the probed customer's ``added_at``, so a probe by member is one exact descent of
    ``ix_external_contact_follows_member_added`` (without it, a member's every relation is read)."""
    where = [FollowRelation.tenant_id == tenant_id, *conditions]
    if added is not None and not lead:
        where.append(FollowRelation.contact_added_at == added)
    return _having(
        FollowRelation.tenant_id, FollowRelation.contact_id, where, lead=lead, of=of, per_row=per_row
    )


def _tagged(
    tenant_id: uuid.UUID,
    tag_ids: Sequence[uuid.UUID],
    *,
    lead: bool = False,
    of: Any = ExternalContact.id,
    added: Any = None,
    per_row: bool = False,
) -> ColumnElement[bool]:
    condition = ContactTag.tag_id.in_(list(tag_ids)) if len(tag_ids) > 1 else ContactTag.tag_id == tag_ids[0]
    where = [ContactTag.tenant_id == tenant_id, condition]
    if added is not None and not lead:
        where.append(ContactTag.contact_added_at == added)
    return _having(ContactTag.tenant_id, ContactTag.contact_id, where, lead=lead, of=of, per_row=per_row)


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
    where = row_clauses(f)
    where += _probes(f, lead=lead, of=ExternalContact.id, added=ExternalContact.added_at)
    if f.in_group is not None:
        where.append(f.in_group)
    if f.contact_ids:
        where.append(ExternalContact.id.in_(f.contact_ids))
    return where


def probes(f: Resolved, of: Any, added: Any) -> list[ColumnElement[bool]]:
    """Every filter but the added range, as conditions on the customer id ``of`` whose ``added_at``
    is ``added`` (a :class:`Stream`'s ``contact_id`` and ``contact_added_at``): relations, tags and
    tokens probed by that id, the customer's own columns and its groups by one probe of its row."""
    where = _probes(f, lead=False, of=of, added=added, walk=True)
    own: list[ColumnElement[bool]] = []
    if f.contact_type is not None:
        own.append(ExternalContact.contact_type == f.contact_type)
    if f.status is not None:
        own.append(ExternalContact.status == f.status)
    if f.in_group is not None:
        own.append(f.in_group)
    if own:  # the row's probe keeps its own FROM whatever query it lands in
        row = select(ExternalContact.id).where(
            ExternalContact.id == of, ExternalContact.tenant_id == f.tenant_id, *own
        )
        where.append(exists(row.correlate_except(ExternalContact)))
    if f.contact_ids:
        where.append(of.in_(f.contact_ids))
    return where


def _probes(f: Resolved, *, lead: bool, of: Any, added: Any, walk: bool = False) -> list[ColumnElement[bool]]:
    """The conditions on other tables than the customers' (:func:`clauses` without the row's);
    ``walk``: for a :class:`Stream`'s walk, probes over several values row by row (``per_row``).

    A probe for up to :data:`EXACT` tags or members also names the customer's ``added_at``: one
    exact descent of the filter's own index per tag or member, and successive probes of a walk in
    the list's order land next to each other there (SQLite counting a none-of filter over 1,000,000
    customers: 1.5 s, against 7.4 s through ``ix_external_contact_tags_contact``, whose probes land
    anywhere). Over more it does not: one descent per tag or member (200 members of a department)
    costs more than the customer's own links (one descent) or its ~3 relations (unique index)."""
    t = f.tenant_id
    where: list[ColumnElement[bool]] = []

    def tagged(tag_ids: Sequence[uuid.UUID], *, lead: bool = False) -> ColumnElement[bool]:
        at = added if len(tag_ids) <= EXACT else None
        return _tagged(t, tag_ids, lead=lead, of=of, added=at, per_row=walk and len(tag_ids) > 1)

    def related(*conditions: ColumnElement[bool], lead: bool = False, many: int = 1) -> ColumnElement[bool]:
        at = added if many <= EXACT else None
        return _relation(t, *conditions, lead=lead, of=of, added=at, per_row=walk and many > 1)

    if f.tag_any:
        where.append(tagged(f.tag_any, lead=lead))
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
            where.append(tagged([tag_id], lead=lead))
    if f.tag_none:  # negative: matches most customers, always probed in order
        where.append(~tagged(f.tag_none))
    if f.member_ids is not None:
        where.append(related(FollowRelation.member_id.in_(f.member_ids), lead=lead, many=len(f.member_ids)))
    if f.visible_member_ids is not None:
        members = list(f.visible_member_ids)
        where.append(related(FollowRelation.member_id.in_(members), lead=lead, many=len(members)))
    if f.add_ways:
        where.append(related(FollowRelation.add_way.in_(f.add_ways), lead=lead, many=len(f.add_ways)))
    if f.states:
        where.append(related(FollowRelation.state.in_(f.states), lead=lead, many=len(f.states)))
    # each group is one gram under every live key version: a contact matches a group if it has any
    # of its tokens, and must match every group (one indexed probe per gram)
    for group in f.keyword_tokens:
        tokens = [KeywordToken.tenant_id == t, KeywordToken.token.in_(sorted(set(group)))]
        where.append(_having(KeywordToken.tenant_id, KeywordToken.contact_id, tokens, lead=lead, of=of))
    if f.mobile_terms is not None:
        where.append(
            related(
                exists(
                    select(RemarkMobile.id).where(
                        RemarkMobile.tenant_id == t,
                        RemarkMobile.follow_id == FollowRelation.id,
                        RemarkMobile.mobile_index.in_(f.mobile_terms or ["-"]),
                    )
                ),
            )
        )
    return where


@dataclass(eq=False)
class Stream:
    """A positive filter on tags or members: its customers come out of its index
    ``(tenant_id, tag_id | member_id, contact_added_at, contact_id)`` in the ``added_at`` order, one
    ordered run per tag or member (``values``); ``rest`` is every other filter."""

    model: type[ContactTag] | type[FollowRelation]
    values: list[uuid.UUID]
    rest: Resolved

    @property
    def by(self) -> str:
        """The column holding the tag or member."""
        return "tag_id" if self.model is ContactTag else "member_id"

    def lead(self) -> Select[Any]:
        column = getattr(self.model, self.by)
        return select(self.model.contact_id).where(
            self.model.tenant_id == self.rest.tenant_id, column.in_(self.values)
        )


def streams(f: Resolved) -> list[Stream]:
    """The filters a page in the ``added_at`` order can walk in that order (see :class:`Stream`)."""
    found: list[Stream] = []
    replace = dataclasses.replace
    if f.tag_any:
        found.append(Stream(ContactTag, list(f.tag_any), replace(f, tag_any=[])))
    for tag_id in dict.fromkeys(f.tag_all):
        others = [t for t in f.tag_all if t != tag_id]
        found.append(Stream(ContactTag, [tag_id], replace(f, tag_all=others)))
    if f.member_ids is not None:
        found.append(Stream(FollowRelation, list(f.member_ids), replace(f, member_ids=None)))
    if f.visible_member_ids is not None:
        found.append(Stream(FollowRelation, list(f.visible_member_ids), replace(f, visible_member_ids=None)))
    return found


def leads(f: Resolved) -> list[Select[Any]]:
    """The customers each positive filter admits, read from that filter's own index alone (a customer
    id per row, repeated when several rows match). A page starts from the narrowest of them when it is
    small: its customers are looked up by id and sorted, the other filters probed on those alone."""
    t = f.tenant_id
    found: list[Select[Any]] = [stream.lead() for stream in streams(f)]

    def related(condition: ColumnElement[bool]) -> Select[Any]:
        return select(FollowRelation.contact_id).where(FollowRelation.tenant_id == t, condition)

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
    if f.in_group_userids is not None:
        found.append(
            select(ExternalContact.id).where(
                ExternalContact.tenant_id == t, ExternalContact.external_userid.in_(f.in_group_userids)
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
    return keyset(SORT_COLUMNS[sort], ExternalContact.id, value, contact_id, descending=descending)


def until(
    value: datetime, contact_id: uuid.UUID, *, descending: bool, sort: str = "added_at"
) -> ColumnElement[bool]:
    """Rows up to ``(value, id)`` in the list's order, that row included (``not after``, written so
    that its first term bounds an index range)."""
    column, id_column = SORT_COLUMNS[sort], ExternalContact.id
    if descending:
        return and_(column >= value, or_(column > value, id_column >= contact_id))
    return and_(column <= value, or_(column < value, id_column <= contact_id))


def keyset(
    column: Any, id_column: Any, value: datetime, contact_id: uuid.UUID, *, descending: bool
) -> ColumnElement[bool]:
    """``(column, id_column)`` strictly after ``(value, contact_id)``; the first term alone bounds an
    index range (neither database derives it from the disjunction)."""
    if descending:
        return and_(column <= value, or_(column < value, and_(column == value, id_column < contact_id)))
    return and_(column >= value, or_(column > value, and_(column == value, id_column > contact_id)))
