"""Roles, permissions and data scopes: who may do what, and whose data they see.

Resolution (:func:`resolve`, run by ``get_tenant_context`` for every request)
-----------------------------------------------------------------------------
1. the creator (``account_memberships.role = creator``) is always ``creator``;
2. otherwise the member's assignment (:class:`~huike.permission.models.RoleAssignment`): a built-in key
   or a custom role;
3. otherwise the account membership's role (``admin`` or ``member``);
4. otherwise nothing: no permissions, scope self.
The result goes into the :class:`~huike.core.tenancy.TenantContext` (``role``, ``permissions``,
``data_scope``, ``member_id``), so a check is a set lookup (:meth:`TenantContext.can`).

Enforcement
-----------
* New routes declare ``require(P.x)`` (:mod:`huike.permission.deps`): 403 ``permission.denied`` with
  ``details.permission``.
* Routes of domains that predate roles are listed in :data:`~huike.permission.catalog.ROUTE_RULES`
  and checked by :func:`enforce_route` inside ``get_tenant_context``.
* Service-level hooks: ``member.require_admin`` (:func:`has_permission`), the audit router's
  ``require_admin`` (:func:`check`) and the tag domain's group rule (:func:`may_manage_tag_group`,
  installed by :func:`install_hooks`).
* ``tests/permission/test_route_walk.py`` walks every route as a member without permissions: each
  answers ``permission.denied`` or is on its allow-list with a reason.

Changes to roles and assignments are audited (``permission.changed``, ``role.changed``) with the
permission codes before and after; an actor grants, changes or takes away only what they hold.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from huike.core.errors import NotFound
from huike.core.i18n import current_locale
from huike.core.tenancy import TenantContext
from huike.member.errors import MemberOutOfScope
from huike.permission.catalog import (
    APPS,
    BUILTIN_ROLES,
    CREATOR_ONLY,
    GRANTABLE,
    MODULES,
    ROUTE_RULES,
    SCOPE_LABELS,
    SCOPE_RANK,
    SCOPE_RULES,
    BuiltinRole,
    DataScope,
    Permission,
    PermissionInfo,
    closure,
)
from huike.permission.errors import (
    BuiltinRoleReadOnly,
    ConsoleNotAllowed,
    CreatorLocked,
    GrantExceedsOwn,
    InvalidRoleName,
    MemberOutsideScope,
    OwnRoleLocked,
    PermissionDenied,
    RoleInUse,
    RoleNameTaken,
    UnknownPermission,
    UnknownRole,
)
from huike.permission.models import Role, RoleAssignment
from huike.permission.repository import AssignmentRepository, MemberGrant, OrgRepository, RoleRepository
from huike.permission.schemas import (
    CatalogRead,
    Label,
    MemberRoleRead,
    ModuleEntry,
    MyPermissionsRead,
    PermissionEntry,
    RoleCreate,
    RoleList,
    RoleRead,
    RoleRef,
    RoleUpdate,
    ScopeEntry,
    ScopeRuleEntry,
)
from huike.privacy.audit.service import record

if TYPE_CHECKING:
    from huike.tag.models import TagGroup

log = structlog.get_logger(__name__)

_GRANTABLE_CODES = frozenset(str(code) for code in GRANTABLE)
_APP_CODES = frozenset(str(info.code) for info in APPS)


# --- resolution ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """A role as it applies to one person."""

    role: str | None  # a built-in key or a custom role's id
    permissions: frozenset[str]
    data_scope: DataScope


NO_GRANT = Grant(None, frozenset(), DataScope.own)


def _builtin(key: str) -> Grant:
    info = BUILTIN_ROLES[BuiltinRole(key)]
    return Grant(str(info.key), frozenset(str(p) for p in info.permissions), info.data_scope)


def _custom(role_id: uuid.UUID, permissions: Iterable[str] | None, scope: str | None) -> Grant:
    # codes taken out of the catalogue since the role was saved simply stop counting
    held = frozenset(code for code in permissions or () if code in _GRANTABLE_CODES)
    return Grant(str(role_id), held, DataScope(scope) if scope else DataScope.own)


def _grant_of(membership_role: str | None, row: MemberGrant | None) -> Grant:
    if membership_role == BuiltinRole.creator:
        return _builtin(BuiltinRole.creator)
    if row is not None and row.builtin in (BuiltinRole.admin, BuiltinRole.member):
        return _builtin(row.builtin)
    if row is not None and row.role_id is not None:
        return _custom(row.role_id, row.role_permissions, row.role_scope)
    if membership_role in (BuiltinRole.admin, BuiltinRole.member):
        return _builtin(membership_role)
    return NO_GRANT


async def _membership_role(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    from huike.account.service import role_of  # the account domain imports the session layer

    return await role_of(session, tenant_id, user_id)


async def _resolve_user(
    session: AsyncSession, ctx: TenantContext, user_id: uuid.UUID
) -> tuple[TenantContext, MemberGrant | None]:
    membership_role = await _membership_role(session, ctx.tenant_id, user_id)
    row = await OrgRepository(session, ctx.tenant_id).grant_of_user(user_id)
    grant = _grant_of(membership_role, row)
    resolved = dataclasses.replace(
        ctx,
        role=grant.role,
        permissions=grant.permissions,
        data_scope=str(grant.data_scope),
        member_id=row.member_id if row else None,
    )
    return resolved, row


async def resolve(session: AsyncSession, ctx: TenantContext) -> TenantContext:
    """``ctx`` with its role, permissions, data scope and member id. A system context and an already
    resolved one come back as they are."""
    if ctx.is_system or ctx.permissions is not None:
        return ctx
    if ctx.user_id is None:
        return dataclasses.replace(ctx, permissions=frozenset(), data_scope=str(DataScope.own))
    return (await _resolve_user(session, ctx, ctx.user_id))[0]


async def resolve_request(session: AsyncSession, ctx: TenantContext) -> TenantContext:
    """The context of one request of a console session (``get_tenant_context``): :func:`resolve`,
    then two refusals read from the same rows, so nothing is cached between requests and nothing is
    read twice:

    * 401 ``auth.member_out_of_scope`` when the user's WeCom member lost access (R-WX-3: out of the
      app's visibility scope, gone, disabled or resigned);
    * 403 ``permission.console_not_allowed`` when their role lacks the web console app
      (``app.console``). Login checks it too; this makes taking it away effective at once.

    A role edited, a member given another role, an app permission taken away: the very next request
    sees it (R-ADM-1). A session without a user has no role and passes (every check refuses it)."""
    if ctx.is_system or ctx.user_id is None:
        return await resolve(session, ctx)
    resolved, row = await _resolve_user(session, ctx, ctx.user_id)
    if row is not None and not row.can_access:
        raise MemberOutOfScope()
    if not resolved.can(Permission.app_console):
        log.info("permission.console_refused", role=resolved.role)
        raise ConsoleNotAllowed(permission=str(Permission.app_console))
    return resolved


# --- checks ----------------------------------------------------------------------------------------


def denied(*permissions: str) -> PermissionDenied:
    details: dict[str, object] = {"permission": str(permissions[0])}
    if len(permissions) > 1:
        details["any_of"] = [str(p) for p in permissions]
    return PermissionDenied(**details)


def check(ctx: TenantContext, permission: str) -> TenantContext:
    """``ctx`` when it holds ``permission``; 403 ``permission.denied`` otherwise. ``ctx`` must be
    resolved (every request's context is)."""
    if not ctx.can(permission):
        log.info("permission.denied", permission=str(permission))
        raise denied(permission)
    return ctx


async def has_permission(session: AsyncSession, ctx: TenantContext, permission: str) -> bool:
    return (await resolve(session, ctx)).can(permission)


async def ensure(session: AsyncSession, ctx: TenantContext, permission: str) -> TenantContext:
    """:func:`check` for a context that may not be resolved yet (services, jobs)."""
    return check(await resolve(session, ctx), permission)


async def enforce_route(session: AsyncSession, request: Request, ctx: TenantContext) -> None:
    """The rule of :data:`ROUTE_RULES` for the request's route, if it has one."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    method = "GET" if request.method == "HEAD" else request.method
    rule = ROUTE_RULES.get((method, path)) if isinstance(path, str) else None
    if rule is None or any(ctx.can(p) for p in rule.any_of):
        return
    log.info("permission.denied", permission=str(rule.any_of[0]), route=path)
    raise denied(*rule.any_of)


# --- data scopes -----------------------------------------------------------------------------------


def _subtree(roots: set[int], edges: list[tuple[int, int]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for department, parent in edges:
        if department != parent:
            children.setdefault(parent, []).append(department)
    found: set[int] = set()
    pending = list(roots)
    while pending:
        department = pending.pop()
        if department not in found:
            found.add(department)
            pending.extend(children.get(department, ()))
    return found


async def visible_member_ids(session: AsyncSession, ctx: TenantContext) -> set[uuid.UUID] | None:
    """**The** data-scope filter: the ids of the members whose data ``ctx`` may see, or ``None`` for
    the whole company (no filter). Every list, detail, count and export of member-owned data (external
    contacts by following member, customer groups by owner, tags by the member who added them, mass
    messages, Moments; see ``catalog.SCOPE_RULES``) must narrow by it, and nothing else::

        visible = await permission_service.visible_member_ids(session, ctx)
        if visible is not None:
            statement = statement.where(Model.owner_member_id.in_(visible))

    A detail outside the set answers 404 like a foreign id. Scopes:

    * ``company``: ``None`` (admins and the creator: every member's customers, groups and tags);
    * ``department``: members of the member's departments and of every department below them (the
      WeCom department tree synced by the member domain), the member included;
    * ``self``: the member only.

    A user who is not a WeCom member of the tenant (a creator who registered by phone has company
    scope anyway) sees an empty set under a narrower scope. A system context (jobs, callbacks) sees
    everything. The function checks no function permission: call ``require``/:func:`check` for that.
    """
    ctx = await resolve(session, ctx)
    if ctx.is_system or ctx.data_scope == DataScope.company:
        return None
    if ctx.member_id is None:
        return set()
    if ctx.data_scope != DataScope.department:
        return {ctx.member_id}
    org = OrgRepository(session, ctx.tenant_id)
    mine = await org.departments_of(ctx.member_id)
    departments = _subtree(mine, await org.department_edges()) | mine
    return await org.members_in(departments) | {ctx.member_id}


async def require_members_visible(
    session: AsyncSession, ctx: TenantContext, member_ids: Iterable[uuid.UUID]
) -> None:
    """R-ADM-1: asking for other members' data *by member* (their customer groups, the tags they
    added) needs a data scope that covers them: outside it the answer is 403, not an empty page."""
    visible = await visible_member_ids(session, ctx)
    if visible is not None and set(member_ids) - visible:
        raise MemberOutsideScope()


async def audit_member_view(
    session: AsyncSession, ctx: TenantContext, member_ids: Iterable[uuid.UUID], what: str
) -> None:
    """R-ADM-1: one F4 row (``member.<what>_viewed``) for one view of other members' data, naming the
    members (ids only). Viewing one's own data, or ids that are not the tenant's members, writes none."""
    if ctx.is_system:
        return
    wanted = set(member_ids) - ({ctx.member_id} if ctx.member_id else set())
    found = sorted(
        grant.member_id for grant in await OrgRepository(session, ctx.tenant_id).grants_of_members(wanted)
    )
    if not found:
        return
    await record(
        session,
        ctx,
        f"member.{what}_viewed",
        object_type="member",
        object_id=found[0] if len(found) == 1 else None,
        details={"members": [str(member_id) for member_id in found]},
    )


async def may_manage_tag_group(session: AsyncSession, ctx: TenantContext, group: TagGroup | None) -> bool:
    """The tag domain's rule (``tag.service.set_permission_check``): ``tags.manage``, and for an
    existing group, company scope or a group created by oneself or a member in one's scope (a group
    Huike did not create has no creator: company scope only)."""
    ctx = await resolve(session, ctx)
    if not ctx.can(Permission.tags_manage):
        return False
    if group is None:
        return True
    visible = await visible_member_ids(session, ctx)
    if visible is None:
        return True
    if group.created_by is None:
        return False
    if group.created_by == ctx.user_id:
        return True
    return group.created_by in await OrgRepository(session, ctx.tenant_id).user_ids_of(visible)


def install_hooks() -> None:
    """Install the rules other domains wait for (called by ``huike.registry.load``)."""
    from huike.tag.service import set_permission_check

    set_permission_check(may_manage_tag_group)


# --- the catalogue ---------------------------------------------------------------------------------


def _entry(info: PermissionInfo) -> PermissionEntry:
    return PermissionEntry(
        code=str(info.code), label=Label(zh=info.zh, en=info.en), implies=[str(p) for p in info.implies]
    )


def catalog() -> CatalogRead:
    return CatalogRead(
        modules=[
            ModuleEntry(
                code=m.code, label=Label(zh=m.zh, en=m.en), permissions=[_entry(i) for i in m.permissions]
            )
            for m in MODULES
        ],
        apps=[_entry(i) for i in APPS],
        creator_only=[_entry(i) for i in CREATOR_ONLY],
        data_scopes=[
            ScopeEntry(code=scope, label=Label(zh=zh, en=en)) for scope, (zh, en) in SCOPE_LABELS.items()
        ],
        scope_rules=[
            ScopeRuleEntry(
                resource=r.resource,
                owner=r.owner,
                permission=str(r.permission),
                label=Label(zh=r.zh, en=r.en),
            )
            for r in SCOPE_RULES
        ],
    )


# --- roles -----------------------------------------------------------------------------------------


def _builtin_read(key: BuiltinRole) -> RoleRead:
    info = BUILTIN_ROLES[key]
    return RoleRead(
        id=str(key),
        builtin=True,
        name=info.en if current_locale.get() == "en" else info.zh,
        permissions=sorted(str(p) for p in info.permissions),
        data_scope=info.data_scope,
        member_count=None,
        created_at=None,
        updated_at=None,
    )


def _role_read(role: Role, holders: int) -> RoleRead:
    grant = _custom(role.id, role.permissions, role.data_scope)
    return RoleRead(
        id=str(role.id),
        builtin=False,
        name=role.name,
        permissions=sorted(grant.permissions),
        data_scope=grant.data_scope,
        member_count=holders,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


async def list_roles(session: AsyncSession, ctx: TenantContext) -> RoleList:
    repository = RoleRepository(session, ctx)
    holders = await repository.holders()
    return RoleList(
        items=[_builtin_read(key) for key in BuiltinRole]
        + [_role_read(role, holders.get(role.id, 0)) for role in await repository.all()]
    )


async def _custom_role(session: AsyncSession, ctx: TenantContext, key: str) -> Role:
    if key in BUILTIN_ROLES:
        raise BuiltinRoleReadOnly()
    try:
        role_id = uuid.UUID(key)
    except ValueError as exc:
        raise NotFound() from exc
    return await RoleRepository(session, ctx).get_or_404(role_id)


async def get_role(session: AsyncSession, ctx: TenantContext, key: str) -> RoleRead:
    if key in BUILTIN_ROLES:
        return _builtin_read(BuiltinRole(key))
    role = await _custom_role(session, ctx, key)
    return _role_read(role, await AssignmentRepository(session, ctx).count_holding(role.id))


def _clean_name(value: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", value).split())
    if not 1 <= len(name) <= 30:
        raise InvalidRoleName()
    return name


def _grantable(codes: Iterable[str]) -> frozenset[str]:
    for code in codes:
        if code not in _GRANTABLE_CODES:
            raise UnknownPermission(permission=code[:64])
    return frozenset(str(p) for p in closure(codes))


def _within_own(ctx: TenantContext, permissions: Iterable[str], scope: DataScope) -> None:
    """An actor grants, changes or takes away only permissions and scopes they hold themselves."""
    lacking = sorted(set(permissions) - (ctx.permissions or frozenset()))
    if lacking and not ctx.is_system:
        raise GrantExceedsOwn(permissions=lacking)
    own = DataScope(ctx.data_scope) if ctx.data_scope else DataScope.own
    if not ctx.is_system and SCOPE_RANK[scope] > SCOPE_RANK[own]:
        raise GrantExceedsOwn(data_scope=str(scope))


def _widest(*scopes: DataScope) -> DataScope:
    return max(scopes, key=lambda scope: SCOPE_RANK[scope])


async def _name_free(session: AsyncSession, ctx: TenantContext, name: str, role: Role | None = None) -> None:
    found = await RoleRepository(session, ctx).by_name(name)
    builtin_names = {n for info in BUILTIN_ROLES.values() for n in (info.zh, info.en)}
    if (found is not None and found is not role) or name in builtin_names:
        raise RoleNameTaken()


async def _audit_role(
    session: AsyncSession,
    ctx: TenantContext,
    role_id: uuid.UUID,
    change: str,
    before: tuple[Iterable[str], DataScope | None],
    after: tuple[Iterable[str], DataScope | None],
) -> None:
    await record(
        session,
        ctx,
        "permission.changed",
        object_type="role",
        object_id=role_id,
        details={
            "change": change,
            "before": sorted(before[0]),
            "after": sorted(after[0]),
            "data_scope": {
                "from": str(before[1]) if before[1] else None,
                "to": str(after[1]) if after[1] else None,
            },
        },
    )


async def create_role(session: AsyncSession, ctx: TenantContext, data: RoleCreate) -> RoleRead:
    ctx = await ensure(session, ctx, Permission.roles_manage)
    name = _clean_name(data.name)
    permissions = _grantable(data.permissions)
    _within_own(ctx, permissions, data.data_scope)
    await _name_free(session, ctx, name)
    role = RoleRepository(session, ctx).add(
        Role(name=name, permissions=sorted(permissions), data_scope=str(data.data_scope))
    )
    await session.flush()
    await _audit_role(session, ctx, role.id, "created", ((), None), (permissions, data.data_scope))
    return _role_read(role, 0)


async def update_role(session: AsyncSession, ctx: TenantContext, key: str, data: RoleUpdate) -> RoleRead:
    ctx = await ensure(session, ctx, Permission.roles_manage)
    role = await _custom_role(session, ctx, key)
    before = _custom(role.id, role.permissions, role.data_scope)
    permissions = _grantable(data.permissions) if data.permissions is not None else before.permissions
    scope = data.data_scope or before.data_scope
    _within_own(ctx, before.permissions | permissions, _widest(before.data_scope, scope))
    if data.name is not None:
        name = _clean_name(data.name)
        if name != role.name:
            await _name_free(session, ctx, name, role)
            role.name = name
    changed = permissions != before.permissions or scope != before.data_scope
    if changed:
        role.permissions, role.data_scope = sorted(permissions), str(scope)
    await session.flush()
    if changed:
        await _audit_role(
            session, ctx, role.id, "updated", (before.permissions, before.data_scope), (permissions, scope)
        )
    return _role_read(role, await AssignmentRepository(session, ctx).count_holding(role.id))


async def delete_role(session: AsyncSession, ctx: TenantContext, key: str) -> None:
    ctx = await ensure(session, ctx, Permission.roles_manage)
    role = await _custom_role(session, ctx, key)
    before = _custom(role.id, role.permissions, role.data_scope)
    _within_own(ctx, before.permissions, before.data_scope)
    holders = await AssignmentRepository(session, ctx).count_holding(role.id)
    if holders:
        raise RoleInUse(members=holders)
    await session.delete(role)
    await session.flush()
    await _audit_role(session, ctx, role.id, "deleted", (before.permissions, before.data_scope), ((), None))


# --- assignments -----------------------------------------------------------------------------------


async def member_grant(session: AsyncSession, ctx: TenantContext, member_id: uuid.UUID) -> MemberGrant:
    """The member (404 when missing or another tenant's) with their assignment."""
    found = await OrgRepository(session, ctx.tenant_id).grant_of_member(member_id)
    if found is None:
        raise NotFound()
    return found


async def _current_grant(session: AsyncSession, ctx: TenantContext, target: MemberGrant) -> Grant:
    membership_role = (
        await _membership_role(session, ctx.tenant_id, target.user_id) if target.user_id else None
    )
    grant = _grant_of(membership_role, target)
    # a member who has not activated (no account yet) will get the invitation's role, member
    return grant if grant.role is not None else _builtin(BuiltinRole.member)


async def _target_role(session: AsyncSession, ctx: TenantContext, key: str) -> tuple[Grant, RoleRead]:
    if key == BuiltinRole.creator:
        raise CreatorLocked()
    if key in BUILTIN_ROLES:
        return _builtin(key), _builtin_read(BuiltinRole(key))
    try:
        role = await RoleRepository(session, ctx).get(uuid.UUID(key))
    except ValueError:
        role = None
    if role is None:
        raise UnknownRole()
    return _custom(role.id, role.permissions, role.data_scope), _role_read(role, 0)


async def assign_role(
    session: AsyncSession, ctx: TenantContext, target: MemberGrant, key: str
) -> MemberRoleRead:
    """Give a member a role (its data scope comes with it). The creator's role is locked; nobody
    changes their own; the actor must hold everything the member has now and will have."""
    ctx = await ensure(session, ctx, Permission.roles_manage)
    if target.user_id is not None and target.user_id == ctx.user_id:
        raise OwnRoleLocked()
    before = await _current_grant(session, ctx, target)
    if before.role == BuiltinRole.creator:
        raise CreatorLocked()
    after, read = await _target_role(session, ctx, key)
    _within_own(ctx, before.permissions | after.permissions, _widest(before.data_scope, after.data_scope))
    repository = AssignmentRepository(session, ctx)
    assignment = await repository.of_member(target.member_id)
    if assignment is None:
        assignment = repository.add(RoleAssignment(member_id=target.member_id))
    is_builtin = key in BUILTIN_ROLES
    assignment.builtin = key if is_builtin else None
    assignment.role_id = None if is_builtin else uuid.UUID(key)
    await session.flush()
    await record(
        session,
        ctx,
        "role.changed",
        object_type="member",
        object_id=target.member_id,
        details={
            "role": {"from": before.role, "to": after.role},
            "before": sorted(before.permissions),
            "after": sorted(after.permissions),
            "data_scope": {"from": str(before.data_scope), "to": str(after.data_scope)},
        },
    )
    if not is_builtin:
        read = read.model_copy(update={"member_count": await repository.count_holding(uuid.UUID(key))})
    return MemberRoleRead(member_id=target.member_id, role=read)


# --- effective roles -------------------------------------------------------------------------------


def _builtin_ref(key: str) -> RoleRef:
    info = BUILTIN_ROLES[BuiltinRole(key)]
    return RoleRef(id=str(info.key), name=info.en if current_locale.get() == "en" else info.zh, builtin=True)


async def role_ref(session: AsyncSession, ctx: TenantContext) -> RoleRef | None:
    """The role ``ctx``'s permissions come from (:func:`resolve`): a role assigned to the user's
    member wins over the built-in role of their account membership. None without a role."""
    ctx = await resolve(session, ctx)
    if ctx.role is None:
        return None
    if ctx.role in BUILTIN_ROLES:
        return _builtin_ref(ctx.role)
    found = await RoleRepository(session, ctx).get(uuid.UUID(ctx.role))
    return RoleRef(id=str(found.id), name=found.name, builtin=False) if found else None


async def member_roles(
    session: AsyncSession, ctx: TenantContext, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, RoleRef]:
    """The role each member's permissions come from, as :func:`resolve` would find it once they log
    in (a member who has not activated yet gets the invitation's role, ``member``, unless assigned one)."""
    from huike.account.service import roles_of  # the account domain imports the session layer

    grants = await OrgRepository(session, ctx.tenant_id).grants_of_members(member_ids)
    membership = await roles_of(session, ctx.tenant_id, [g.user_id for g in grants if g.user_id])
    found: dict[uuid.UUID, RoleRef] = {}
    for row in grants:
        grant = _grant_of(membership.get(row.user_id) if row.user_id else None, row)
        if grant.role is None or grant.role in BUILTIN_ROLES:
            found[row.member_id] = _builtin_ref(grant.role or BuiltinRole.member)
        else:
            found[row.member_id] = RoleRef(id=grant.role, name=row.role_name or "", builtin=False)
    return found


async def effective_access(session: AsyncSession, ctx: TenantContext) -> tuple[RoleRef | None, list[str]]:
    """The role ``ctx``'s user holds and every permission code it gives them (app permissions
    included), sorted: what the console needs right after login."""
    ctx = await resolve(session, ctx)
    return await role_ref(session, ctx), sorted(ctx.permissions or ())


# --- me --------------------------------------------------------------------------------------------


async def me(session: AsyncSession, ctx: TenantContext) -> MyPermissionsRead:
    ctx = await resolve(session, ctx)
    held = ctx.permissions or frozenset()
    role: RoleRead | None = None
    if ctx.role in BUILTIN_ROLES:
        role = _builtin_read(BuiltinRole(ctx.role))
    elif ctx.role is not None:
        found = await RoleRepository(session, ctx).get(uuid.UUID(ctx.role))
        role = (
            _role_read(found, await AssignmentRepository(session, ctx).count_holding(found.id))
            if found
            else None
        )
    return MyPermissionsRead(
        role=role,
        permissions=sorted(p for p in held if p not in _APP_CODES),
        apps=sorted(p for p in held if p in _APP_CODES),
        data_scope=DataScope(ctx.data_scope or DataScope.own),
        member_id=ctx.member_id,
    )
