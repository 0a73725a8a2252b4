"""Request and response shapes of the customer-group API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from huike.core.schemas import Schema
from huike.group_chat.models import GroupStatus, MemberType

MAX_TAGS_PER_GROUP = 100
MAX_BULK_GROUPS = 500


class GroupSort(StrEnum):
    """Orders of the group list: WeCom's creation time or the group's size, either way."""

    created_desc = "created_desc"
    created_asc = "created_asc"
    size_desc = "size_desc"
    size_asc = "size_asc"


class MemberState(StrEnum):
    """Which people of a group: those in it now, those who left, or both."""

    present = "present"
    left = "left"
    all = "all"


class GroupChatSyncIn(Schema):
    """``full``: read every group with groupchat/get (otherwise only new, changed or stale ones)."""

    full: bool = False


class OwnerRef(BaseModel):
    userid: str
    member_id: uuid.UUID | None
    name: str | None


class GroupChatTagRef(BaseModel):
    id: uuid.UUID
    name: str


class GroupChatRead(BaseModel):
    id: uuid.UUID
    chat_id: str
    name: str
    owner: OwnerRef
    status: GroupStatus
    member_count: int
    wecom_created_at: datetime
    dismissed_at: datetime | None
    synced_at: datetime | None
    tags: list[GroupChatTagRef]


class GroupChatPage(BaseModel):
    items: list[GroupChatRead]
    next_cursor: str | None
    total: int


class NameSource(StrEnum):
    """Where a group member's ``name`` comes from."""

    member = "member"  # the member directory (type member)
    customer = "customer"  # the customer's profile: one of ours, in the caller's data scope
    group = "group"  # what the group shows (群昵称 or WeChat name): an external contact who is no customer


class GroupMemberRead(BaseModel):
    userid: str
    type: MemberType
    member_id: uuid.UUID | None = Field(description="the Huike member, for type member")
    name: str | None = Field(
        description="the member's name; for an external contact the customer's name when they are a "
        "customer the caller may see, the name the group shows when they are nobody's customer, else "
        "null (a customer outside the caller's data scope, or a name not read from WeCom yet)"
    )
    name_source: NameSource | None = Field(default=None, description="where ``name`` comes from")
    customer_id: uuid.UUID | None = Field(
        default=None, description="the customer (external contacts the caller may see): their detail page"
    )
    customer_type: Literal["wechat", "wecom"] | None = Field(
        default=None, description="the customer's type: a WeChat user or a WeCom user of another corp"
    )
    corp_name: str | None = Field(
        default=None, description="WeCom-user customers: the short corp name WeCom shows with the name"
    )
    join_scene: int = Field(description="1 invited directly, 2 by link, 3 group QR code, 0 invited")
    join_time: datetime | None
    invitor_userid: str | None
    invitor_name: str | None = Field(default=None, description="the inviting member's name")
    left_at: datetime | None


class GroupStatistics(BaseModel):
    size: int
    members: int
    externals: int
    joins_today: int
    quits_today: int
    joins_30d: int
    quits_30d: int


class GroupChatDetail(GroupChatRead):
    members: list[GroupMemberRead]
    statistics: GroupStatistics


class TrendPoint(BaseModel):
    day: date
    size: int
    joins: int
    quits: int


class Trend(BaseModel):
    items: list[TrendPoint]


class GroupTagIn(Schema):
    name: str


class GroupTagUpdate(Schema):
    name: str | None = None


class GroupTagRead(BaseModel):
    id: uuid.UUID
    name: str
    usage: int
    created_at: datetime


class GroupTagList(BaseModel):
    items: list[GroupTagRead]


class GroupTagsSet(Schema):
    """The group's local tags, replacing the ones it has (empty: none)."""

    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TAGS_PER_GROUP)


class GroupMemberPage(BaseModel):
    """A page of a group's people; ``total`` counts every match, ``members``/``externals`` the
    matches of each type (the type filter aside)."""

    items: list[GroupMemberRead]
    total: int
    members: int
    externals: int


class GroupOverview(BaseModel):
    """Numbers across the groups the caller may see (dismissed groups count in ``by_status`` only)."""

    groups: int
    members: int = Field(description="people in the groups (a person in two groups counts twice)")
    internal_members: int
    externals: int
    new_groups_today: int
    joins_today: int
    quits_today: int
    joins_7d: int
    quits_7d: int
    by_status: dict[GroupStatus, int]


class GroupOwner(OwnerRef):
    groups: int


class GroupOwnerList(BaseModel):
    items: list[GroupOwner]


class GroupBulkTags(Schema):
    """Add and remove local tags on many groups at once (the other tags of each group stay)."""

    group_chat_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK_GROUPS)
    add_tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TAGS_PER_GROUP)
    remove_tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TAGS_PER_GROUP)


class GroupBulkTagsResult(BaseModel):
    groups: int
    added: int
    removed: int
