"""Request and response shapes of the permission API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from huike.core.schemas import Schema
from huike.permission.catalog import DataScope


class Label(BaseModel):
    zh: str
    en: str


class PermissionEntry(BaseModel):
    code: str
    label: Label
    implies: list[str]


class ModuleEntry(BaseModel):
    code: str
    label: Label
    permissions: list[PermissionEntry]


class ScopeEntry(BaseModel):
    code: DataScope
    label: Label


class ScopeRuleEntry(BaseModel):
    resource: str
    owner: str
    permission: str
    label: Label


class CatalogRead(BaseModel):
    """Function permissions by module, app permissions, the creator's own permissions (never granted),
    data scopes and the scope rules the customer and group domains follow."""

    modules: list[ModuleEntry]
    apps: list[PermissionEntry]
    creator_only: list[PermissionEntry]
    data_scopes: list[ScopeEntry]
    scope_rules: list[ScopeRuleEntry]


class RoleRead(BaseModel):
    """``id``: ``creator``, ``admin`` or ``member`` for a built-in role, the UUID of a custom one."""

    id: str
    builtin: bool
    name: str
    permissions: list[str]
    data_scope: DataScope
    member_count: int | None = Field(description="members holding a custom role; None for built-ins")
    created_at: datetime | None
    updated_at: datetime | None


class RoleRef(BaseModel):
    """The role that applies to a person (what their permissions come from): ``id`` is ``creator``,
    ``admin`` or ``member`` for a built-in role, the UUID of a custom one."""

    id: str
    name: str
    builtin: bool


class RoleList(BaseModel):
    items: list[RoleRead]


class RoleCreate(Schema):
    name: str = Field(min_length=1, max_length=30)
    permissions: list[str] = Field(max_length=100)
    data_scope: DataScope


class RoleUpdate(Schema):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=30)
    permissions: list[str] | None = Field(default=None, max_length=100)
    data_scope: DataScope | None = None


class RoleAssign(Schema):
    role: str = Field(min_length=1, max_length=40, description="a built-in key (admin, member) or a role id")


class MemberRoleRead(BaseModel):
    member_id: uuid.UUID
    role: RoleRead


class MyPermissionsRead(BaseModel):
    """What the console needs to hide what the user may not do."""

    role: RoleRead | None
    permissions: list[str] = Field(description="function permissions (closure), sorted")
    apps: list[str]
    data_scope: DataScope
    member_id: uuid.UUID | None
