"""Errors of accounts, SMS codes, login and sessions, with their zh-CN and English messages.

Errors marked ``keeps_writes`` are answered *after* the request's transaction commits, so what the
failure itself must leave behind (a wrong try on an SMS code, a failed login, a lock, their audit
rows) survives the error; the service writes nothing else before raising them."""

from __future__ import annotations

from typing import ClassVar

from huike.core.errors import AppError, Conflict, Forbidden, Unauthorized
from huike.core.i18n import register_messages


class AccountError(AppError):
    status_code = 422
    code = "account.invalid"
    keeps_writes: ClassVar[bool] = False


class InvalidPhone(AccountError):
    code = "account.invalid_phone"


class WeakPassword(AccountError):
    """``reason``: too_short, too_long, too_few_classes, contains_phone, too_common."""

    code = "account.weak_password"


class RegistrationRefused(AccountError):
    """A registration without what §一（一）1a/1c and §七 require (R-REG-2, R-MIN-1): 400."""

    status_code = 400


class UnknownIndustry(RegistrationRefused):
    code = "account.unknown_industry"


class CompanyNameRequired(RegistrationRefused):
    code = "account.company_name_required"


class AdultStatementRequired(RegistrationRefused):
    code = "account.adult_statement_required"


class CompanyAuthorisationRequired(RegistrationRefused):
    code = "account.company_authorisation_required"


class GuardianDetailsRequired(RegistrationRefused):
    """A minor's registration (``minor: true``) without the guardian's name or phone (R-MIN-1)."""

    code = "account.guardian_details_required"


class InvalidGuardianPhone(InvalidPhone):
    code = "account.invalid_guardian_phone"


class GuardianPhoneIsRegistrants(RegistrationRefused):
    code = "account.guardian_phone_same"


class GuardianConsentFailed(AccountError):
    """Guardian consent refused before the guardian's code was verified: the phone has no account
    waiting for a guardian (unknown, active, already consented), or the code is missing, wrong,
    expired, used or exhausted. One answer for all, so that nobody learns which phones have an account
    waiting (R-MIN-1). A wrong code still counts against the guardian's code (``keeps_writes``)."""

    status_code = 400
    code = "account.guardian_consent_failed"
    keeps_writes = True


class PhoneAlreadyRegistered(Conflict):
    code = "account.phone_registered"
    keeps_writes: ClassVar[bool] = False


# --- SMS ----------------------------------------------------------------------------------------


class SmsCodeError(AccountError):
    status_code = 400
    keeps_writes = True


class SmsCodeMissing(SmsCodeError):
    code = "sms.code_missing"


class SmsCodeWrong(SmsCodeError):
    code = "sms.code_wrong"


class SmsCodeExpired(SmsCodeError):
    code = "sms.code_expired"


class SmsCodeUsed(SmsCodeError):
    code = "sms.code_used"


class SmsCodeExhausted(SmsCodeError):
    code = "sms.code_exhausted"


class SmsRateLimited(AccountError):
    """``reason``: cooldown, phone_daily_cap, ip_hourly_cap, ip_daily_cap; ``retry_after_s``."""

    status_code = 429
    code = "sms.rate_limited"


class SmsSendFailed(AccountError):
    status_code = 502
    code = "sms.send_failed"


# --- login --------------------------------------------------------------------------------------


class InvalidCredentials(Unauthorized):
    """The same answer for an unknown phone and a wrong password or code (no enumeration)."""

    code = "auth.invalid_credentials"
    keeps_writes: ClassVar[bool] = True


class AccountLocked(AppError):
    status_code = 429
    code = "auth.locked"
    keeps_writes: ClassVar[bool] = True


class AccountDisabled(Forbidden):
    code = "auth.account_disabled"
    keeps_writes: ClassVar[bool] = True


class AccountPendingGuardian(Forbidden):
    """A minor's account whose guardian has not consented yet cannot log in (R-MIN-1)."""

    code = "auth.pending_guardian"
    keeps_writes: ClassVar[bool] = True


class NoTenant(Forbidden):
    code = "auth.no_tenant"


class WeComLoginUnavailable(AccountError):
    status_code = 400
    code = "auth.wecom_login_unavailable"


class WeComStateInvalid(AccountError):
    status_code = 400
    code = "auth.wecom_state_invalid"
    keeps_writes = True


