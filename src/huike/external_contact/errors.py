"""Errors of the customer domain, with their zh-CN and English messages."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict
from huike.core.i18n import register_messages


class SyncRunning(Conflict):
    """A customer sync of this tenant is queued or running (details: job_id)."""

    code = "external_contact.sync_running"


class UnknownTags(AppError):
    """Tag ids that are not live tags of the tenant (details: tag_ids)."""

    status_code = 422
    code = "external_contact.unknown_tags"


class NothingToTag(AppError):
    status_code = 422
    code = "external_contact.nothing_to_tag"


class RelationGone(Conflict):
    """WeCom says the member no longer has this customer (84061), or the relation ended here."""

    code = "external_contact.relation_gone"


class RemarkTooLong(AppError):
    """details: field, limit."""

    status_code = 422
    code = "external_contact.remark_too_long"


class NothingToChange(AppError):
    status_code = 422
    code = "external_contact.nothing_to_change"


class InvalidMobile(AppError):
    status_code = 422
    code = "external_contact.invalid_mobile"


class GroupRequired(AppError):
    """``group_membership`` in / not_in without ``group_chat_id``."""

    status_code = 422
    code = "external_contact.group_required"


class UnknownGroup(AppError):
    """``group_chat_id`` is not a customer group the caller may see."""

    status_code = 422
    code = "external_contact.unknown_group"


register_messages(
    {
        "external_contact.sync_running": (
            "客户同步正在进行中，请等待当前任务完成。",
            "A customer sync is already running; wait for it to finish.",
        ),
        "external_contact.unknown_tags": (
            "以下标签不存在或已删除：{tag_ids}",
            "These tags do not exist or were deleted: {tag_ids}",
        ),
        "external_contact.nothing_to_tag": (
            "请至少选择一个要添加或移除的标签。",
            "Choose at least one tag to add or remove.",
        ),
        "external_contact.relation_gone": (
            "该成员与客户的好友关系已不存在，无法修改。",
            "This member no longer has this customer, so it cannot be changed.",
        ),
        "external_contact.remark_too_long": (
            "{field} 超过企业微信的长度限制（最多 {limit} 个字符）。",
            "{field} is longer than WeCom allows (at most {limit} characters).",
        ),
        "external_contact.nothing_to_change": (
            "请至少修改备注、描述或备注手机号中的一项。",
            "Change at least one of remark, description or remark mobiles.",
        ),
        "external_contact.group_required": (
            "请选择客户群。",
            "Choose a customer group.",
        ),
        "external_contact.unknown_group": (
            "客户群不存在或无权查看。",
            "The customer group does not exist or is not visible to you.",
        ),
        "external_contact.invalid_mobile": (
            "备注手机号格式不正确。",
            "A remark mobile number is not valid.",
        ),
    }
)
