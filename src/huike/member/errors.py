"""Errors of the member domain, with their zh-CN and English messages."""

from __future__ import annotations

from typing import ClassVar

from huike.core.errors import Conflict, Forbidden, Unauthorized
from huike.core.i18n import register_messages


class SyncRunning(Conflict):
    """A full sync of this tenant is queued or running (details: job_id)."""

    code = "member.sync_running"


class AdminRequired(Forbidden):
    code = "member.admin_required"


class MemberNotInvitable(Conflict):
    """``reason``: out_of_scope, left, disabled, already_active."""

    code = "member.not_invitable"


class MemberOutOfScope(Unauthorized):
    """A member outside the app's visibility scope (or gone from WeCom) tried to log in or use a
    session. The login refusal keeps its audit row."""

    code = "auth.member_out_of_scope"
    keeps_writes: ClassVar[bool] = True


class InvitationExpired(Unauthorized):
    code = "auth.invitation_expired"
    keeps_writes: ClassVar[bool] = True


register_messages(
    {
        "member.sync_running": (
            "成员同步正在进行中，请等待当前任务完成。",
            "A member sync is already running; wait for it to finish.",
        ),
        "member.admin_required": (
            "只有管理员可以执行此操作。",
            "Only an admin can do this.",
        ),
        "member.not_invitable": (
            "该成员当前无法邀请（{reason}）：成员须在应用可见范围内、在职且尚未激活。",
            "This member cannot be invited ({reason}): they must be in the app's visibility scope, "
            "active in WeCom and not yet activated.",
        ),
        "auth.member_out_of_scope": (
            "您已不在本企业汇客应用的可见范围内，无法登录。如有疑问请联系企业管理员。",
            "You are no longer in the visibility scope of this company's Huike app, so you cannot "
            "log in. Ask your company's admin.",
        ),
        "auth.invitation_expired": (
            "邀请已过期，请联系企业管理员重新邀请。",
            "The invitation has expired; ask your company's admin to invite you again.",
        ),
    }
)
