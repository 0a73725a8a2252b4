from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from huike.core.schemas import Schema
from huike.tag.models import MAX_TAGS, TagOwner

# WeCom: an order is an integer in [0, 2^32); larger sorts first
Order = Annotated[int, Field(ge=0, lt=2**32)]


class TagIn(Schema):
    name: str
    order: Order = 0


class TagGroupCreate(Schema):
    name: str
    order: Order = 0
    tags: list[TagIn] = Field(default_factory=list, max_length=MAX_TAGS)


class TagsCreate(Schema):
    tags: list[TagIn] = Field(default_factory=list, max_length=MAX_TAGS)


class Rename(Schema):
    """A new name, a new order, or both."""

    name: str | None = None
    order: Order | None = None


class GroupOrder(Schema):
    """Every live tag group, first to last."""

    tag_group_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TAGS)


class TagOrder(Schema):
    """Every live tag of the group, first to last."""

    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TAGS)


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    group_id: uuid.UUID
    wecom_id: str | None
    name: str
    order: int
    owner: TagOwner
    created_by: uuid.UUID | None
    wecom_created_at: datetime | None
    version: int
    updated_at: datetime
    usage: int = 0


class TagGroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    wecom_id: str | None
    name: str
    order: int
    owner: TagOwner
    created_by: uuid.UUID | None
    wecom_created_at: datetime | None
    version: int
    updated_at: datetime
    tags: list[TagRead]


class TagGroupList(BaseModel):
    items: list[TagGroupRead]
    tag_count: int
    tag_limit: int = MAX_TAGS