class WeComNotLinked(Unauthorized):
    code = "auth.wecom_not_linked"
    keeps_writes: ClassVar[bool] = True


register_messages(
    {
        "account.invalid_phone": (
            "请输入有效的中国大陆手机号码。",
            "Enter a valid mainland China mobile number.",
        ),
        "account.weak_password": (
            "密码强度不足（{reason}）：至少 8 位，包含大写字母、小写字母、数字、符号中的至少 3 类，"
            "不能包含手机号，不能是常见密码。",
            "The password is too weak ({reason}): at least 8 characters from at least 3 of upper case, "
            "lower case, digits and symbols, not containing the phone number, not a common password.",
        ),
        "account.unknown_industry": ("请选择列表中的行业。", "Pick an industry from the list."),
        "account.company_name_required": ("请填写企业名称。", "Enter the company name."),
        "account.adult_statement_required": (
            "请确认您已年满 18 周岁，或已在监护人陪同下阅读并同意隐私政策。",
            "Confirm that you are 18 or older, or that your guardian read and agreed to the privacy "
            "policy with you.",
        ),
        "account.company_authorisation_required": (
            "请确认您已获得该企业的授权，代表企业注册并使用汇客。",
            "Confirm that the company authorised you to register and use Huike on its behalf.",
        ),
        "account.guardian_details_required": (
            "未满 18 周岁注册须填写监护人姓名和监护人手机号。",
            "A registrant under 18 must give the guardian's name and mobile number.",
        ),
        "account.invalid_guardian_phone": (
            "请输入监护人有效的中国大陆手机号码。",
            "Enter a valid mainland China mobile number for the guardian.",
        ),
        "account.guardian_phone_same": (
            "监护人手机号不能与注册手机号相同。",
            "The guardian's mobile number must differ from the one you register with.",
        ),
        "account.guardian_consent_failed": (
            "监护人验证码不正确或已失效，或该手机号没有等待监护人同意的帐号。请让监护人重新获取验证码后再试。",
            "The guardian's code is wrong or no longer valid, or no account with this phone number is "
            "waiting for a guardian's consent. Have the guardian request a new code and try again.",
        ),
        "account.phone_registered": (
            "该手机号已注册，请直接登录或找回密码。",
            "This phone number is already registered; log in or reset the password.",
        ),
        "sms.code_missing": (
            "请先获取短信验证码。",
            "Request an SMS verification code first.",
        ),
        "sms.code_wrong": (
            "短信验证码不正确，还可尝试 {attempts_left} 次。",
            "The SMS code is wrong; {attempts_left} tries left.",
        ),
        "sms.code_expired": (
            "短信验证码已过期，请重新获取。",
            "The SMS code has expired; request a new one.",
        ),
        "sms.code_used": (
            "该短信验证码已使用，请重新获取。",
            "This SMS code was already used; request a new one.",
        ),
        "sms.code_exhausted": (
            "错误次数过多，该验证码已失效，请重新获取。",
            "Too many wrong tries: the code no longer works; request a new one.",
        ),
        "sms.rate_limited": (
            "短信发送过于频繁，请 {retry_after_s} 秒后再试。",
            "Too many SMS requests; try again in {retry_after_s} seconds.",
        ),
        "sms.send_failed": (
            "短信发送失败，请稍后重试。",
            "The SMS could not be sent; try again later.",
        ),
        "auth.invalid_credentials": (
            "手机号或密码（验证码）不正确。",
            "The phone number or the password (code) is wrong.",
        ),
        "auth.locked": (
            "登录失败次数过多，请 {retry_after_s} 秒后再试。",
            "Too many failed logins; try again in {retry_after_s} seconds.",
        ),
        "auth.account_disabled": ("该帐号已停用。", "This account is disabled."),
        "auth.pending_guardian": (
            "该帐号的注册人未满 18 周岁，须经监护人短信验证同意后才能登录。",
            "The registrant of this account is under 18: it can log in once the guardian has consented "
            "with the SMS code sent to the guardian's phone.",
        ),
        "auth.no_tenant": (
            "该帐号未加入任何企业。",
            "This account does not belong to any company.",
        ),
        "auth.wecom_login_unavailable": (
            "该企业尚未连接企业微信，无法扫码登录。",
            "This company has not connected WeCom, so QR login is not available.",
        ),
        "auth.wecom_state_invalid": (
            "登录请求已失效或不属于此浏览器，请重新扫码。",
            "The login request expired or belongs to another browser; scan again.",
        ),
        "auth.wecom_not_linked": (
            "该企业微信帐号尚未关联汇客帐号。",
            "This WeCom account is not linked to a Huike account.",
        ),
    }
)


