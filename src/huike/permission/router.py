"""The permission API: the catalogue, my permissions, custom roles, and a member's role.

Built-in roles are addressed by their key (``creator``, ``admin``, ``member``) and are read-only;
custom roles by their id. Every change is audited (``permission.changed``, ``role.changed``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Response

from huike.core.errors import error_responses
from huike.core.routing import SessionDep, make_router
from huike.permission import service
from huike.permission.deps import AnyMember, RolesManage
from huike.permission.repository import MemberGrant
from huike.permission.schemas import (
    CatalogRead,
    MemberRoleRead,
    MyPermissionsRead,
    RoleAssign,
    RoleCreate,
    RoleList,
    RoleRead,
    RoleUpdate,
)

permissions = make_router(
    prefix="/api/v1/permissions", tag="permissions", responses=error_responses(401, 403)
)
roles = make_router(prefix="/api/v1/roles", tag="roles", responses=error_responses(401, 403, 422))
member_roles = make_router(
    prefix="/api/v1/members", tag="permissions", responses=error_responses(401, 403, 422)
)

RoleKey = Annotated[
    str, Path(min_length=1, max_length=40, description="a built-in key (creator, admin, member) or a role id")
]


@permissions.get("/catalog", response_model=CatalogRead)
async def catalog(ctx: AnyMember) -> CatalogRead:
    """Function permissions by module (zh-CN and English labels), app permissions, data scopes and the
    scope rules. The same for every tenant."""
    return service.catalog()


@permissions.get("/me", response_model=MyPermissionsRead)
async def me(session: SessionDep, ctx: AnyMember) -> MyPermissionsRead:
    """My role, permissions, apps and data scope, for the console to hide what I may not do."""
    return await service.me(session, ctx)


@roles.get("", response_model=RoleList)
async def list(session: SessionDep, ctx: RolesManage) -> RoleList:
    """The built-in roles, then the tenant's custom roles (oldest first) with how many members hold them."""
    return await service.list_roles(session, ctx)


@roles.post("", response_model=RoleRead, status_code=201, responses=error_responses(409))
async def create(session: SessionDep, ctx: RolesManage, body: RoleCreate) -> RoleRead:
    """A custom role. Only permissions and a scope the caller holds can be given."""
    return await service.create_role(session, ctx, body)


@roles.get("/{role}", response_model=RoleRead, responses=error_responses(404))
async def get(session: SessionDep, ctx: RolesManage, role: RoleKey) -> RoleRead:
    return await service.get_role(session, ctx, role)


@roles.patch("/{role}", response_model=RoleRead, responses=error_responses(404, 409))
async def update(session: SessionDep, ctx: RolesManage, role: RoleKey, body: RoleUpdate) -> RoleRead:
    """Change a custom role; its holders' permissions change at their next request. 409 for a built-in."""
    return await service.update_role(session, ctx, role, body)


@roles.delete("/{role}", status_code=204, response_class=Response, responses=error_responses(404, 409))
async def delete(session: SessionDep, ctx: RolesManage, role: RoleKey) -> Response:
    """Delete a custom role: 409 ``permission.role_in_use`` while members hold it, 409 for a built-in."""
    await service.delete_role(session, ctx, role)
    return Response(status_code=204)


async def target_member(session: SessionDep, ctx: RolesManage, member_id: uuid.UUID) -> MemberGrant:
    """The member of the path (404 for a missing or foreign id, before the body is looked at)."""
    return await service.member_grant(session, ctx, member_id)


@member_roles.put("/{member_id}/role", response_model=MemberRoleRead, responses=error_responses(404, 409))
async def assign_role(
    session: SessionDep,
    ctx: RolesManage,
    target: Annotated[MemberGrant, Depends(target_member)],
    member_id: uuid.UUID,
    body: RoleAssign,
) -> MemberRoleRead:
    """Give the member a role (``admin``, ``member`` or a custom role's id); the data scope is the
    role's. The creator's role is locked (409); nobody changes their own (409)."""
    return await service.assign_role(session, ctx, target, body.role)
