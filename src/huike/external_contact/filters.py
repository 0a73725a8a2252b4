"""The list's filters as SQL over ``external_contacts`` (every clause starts with the tenant).

Each filter on a relation or a tag is an ``EXISTS`` probe that the indexes beginning with
``(tenant_id, …, contact_id)`` answer; the keyset order is ``(added_at, id)``, served by
``ix_external_contacts_tenant_added`` (and its twins with status / type in front).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

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
    visible_member_ids: Sequence[uuid.UUID] | None = None  # the data scope; None: everything


def _relation(tenant_id: uuid.UUID, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(FollowRelation.id).where(
            FollowRelation.tenant_id == tenant_id,
            FollowRelation.contact_id == ExternalContact.id,
            *conditions,
        )
    )


def _tagged(tenant_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    return exists(
        select(ContactTag.id).where(
            ContactTag.tenant_id == tenant_id,
            ContactTag.contact_id == ExternalContact.id,
            ContactTag.tag_id.in_(list(tag_ids)) if len(tag_ids) > 1 else ContactTag.tag_id == tag_ids[0],
        )
    )


def clauses(f: Resolved) -> list[ColumnElement[bool]]:
    t = f.tenant_id
    where: list[ColumnElement[bool]] = [ExternalContact.tenant_id == t]
    if f.tag_any:
        where.append(_tagged(t, f.tag_any))
    for tag_id in f.tag_all:
        where.append(_tagged(t, [tag_id]))
    if f.tag_none:
        where.append(~_tagged(t, f.tag_none))
    if f.member_ids is not None:
        where.append(_relation(t, FollowRelation.member_id.in_(f.member_ids)))
    if f.visible_member_ids is not None:
        where.append(_relation(t, FollowRelation.member_id.in_(list(f.visible_member_ids))))
    if f.added_from is not None:
        where.append(ExternalContact.added_at >= f.added_from)
    if f.added_to is not None:
        where.append(ExternalContact.added_at < f.added_to)
    if f.add_ways:
        where.append(_relation(t, FollowRelation.add_way.in_(f.add_ways)))
    if f.states:
        where.append(_relation(t, FollowRelation.state.in_(f.states)))
    if f.contact_type is not None:
        where.append(ExternalContact.contact_type == f.contact_type)
    if f.status is not None:
        where.append(ExternalContact.status == f.status)
    if f.keyword_tokens:
        wanted = sorted({token for group in f.keyword_tokens for token in group})
        # each group is one gram under every live key version: a contact matches a group if it has
        # any of its tokens, and must match every group
        matched = (
            select(KeywordToken.contact_id)
            .where(KeywordToken.tenant_id == t, KeywordToken.token.in_(wanted))
            .group_by(KeywordToken.contact_id)
            .having(func.count(func.distinct(KeywordToken.token)) >= len(f.keyword_tokens))
        )
        where.append(ExternalContact.id.in_(matched))
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
    return where


def after(added_at: datetime, contact_id: uuid.UUID, *, descending: bool) -> ColumnElement[bool]:
    """The keyset condition: rows strictly after ``(added_at, id)`` in the list's order."""
    if descending:
        return or_(
            ExternalContact.added_at < added_at,
            and_(ExternalContact.added_at == added_at, ExternalContact.id < contact_id),
        )
    return or_(
        ExternalContact.added_at > added_at,
        and_(ExternalContact.added_at == added_at, ExternalContact.id > contact_id),
    )
