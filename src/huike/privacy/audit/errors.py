"""Errors of the audit log. Their details name a location (``details.phone``), never a value."""

from __future__ import annotations

from huike.core.errors import AppError
from huike.core.i18n import register_messages


class InvalidAuditEvent(AppError):
    """A caller built an audit event that breaks the rules (a bug in the calling domain, hence 500)."""

    status_code = 500
    code = "audit.invalid_event"


class PersonalDataInAudit(InvalidAuditEvent):
    """An audit event would have stored personal data; the whole action is rolled back."""

    code = "audit.personal_data"


register_messages(
    {
        "audit.invalid_event": (
            "审计事件不合规（{field}），操作未执行。",
            "The audit event is malformed ({field}); the action was not carried out.",
        ),
        "audit.personal_data": (
            "审计事件含有个人信息（{field}），操作未执行。",
            "The audit event contains personal data ({field}); the action was not carried out.",
        ),
    }
)
