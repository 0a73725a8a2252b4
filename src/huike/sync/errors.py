"""Errors of the cross-domain sync (``huike sync``), with their zh-CN and English messages."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict, NotFound
from huike.core.i18n import register_messages


class SyncAlreadyRunning(Conflict):
    """A sync of this domain is queued or running for the tenant (details: domain, job_id, status,
    progress, started_at, all ready to print)."""

    code = "sync.already_running"


class TenantNotFound(NotFound):
    code = "sync.tenant_not_found"


class TenantAmbiguous(AppError):
    """Several tenants have this company name (details: name, ids)."""

    status_code = 409
    code = "sync.tenant_ambiguous"


class SyncFailed(AppError):
    """A sync job failed with an error that has no message of its own (details: domain, error_type)."""

    code = "sync.failed"


register_messages(
    {
        # the domains' names, for progress bars and messages
        "sync.domain.members": ("成员", "member"),
        "sync.domain.tags": ("客户标签", "tag"),
        "sync.domain.customers": ("客户", "customer"),
        "sync.domain.groups": ("客户群", "customer group"),
        "sync.job_status.queued": ("排队中", "queued"),
        "sync.job_status.running": ("运行中", "running"),
        "sync.already_running": (
            "{domain}同步已在进行中：任务 {job_id}（{status}，进度 {progress}，开始于 {started_at}）。"
            "请等它结束后再试，可在控制台的任务中心查看进度。",
            "A {domain} sync is already running: job {job_id} ({status}, {progress} done, started "
            "{started_at}). Try again when it has finished; the console's job centre shows its progress.",
        ),
        "sync.tenant_not_found": (
            "找不到租户「{tenant}」：请使用租户 ID 或完整的企业名称。",
            "No tenant '{tenant}': give the tenant's id or its full company name.",
        ),
        "sync.tenant_ambiguous": (
            "有多个租户名为「{tenant}」，请改用租户 ID：{ids}",
            "Several tenants are named '{tenant}'; use the tenant id instead: {ids}",
        ),
        "sync.failed": (
            "{domain}同步失败（{error_type}），详情见服务日志。",
            "The {domain} sync failed ({error_type}); the server log has the details.",
        ),
    }
)