# --- the profile --------------------------------------------------------------------------------


class DisplayNameInvalid(AccountError):
    """``reason``: empty, too_long, control_characters; ``max_length``."""

    code = "account.display_name_invalid"


class AvatarMissing(AccountError):
    """No ``file`` part in a ``multipart/form-data`` body."""

    code = "account.avatar_missing"


class AvatarType(AccountError):
    """The bytes are not PNG, JPEG or WebP, whatever the file name or declared type says."""

    status_code = 415
    code = "account.avatar_type"


class AvatarTooLarge(AccountError):
    """``max_bytes``."""

    status_code = 413
    code = "account.avatar_too_large"


class AvatarInvalid(AccountError):
    """``reason``: corrupt (no readable size), too_many_pixels (a side over ``max_side``)."""

    code = "account.avatar_invalid"


class WrongPassword(AccountError):
    """The current password did not match; counted in the login throttle (``keeps_writes``)."""

    status_code = 400
    code = "account.wrong_password"
    keeps_writes = True


class PasswordUnchanged(AccountError):
    code = "account.password_unchanged"


class CurrentPasswordRequired(AccountError):
    """A password change of an account that has one needs the current one (a first password not)."""

    status_code = 400
    code = "account.current_password_required"


class NoPhone(AccountError):
    status_code = 400
    code = "account.no_phone"


class PhoneTicketInvalid(AccountError):
    """``reason``: unknown (not this user's or this session's), used, expired."""

    status_code = 400
    code = "account.phone_ticket_invalid"


class PhoneUnchanged(AccountError):
    code = "account.phone_unchanged"


register_messages(
    {
        "account.display_name_invalid": (
            "名称须为 1–{max_length} 个字符，且不能包含控制字符（{reason}）。",
            "The name must be 1–{max_length} characters without control characters ({reason}).",
        ),
        "account.avatar_missing": (
            "请以 multipart/form-data 上传名为 file 的图片。",
            "Upload the image as the multipart/form-data part named file.",
        ),
        "account.avatar_type": (
            "头像仅支持 PNG、JPEG 或 WebP 图片。",
            "The avatar must be a PNG, JPEG or WebP image.",
        ),
        "account.avatar_too_large": (
            "头像文件不能超过 {max_bytes} 字节。",
            "The avatar may not exceed {max_bytes} bytes.",
        ),
        "account.avatar_invalid": (
            "无法读取该图片，或其宽高超过 {max_side} 像素（{reason}）。",
            "The image cannot be read or a side exceeds {max_side} pixels ({reason}).",
        ),
        "account.wrong_password": ("当前密码不正确。", "The current password is wrong."),
        "account.password_unchanged": (
            "新密码不能与当前密码相同。",
            "The new password must differ from the current one.",
        ),
        "account.current_password_required": (
            "请输入当前密码。",
            "Enter the current password.",
        ),
        "account.no_phone": (
            "该帐号未绑定手机号。",
            "This account has no phone number.",
        ),
        "account.phone_ticket_invalid": (
            "手机号验证已失效，请重新验证当前手机号（{reason}）。",
            "The phone verification is no longer valid; verify the current phone again ({reason}).",
        ),
        "account.phone_unchanged": (
            "新手机号与当前手机号相同。",
            "The new phone number is the current one.",
        ),
    }
)


class ConsoleNotAllowed(Forbidden):
    """The user's role lacks the web console app permission (``app.console``): the login is refused
    (and audited) after the credentials were checked."""

    code = "auth.console_not_allowed"
    keeps_writes: ClassVar[bool] = True


register_messages(
    {
        "auth.console_not_allowed": (
            "您的角色没有“Web 管理后台”应用权限，无法登录管理后台。请联系企业管理员在“角色权限”中开通。",
            "Your role does not include the Web console app, so you cannot sign in to the console. "
            "Ask your company's admin to grant it under Roles & permissions.",
        ),
    }
)
