"""Request and response shapes of the member API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from huike.core.schemas import Schema
from huike.member.models import MemberStatus
from huike.permission.schemas import RoleRef


class MemberSyncIn(Schema):
    """``full``: read every member's details again (otherwise only new, changed or stale ones)."""

    full: bool = False


class DepartmentRef(BaseModel):
    id: uuid.UUID | None
    wecom_id: int
    name: str | None


class MemberRead(BaseModel):
    id: uuid.UUID
    wecom_userid: str
    name: str | None
    position: str
    status: MemberStatus
    in_scope: bool
    has_customer_contact: bool
    activated: bool
    main_department: DepartmentRef | None
    departments: list[DepartmentRef]
    last_synced_at: datetime | None
    deleted_at: datetime | None
    role: RoleRef = Field(
        description="The role the member's permissions come from (an assigned role, else the built-in role "
        "of their account; ``member`` until they activate)."
    )


class DepartmentNode(BaseModel):
    id: uuid.UUID
    wecom_id: int
    name: str
    order: int
    member_count: int
    children: list[DepartmentNode]


class DepartmentTree(BaseModel):
    items: list[DepartmentNode]


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    member_id: uuid.UUID
    role: str
    status: str
    expires_at: datetime
    accepted_at: datetime | None


class MemberCustomerTag(BaseModel):
    id: uuid.UUID
    name: str
    group_id: uuid.UUID
    group_name: str
    customers: int = Field(
        description="How many of the member's customers carry the tag the member put on them."
    )


class MemberCustomerTags(BaseModel):
    """The corp tags a member put on their customers (R-ADM-1 「成员给客户添加的标签」)."""

    member_id: uuid.UUID
    items: list[MemberCustomerTag]
