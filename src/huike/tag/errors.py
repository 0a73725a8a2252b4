"""The tag domain's errors. WeCom's own refusals keep their ``wecom.*`` codes (40071
``wecom.tag_name_taken``, 40068 ``wecom.invalid_tag``) except 48002 on a tag, which means "not created
by Huike's app" and becomes ``tag.not_app_owned``."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict, Forbidden
from huike.core.i18n import register_messages


class TagNameEmpty(AppError):
    status_code = 422
    code = "tag.name_empty"


class TagNameTooLong(AppError):
    status_code = 422
    code = "tag.name_too_long"


class TagsRequired(AppError):
    status_code = 422
    code = "tag.tags_required"


class NothingToChange(AppError):
    status_code = 422
    code = "tag.nothing_to_change"


class OrderMismatch(AppError):
    """A reorder must list every live item exactly once."""

    status_code = 422
    code = "tag.order_mismatch"


class DuplicateName(Conflict):
    code = "tag.duplicate_name"


class GroupNameTaken(Conflict):
    code = "tag.group_name_taken"


class TagLimitReached(Conflict):
    code = "tag.limit_reached"


class TagForbidden(Forbidden):
    code = "tag.forbidden"


class NotAppOwned(Forbidden):
    """WeCom's 48002 on edit/delete: the group or tag was made in the admin console, a member's client
    or another app; Huike's app may change only what it created."""

    code = "tag.not_app_owned"


class ReconcilePending(AppError):
    """WeCom accepted the change but storing it locally failed: a sync job was queued that brings the
    local state in line with WeCom (details: job_id)."""

    status_code = 503
    code = "tag.reconcile_pending"


class ReorderIncomplete(Conflict):
    """WeCom refused one move of a reorder; the moves before it were made in WeCom and stored here."""

    code = "tag.reorder_incomplete"


class CommitThenAnswer(Exception):
    """Raised by the service when the transaction must commit (what WeCom did is stored, or a
    reconciling sync is queued) and the request must still answer with ``error``."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.code)
        self.error = error


register_messages(
    {
        "tag.name_empty": ("名称不能为空。", "The name cannot be empty."),
        "tag.name_too_long": (
            "名称最多 {max} 个字符（去掉首尾空格后），当前为 {length} 个。",
            "A name has at most {max} characters after trimming; this one has {length}.",
        ),
        "tag.tags_required": (
            "请至少填写一个标签（企业微信不允许空的标签组）。",
            "Give at least one tag (WeCom does not allow an empty tag group).",
        ),
        "tag.nothing_to_change": ("请填写要修改的名称或排序。", "Give a new name or order."),
        "tag.order_mismatch": (
            "排序列表必须恰好包含当前全部条目各一次。",
            "The order must list every current item exactly once.",
        ),
        "tag.duplicate_name": (
            "同一标签组内已有同名标签。",
            "A tag with this name already exists in the group.",
        ),
        "tag.group_name_taken": ("已有同名的标签组。", "A tag group with this name already exists."),
        "tag.limit_reached": (
            "企业最多 {limit} 个标签，现有 {current} 个，无法再添加 {adding} 个。",
            "A corp has at most {limit} tags; it has {current}, so {adding} more cannot be added.",
        ),
        "tag.forbidden": ("您无权管理此标签组。", "You may not manage this tag group."),
        "tag.not_app_owned": (
            "该标签或标签组不是汇客的应用创建的（由管理后台、成员或其他应用创建），企业微信不允许汇客修改或删除，请在企业微信管理后台操作。",
            "This tag or group was not created by Huike's app (but in the admin console, by a member or by "
            "another app); WeCom does not let Huike change or delete it. Change it in the WeCom admin console.",
        ),
        "tag.reconcile_pending": (
            "企业微信已接受修改，但汇客保存失败；已创建同步任务（{job_id}），完成后两边将一致。",
            "WeCom accepted the change but Huike could not store it; a sync job ({job_id}) was queued and "
            "will bring Huike in line with WeCom.",
        ),
        "tag.reorder_incomplete": (
            "排序只完成了 {applied}/{total} 项：企业微信拒绝了下一项（{cause}）。已完成的部分已保存。",
            "Only {applied} of {total} moves were made: WeCom refused the next one ({cause}). The moves "
            "made are saved.",
        ),
    }
)
