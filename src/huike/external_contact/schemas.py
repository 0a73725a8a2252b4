"""Request and response shapes of the customer API."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from huike.core.schemas import Schema
from huike.external_contact.models import ContactStatus, ContactType, RelationStatus


class GroupMembership(StrEnum):
    """The customer-group filter: in / not in the group ``group_chat_id``, in any group, in none."""

    in_group = "in"
    not_in_group = "not_in"
    any_group = "any"
    no_group = "none"


class ContactFilters(Schema):
    """The list's filters; the same object is the ``filters`` of a bulk tag request.

    * ``tag_any`` / ``tag_all`` / ``tag_none``: tag ids (on any of the customer's relations);
    * ``owner_ids``: members; ``department_id``: members of that department and its sub-departments;
    * ``added_from`` / ``added_to``: the customer's first add time, ``[from, to)``;
    * ``add_ways``, ``states`` (channels), ``contact_type``, ``status`` (active / lost / gone);
    * ``group_membership`` (with ``group_chat_id`` for ``in`` / ``not_in``): customer-group membership
      now (``any``: in some group, ``none``: in no group);
    * ``keyword``: part of the nickname, a remark or the corp name (at least one character);
    * ``mobile``: a remark mobile, matched exactly after normalisation;
    * ``contact_ids``: only these customers (the rows a user ticked; bulk requests only).
    """

    tag_any: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    tag_all: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    tag_none: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    owner_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    department_id: uuid.UUID | None = None
    added_from: datetime | None = None
    added_to: datetime | None = None
    add_ways: list[int] = Field(default_factory=list, max_length=20)
    states: list[str] = Field(default_factory=list, max_length=50)
    contact_type: ContactType | None = None
    status: ContactStatus | None = None
    group_membership: GroupMembership | None = None
    group_chat_id: uuid.UUID | None = None
    keyword: str | None = Field(default=None, min_length=1, max_length=64)
    mobile: str | None = Field(default=None, min_length=3, max_length=32)
    contact_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)

    def stored(self) -> dict[str, Any]:
        """What a bulk operation keeps in plain JSON: everything but the keyword."""
        return self.model_dump(mode="json", exclude={"keyword"})


class CustomerTagRef(BaseModel):
    id: uuid.UUID
    name: str
    group_id: uuid.UUID


class MemberRef(BaseModel):
    id: uuid.UUID | None
    wecom_userid: str
    name: str | None


class ContactRead(BaseModel):
    id: uuid.UUID
    external_userid: str
    name: str | None
    corp_name: str | None
    contact_type: ContactType
    status: ContactStatus
    added_at: datetime
    lost_at: datetime | None
    owners: list[MemberRef]
    tags: list[CustomerTagRef]


class FollowRelationRead(BaseModel):
    id: uuid.UUID
    member: MemberRef
    remark: str | None
    description: str | None
    remark_corp_name: str | None
    remark_mobiles: list[str] = Field(description="masked: 138****8000")
    tags: list[CustomerTagRef]
    add_way: int
    state: str | None
    oper_userid: str | None
    added_at: datetime
    status: RelationStatus
    status_changed_at: datetime | None


class TimelineItem(BaseModel):
    """One entry of the customer's timeline. ``kind``: added, tagged, untagged, remark_changed,
    deleted_by_member, deleted_by_customer, transferred, transfer_failed, removed, lost, and from the
    customer groups joined_group / left_group (with ``group_chat_id`` and ``group_name``)."""

    id: uuid.UUID
    kind: str
    follow_id: uuid.UUID | None
    member_id: uuid.UUID | None
    tag_id: uuid.UUID | None
    source: str
    reason: str | None
    occurred_at: datetime
    group_chat_id: uuid.UUID | None = None
    group_name: str | None = None


class CustomerGroupRef(BaseModel):
    id: uuid.UUID
    name: str
    join_time: datetime | None
    join_scene: int


class ContactDetail(ContactRead):
    follow_relations: list[FollowRelationRead]
    groups: list[CustomerGroupRef] = Field(description="the customer groups the customer is in now")
    timeline: list[TimelineItem]


class ContactCount(BaseModel):
    count: int


class RevealedMobiles(BaseModel):
    follow_id: uuid.UUID
    member_userid: str
    remark_mobiles: list[str]


class RevealRead(BaseModel):
    items: list[RevealedMobiles]


class FollowRelationEdit(Schema):
    """Fields left out stay as they are; ``remark_mobiles: []`` clears them."""

    remark: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=150)
    remark_mobiles: list[str] | None = Field(default=None, max_length=10)


class FollowRelationTagsIn(Schema):
    """The relation's corp tags after the change: what is missing is added, what is extra removed
    (``[]`` removes every tag)."""

    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class BulkTagIn(Schema):
    filters: ContactFilters = Field(default_factory=ContactFilters)
    add_tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    remove_tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class AlertRead(BaseModel):
    id: uuid.UUID
    kind: str
    reason: str
    contact_id: uuid.UUID
    follow_id: uuid.UUID
    member_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None
    contact_name: str | None = None
    member_name: str | None = None


class AlertPage(BaseModel):
    items: list[AlertRead]
    next_cursor: str | None
    unread: int
