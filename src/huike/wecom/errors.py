"""WeCom errcodes as typed errors whose messages tell the admin what to fix."""

from __future__ import annotations

import re
from typing import ClassVar

from huike.core.errors import AppError
from huike.core.i18n import register_messages


class WeComError(AppError):
    """WeCom answered with a non-zero errcode (details: errcode, errmsg without the caller's IP)."""

    status_code = 502
    code = "wecom.error"
    retryable: ClassVar[bool] = False


class WeComRetryable(WeComError):
    retryable = True


class WeComBusy(WeComRetryable):
    code = "wecom.busy"


class WeComRateLimited(WeComRetryable):
    status_code = 429
    code = "wecom.rate_limited"


class WeComConcurrencyLimited(WeComRetryable):
    status_code = 429
    code = "wecom.concurrency_limited"


class WeComTokenRejected(WeComError):
    """A fresh token was refused too: the app or secret is wrong or disabled."""

    code = "wecom.token_rejected"


class WeComUnreachable(WeComRetryable):
    code = "wecom.unreachable"


class WeComBadResponse(WeComRetryable):
    code = "wecom.bad_response"


def _error(name: str, status: int = 502) -> type[WeComError]:
    return type(f"WeCom_{name}", (WeComError,), {"code": f"wecom.{name}", "status_code": status})


InvalidCorpId = _error("invalid_corp_id", 400)
InvalidSecret = _error("invalid_secret", 400)
IpNotTrusted = _error("ip_not_trusted")
ApiForbidden = _error("api_forbidden")
ApiNotAuthorised = _error("api_not_authorised")
OutOfScope = _error("out_of_scope")
NotExternalContact = _error("not_external_contact", 404)
InvalidExternalUserId = _error("invalid_external_userid", 404)
InvalidUserId = _error("invalid_userid", 404)
InvalidTag = _error("invalid_tag", 404)
TagNameTaken = _error("tag_name_taken", 409)
WelcomeCodeInvalid = _error("welcome_code_invalid", 409)
WelcomeAlreadyChatting = _error("welcome_already_chatting", 409)
NoExternalContactPermission = _error("no_external_contact_permission")
TooMany = _error("too_many", 400)
InvalidParameter = _error("invalid_parameter", 400)
InvalidOAuthCode = _error("invalid_oauth_code", 400)
ChatNotFound = _error("chat_not_found", 404)

BY_ERRCODE: dict[int, type[WeComError]] = {
    -1: WeComBusy,
    6000: WeComBusy,
    40013: InvalidCorpId,
    40091: InvalidSecret,
    60020: IpNotTrusted,
    48002: ApiForbidden,
    48001: ApiNotAuthorised,
    60011: OutOfScope,
    50002: OutOfScope,
    81013: OutOfScope,
    84061: NotExternalContact,
    40096: InvalidExternalUserId,
    41035: InvalidExternalUserId,
    40003: InvalidUserId,
    60111: InvalidUserId,
    40068: InvalidTag,
    40071: TagNameTaken,
    41049: WelcomeCodeInvalid,
    41050: WelcomeCodeInvalid,
    41051: WelcomeAlreadyChatting,
    41096: WelcomeAlreadyChatting,
    84074: NoExternalContactPermission,
    81017: TooMany,
    40058: InvalidParameter,
    40035: InvalidParameter,
    40029: InvalidOAuthCode,
    86001: ChatNotFound,
    86003: ChatNotFound,
    45009: WeComRateLimited,
    45033: WeComConcurrencyLimited,
    41063: WeComBusy,
    41079: WeComBusy,
}

TOKEN_ERRCODES = frozenset({40014, 42001, 41001})

_IP = re.compile(r",?\s*from ip: [0-9a-fA-F.:]+")


def from_errcode(errcode: int, errmsg: str, *, path: str, on_gettoken: bool = False) -> WeComError:
    """The typed error for an errcode. 40001 means a bad secret on gettoken, a bad token elsewhere."""
    if errcode == 40001 and on_gettoken:
        cls: type[WeComError] = InvalidSecret
    else:
        cls = BY_ERRCODE.get(errcode, WeComError)
    return cls(errcode=errcode, errmsg=_IP.sub("", errmsg)[:300], api=path)


