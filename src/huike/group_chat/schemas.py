"""Request and response shapes of the customer-group API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from huike.core.schemas import Schema
from huike.group_chat.models import GroupStatus, MemberType

MAX_TAGS_PER_GROUP = 100


class SyncIn(Schema):
    """``full``: read every group with groupchat/get (otherwise only new, changed or stale ones)."""

    full: bool = False


class OwnerRef(BaseModel):
    userid: str
    member_id: uuid.UUID | None
    name: str | None


class TagRef(BaseModel):
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
    tags: list[TagRef]


class GroupChatPage(BaseModel):
    items: list[GroupChatRead]
    next_cursor: str | None
    total: int


class GroupMemberRead(BaseModel):
    userid: str
    type: MemberType
    member_id: uuid.UUID | None = Field(description="the Huike member, for type member")
    name: str | None = Field(description="the member's name, for type member (customers: see their profile)")
    join_scene: int = Field(description="1 invited directly, 2 by link, 3 group QR code, 0 invited")
    join_time: datetime | None
    invitor_userid: str | None
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
