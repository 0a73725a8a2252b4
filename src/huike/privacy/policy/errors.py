"""Errors of policy versions and the consent ledger, with their zh-CN and English messages."""

from __future__ import annotations

from huike.core.errors import AppError, Conflict, Forbidden, NotFound
from huike.core.i18n import register_messages


class PolicyVersionNotFound(NotFound):
    code = "privacy.policy_version_not_found"


class PolicyVersionInvalid(AppError):
    """A version that cannot be published as given; ``reason`` says why."""

    status_code = 422
    code = "privacy.policy_version_invalid"


class PolicyVersionExists(Conflict):
    code = "privacy.policy_version_exists"


class PolicyVersionImmutable(Conflict):
    """A published version is never edited: publish a new version instead."""

    code = "privacy.policy_version_immutable"


class NoCurrentPolicy(AppError):
    """No published version is in effect (``ensure_initial_policy`` was not run)."""

    status_code = 503
    code = "privacy.policy_unavailable"


class PolicyVersionStale(Conflict):
    """The subject tried to accept an older version than the one in effect."""

    code = "privacy.policy_version_stale"


class PolicyVersionNotCurrent(Conflict):
    """The subject tried to accept a version that is published but not yet in effect."""

    code = "privacy.policy_version_not_current"


class PolicyAcceptanceRequired(Forbidden):
    """A material change is in effect that the subject has not accepted yet."""

    code = "privacy.policy_acceptance_required"


class ConsentRequired(Forbidden):
    """The subject never consented to this purpose (or only under a version that lacked it)."""

    code = "privacy.consent_required"


class ConsentWithdrawn(Forbidden):
    """The subject withdrew consent to this purpose."""

    code = "privacy.consent_withdrawn"


class UnknownConsentPurpose(AppError):
    status_code = 422
    code = "privacy.consent_unknown_purpose"


class ConsentNotGranted(Conflict):
    """A withdrawal of a purpose that is not currently granted."""

    code = "privacy.consent_not_granted"


class NoConsentSubject(Forbidden):
    """The session has no person behind it (a system session), so there is no one to consent."""

    code = "privacy.consent_no_subject"


register_messages(
    {
        "privacy.policy_version_not_found": (
            "隐私政策版本 {version} 不存在。",
            "Privacy policy version {version} does not exist.",
        ),
        "privacy.policy_version_invalid": (
            "隐私政策版本无效：{reason}。",
            "The privacy policy version is invalid: {reason}.",
        ),
        "privacy.policy_version_exists": (
            "隐私政策版本 {version} 已存在。",
            "Privacy policy version {version} already exists.",
        ),
        "privacy.policy_version_immutable": (
            "已发布的隐私政策版本 {version} 不可修改，请发布新版本。",
            "Published privacy policy version {version} cannot be changed; publish a new version.",
        ),
        "privacy.policy_unavailable": (
            "当前没有生效的隐私政策。",
            "No privacy policy is currently in effect.",
        ),
        "privacy.policy_version_stale": (
            "隐私政策版本 {version} 已被 {current} 取代，请阅读并同意当前版本。",
            "Privacy policy version {version} was superseded by {current}; read and accept the current one.",
        ),
        "privacy.policy_version_not_current": (
            "隐私政策版本 {version} 尚未生效，当前版本为 {current}。",
            "Privacy policy version {version} is not in effect yet; the current version is {current}.",
        ),
        "privacy.policy_acceptance_required": (
            "隐私政策已更新（版本 {version}），请阅读并同意后继续使用。",
            "The privacy policy has changed (version {version}); read and accept it to continue.",
        ),
        "privacy.consent_required": (
            "您尚未同意用于“{purpose}”的个人信息处理。",
            "You have not consented to processing for “{purpose}”.",
        ),
        "privacy.consent_withdrawn": (
            "您已撤回对“{purpose}”的同意。",
            "You withdrew your consent to “{purpose}”.",
        ),
        "privacy.consent_unknown_purpose": (
            "隐私政策版本 {version} 中没有处理目的“{purpose}”。",
            "Privacy policy version {version} has no purpose “{purpose}”.",
        ),
        "privacy.consent_not_granted": (
            "您当前未同意“{purpose}”，无需撤回。",
            "You have not currently consented to “{purpose}”, so there is nothing to withdraw.",
        ),
        "privacy.consent_no_subject": (
            "当前会话没有对应的用户，无法记录同意。",
            "This session has no user, so no consent can be recorded.",
        ),
    }
)