register_messages(
    {
        "wecom.error": (
            "企业微信返回错误（错误码 {errcode}）：{errmsg}",
            "WeCom returned error {errcode}: {errmsg}",
        ),
        "wecom.busy": ("企业微信系统繁忙，请稍后重试。", "WeCom is busy. Please try again shortly."),
        "wecom.rate_limited": (
            "调用企业微信接口过于频繁，已被限流，请稍后重试。",
            "WeCom's rate limit was hit. Please try again later.",
        ),
        "wecom.concurrency_limited": (
            "同时调用企业微信接口的请求过多，请稍后重试。",
            "Too many concurrent calls to WeCom. Please try again shortly.",
        ),
        "wecom.token_rejected": (
            "企业微信拒绝了新获取的 access_token，请检查应用是否停用、Secret 是否已重置。",
            "WeCom refused a fresh access token: check that the app is enabled and its secret was not reset.",
        ),
        "wecom.unreachable": (
            "暂时无法连接企业微信，请稍后重试。",
            "WeCom cannot be reached right now. Please retry later.",
        ),
        "wecom.bad_response": (
            "企业微信返回了无法识别的内容。",
            "WeCom returned a response that could not be read.",
        ),
        "wecom.invalid_corp_id": (
            "企业 ID（CorpID）无效，请在企业微信管理后台「我的企业」中复制正确的企业 ID。",
            "The CorpID is invalid: copy it from 'My Company' in the WeCom admin console.",
        ),
        "wecom.invalid_secret": (
            "Secret 无效：请确认填写的是该应用的 Secret，且未被重置，应用处于启用状态。",
            "The secret is invalid: use this app's secret, check that it was not reset and the app is enabled.",
        ),
        "wecom.ip_not_trusted": (
            "服务器 IP 不在企业可信 IP 列表中：请在应用详情「企业可信IP」中添加汇客的出口 IP（约 1 分钟后生效）。",
            "Huike's IP is not a trusted IP of this app: add it under the app's 'Trusted IPs' (takes about a minute).",
        ),
        "wecom.api_forbidden": (
            "该应用无权调用此接口：请在「客户与上下游 → 客户联系 → API」中将本应用加入「可调用接口的应用」。",
            "This app may not call the API: add it to the apps that may call Customer Contact APIs in the admin console.",
        ),
        "wecom.api_not_authorised": (
            "该接口未获授权，请检查应用权限。",
            "This API is not authorised for the app: check its permissions.",
        ),
        "wecom.out_of_scope": (
            "成员或部门不在应用的可见范围内：请在应用详情中调整「可见范围」。",
            "The member or department is outside the app's visibility scope: widen the scope in the app's settings.",
        ),
        "wecom.not_external_contact": (
            "该成员与此客户已无好友关系。",
            "This member and customer are no longer connected.",
        ),
        "wecom.invalid_external_userid": ("客户 ID 无效。", "The customer id is invalid."),
        "wecom.invalid_userid": (
            "成员 UserID 无效或不在可见范围内。",
            "The member's UserID is invalid or out of scope.",
        ),
        "wecom.invalid_tag": ("标签或标签组不存在。", "The tag or tag group does not exist."),
        "wecom.tag_name_taken": ("标签名已存在。", "A tag with this name already exists."),
        "wecom.welcome_code_invalid": (
            "欢迎语发送凭证无效或已过期（有效期 20 秒，仅可使用一次）。",
            "The welcome code is invalid or expired (it lasts 20 seconds and works once).",
        ),
        "wecom.welcome_already_chatting": (
            "客户已与成员开始聊天，无法再发送欢迎语。",
            "The customer has already started chatting; a welcome message can no longer be sent.",
        ),
        "wecom.no_external_contact_permission": (
            "成员未开通客户联系功能。",
            "The member does not have the Customer Contact feature.",
        ),
        "wecom.too_many": (
            "单次请求的数量超过企业微信上限，请缩小范围（例如按群主筛选）。",
            "Too many items in one request: narrow it (for example by group owner).",
        ),
        "wecom.invalid_parameter": (
            "请求参数不符合企业微信要求：{errmsg}",
            "WeCom refused a parameter: {errmsg}",
        ),
        "wecom.invalid_oauth_code": (
            "登录凭证无效或已过期，请重新扫码。",
            "The login code is invalid or expired: scan again.",
        ),
        "wecom.chat_not_found": (
            "客户群不存在或已解散。",
            "The customer group does not exist or was dismissed.",
        ),
    }
)


class ConnectionMissing(AppError):
    status_code = 409
    code = "wecom.connection_missing"


class CallbackRejected(AppError):
    """A callback that fails the signature or decryption: WeCom retries, an impostor gets nothing."""

    status_code = 400
    code = "wecom.callback_rejected"


register_messages(
    {
        "wecom.connection_missing": (
            "尚未连接企业微信：请先在「设置 → 企业微信」中填写企业 ID 与 Secret。",
            "WeCom is not connected yet: enter the CorpID and secrets under Settings → WeCom.",
        ),
        "wecom.callback_rejected": ("回调校验失败。", "The callback failed verification."),
    }
)


class SecretsRequired(AppError):
    status_code = 422
    code = "wecom.secrets_required"


register_messages(
    {
        "wecom.secrets_required": (
            "首次连接需要同时填写自建应用 Secret 和客户联系 Secret。",
            "The first connection needs both the app secret and the customer-contact secret.",
        )
    }
)
