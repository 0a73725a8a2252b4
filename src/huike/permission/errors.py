"""Errors of the permission domain, with their zh-CN and English messages."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict, Forbidden
from huike.core.i18n import register_messages


class PermissionDenied(Forbidden):
    """details: ``permission`` (the one missing; ``any_of`` when several would do)."""

    code = "permission.denied"


class ConsoleNotAllowed(Forbidden):
    """The session's role no longer holds the web console app (``app.console``): every console request
    is refused until it does again (details: ``permission``). Login refuses such a role with
    ``auth.console_not_allowed``."""

    code = "permission.console_not_allowed"


class GrantExceedsOwn(Forbidden):
    """An actor may grant, change or take away only what they hold themselves (details: ``permissions``
    they lack, or ``data_scope``)."""

    code = "permission.grant_exceeds_own"


class UnknownPermission(AppError):
    status_code = 422
    code = "permission.unknown"


class UnknownRole(AppError):
    """The role to assign is neither a built-in (admin, member) nor a custom role of the tenant."""

    status_code = 422
    code = "permission.role_unknown"


class InvalidRoleName(AppError):
    status_code = 422
    code = "permission.role_name_invalid"


class RoleNameTaken(Conflict):
    code = "permission.role_name_taken"


class BuiltinRoleReadOnly(Conflict):
    code = "permission.role_builtin"


class RoleInUse(Conflict):
    """details: ``members``, how many hold the role."""

    code = "permission.role_in_use"


class CreatorLocked(Conflict):
    """The creator's role changes only by a creator transfer; nobody is made creator by assignment."""

    code = "permission.creator_locked"


class OwnRoleLocked(Conflict):
    code = "permission.own_role"


class MemberOutsideScope(Forbidden):
    """Asking for another member's data (their groups, their tags) outside one's data scope (R-ADM-1)."""

    code = "permission.member_outside_scope"


register_messages(
    {
        "permission.denied": (
            "您没有执行此操作的权限（{permission}）。如需开通请联系企业管理员。",
            "You do not have the permission for this ({permission}). Ask your company's admin.",
        ),
        "permission.console_not_allowed": (
            "您的角色现在没有“Web 管理后台”应用权限，无法继续使用管理后台。如需开通请联系企业管理员。",
            "Your role no longer includes the Web console app, so you cannot keep using the console. "
            "Ask your company's admin to grant it.",
        ),
        "permission.grant_exceeds_own": (
            "您只能授予或调整自己拥有的权限和数据范围。",
            "You can grant or change only permissions and data scopes you hold yourself.",
        ),
        "permission.unknown": (
            "权限 {permission} 不存在或不可授予。",
            "The permission {permission} does not exist or cannot be granted.",
        ),
        "permission.role_unknown": (
            "要分配的角色不存在。",
            "The role to assign does not exist.",
        ),
        "permission.role_name_invalid": (
            "角色名称须为 1 到 30 个字符。",
            "A role's name must have 1 to 30 characters.",
        ),
        "permission.role_name_taken": (
            "已存在同名角色，请换一个名称。",
            "A role with this name exists already; choose another name.",
        ),
        "permission.role_builtin": (
            "内置角色不可修改或删除。",
            "Built-in roles cannot be changed or deleted.",
        ),
        "permission.role_in_use": (
            "仍有 {members} 名成员使用此角色，请先为他们更换角色。",
            "{members} members still hold this role; give them another role first.",
        ),
        "permission.creator_locked": (
            "创建者的角色只能通过转让创建者变更。",
            "The creator's role changes only by transferring the creator role.",
        ),
        "permission.own_role": (
            "不能修改自己的角色，请联系其他管理员。",
            "You cannot change your own role; ask another admin.",
        ),
        "permission.member_outside_scope": (
            "您的数据范围不包含该成员，无法查看其数据。",
            "That member is outside your data scope, so you cannot view their data.",
        ),
    }
)
