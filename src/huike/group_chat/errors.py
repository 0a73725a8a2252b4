"""The customer-group domain's errors."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict
from huike.core.i18n import register_messages


class SyncRunning(Conflict):
    """A group sync of the tenant is queued or running (details: job_id)."""

    code = "group_chat.sync_running"


class TagNameEmpty(AppError):
    status_code = 422
    code = "group_chat.tag_name_empty"


class TagNameTooLong(AppError):
    status_code = 422
    code = "group_chat.tag_name_too_long"


class TagNameTaken(Conflict):
    code = "group_chat.tag_name_taken"


class UnknownTags(AppError):
    """Some tag ids of a PUT .../tags are not the tenant's group tags (details: tag_ids)."""

    status_code = 422
    code = "group_chat.unknown_tags"


class InvalidRange(AppError):
    status_code = 422
    code = "group_chat.invalid_range"


register_messages(
    {
        "group_chat.sync_running": (
            "客户群同步正在进行中（任务 {job_id}），请等待完成。",
            "A customer group sync is already running (job {job_id}); wait for it to finish.",
        ),
        "group_chat.tag_name_empty": ("群标签名称不能为空。", "The group tag's name cannot be empty."),
        "group_chat.tag_name_too_long": (
            "群标签名称最多 {max} 个字符，当前为 {length} 个。",
            "A group tag's name has at most {max} characters; this one has {length}.",
        ),
        "group_chat.tag_name_taken": ("已有同名的群标签。", "A group tag with this name already exists."),
        "group_chat.unknown_tags": (
            "以下群标签不存在：{tag_ids}。",
            "These group tags do not exist: {tag_ids}.",
        ),
        "group_chat.invalid_range": (
            "创建时间范围无效：开始时间晚于结束时间。",
            "Invalid creation-time range: the start is after the end.",
        ),
    }
)
