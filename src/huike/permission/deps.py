"""FastAPI dependencies: ``require(permission)`` and ready-made ``Annotated`` contexts.

In a router::

    from huike.permission.catalog import P
    from huike.permission.deps import CustomersView, require

    @router.get("")
    async def list(session: SessionDep, ctx: CustomersView) -> ...:
        visible = await permission_service.visible_member_ids(session, ctx)
        ...

    Special = Annotated[TenantContext, Depends(require(P.customers_export))]

The context is the request's ``CurrentTenant`` (resolved role, permissions and data scope); a missing
permission answers 403 ``permission.denied`` with ``details.permission``. The dependency runs before
the request body is validated, so a refused caller learns nothing about the body's shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from huike.core.tenancy import TenantContext
from huike.permission.catalog import Permission
from huike.permission.service import check, denied
from huike.security.sessions import CurrentTenant

PERMISSION_ATTRIBUTE = "huike_permission"
"""The attribute naming what a ``require`` dependency checks (route tests read it)."""


def require(permission: Permission, *alternatives: Permission) -> Callable[..., Awaitable[TenantContext]]:
    """A dependency returning the request's context if it holds ``permission`` (or any of
    ``alternatives``); 403 ``permission.denied`` otherwise."""
    wanted = (permission, *alternatives)

    async def dependency(ctx: CurrentTenant) -> TenantContext:
        if len(wanted) == 1:
            return check(ctx, permission)
        if any(ctx.can(p) for p in wanted):
            return ctx
        raise denied(*wanted)

    dependency.__name__ = "require_" + "_or_".join(str(p).replace(".", "_") for p in wanted)
    setattr(dependency, PERMISSION_ATTRIBUTE, wanted)
    return dependency


P = Permission

ContactWaysView = Annotated[TenantContext, Depends(require(P.contact_ways_view))]
ContactWaysManage = Annotated[TenantContext, Depends(require(P.contact_ways_manage))]
WelcomeView = Annotated[TenantContext, Depends(require(P.welcome_view))]
WelcomeManage = Annotated[TenantContext, Depends(require(P.welcome_manage))]
CustomersView = Annotated[TenantContext, Depends(require(P.customers_view))]
CustomersEdit = Annotated[TenantContext, Depends(require(P.customers_edit))]
CustomersExport = Annotated[TenantContext, Depends(require(P.customers_export))]
CustomersRevealMobile = Annotated[TenantContext, Depends(require(P.customers_reveal_mobile))]
TagsManage = Annotated[TenantContext, Depends(require(P.tags_manage))]
GroupsView = Annotated[TenantContext, Depends(require(P.groups_view))]
GroupsManage = Annotated[TenantContext, Depends(require(P.groups_manage))]
MassMessagesView = Annotated[TenantContext, Depends(require(P.mass_messages_view))]
MassMessagesSend = Annotated[TenantContext, Depends(require(P.mass_messages_send))]
MomentsView = Annotated[TenantContext, Depends(require(P.moments_view))]
MomentsPublish = Annotated[TenantContext, Depends(require(P.moments_publish))]
MaterialsManage = Annotated[TenantContext, Depends(require(P.materials_manage))]
AnalyticsView = Annotated[TenantContext, Depends(require(P.analytics_view))]
MembersView = Annotated[TenantContext, Depends(require(P.members_view))]
MembersManage = Annotated[TenantContext, Depends(require(P.members_manage))]
RolesManage = Annotated[TenantContext, Depends(require(P.roles_manage))]
WecomManage = Annotated[TenantContext, Depends(require(P.wecom_manage))]
PrivacyView = Annotated[TenantContext, Depends(require(P.privacy_view))]
AuditView = Annotated[TenantContext, Depends(require(P.audit_view))]
SidebarApp = Annotated[TenantContext, Depends(require(P.app_sidebar))]
AnyMember = CurrentTenant
"""For the few routes every member of the tenant may call; list them in the route walk's allow-list."""
