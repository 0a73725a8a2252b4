"""Locale negotiation and the message catalogue for API errors (zh-CN first, English second)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Literal

Locale = Literal["zh-CN", "en"]
DEFAULT_LOCALE: Locale = "zh-CN"
LOCALES: tuple[Locale, ...] = ("zh-CN", "en")

current_locale: ContextVar[Locale] = ContextVar("huike_locale", default=DEFAULT_LOCALE)


def negotiate(accept_language: str | None) -> Locale:
    """Pick zh-CN or en from an Accept-Language header, honouring q-values; zh-CN when unsure."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag:
            ranked.append((-quality, index, tag))
    for neg_quality, _, tag in sorted(ranked):
        if neg_quality >= 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


# code -> (zh-CN, en). Messages may hold {placeholders} filled from the error's details.
MESSAGES: dict[str, tuple[str, str]] = {
    "internal_error": ("服务器内部错误，请稍后重试。", "Internal server error. Please try again later."),
    "not_found": ("请求的资源不存在。", "The requested resource does not exist."),
    "method_not_allowed": ("不支持该请求方法。", "This method is not allowed here."),
    "validation_error": (
        "请求内容有误，请检查后重试。",
        "The request is invalid. Please check it and try again.",
    ),
    "request.malformed_json": ("请求体不是合法的 JSON。", "The request body is not valid JSON."),
    "request.too_large": (
        "请求体过大，最多 {limit} 字节。",
        "The request body is too large; at most {limit} bytes are accepted.",
    ),
    "request.unsupported_media_type": (
        "不支持的内容类型，请使用 application/json。",
        "Unsupported content type; send application/json.",
    ),
    "pagination.invalid_cursor": (
        "分页游标无效，请从第一页重新加载。",
        "Invalid page cursor; reload from the first page.",
    ),
    "auth.required": ("请先登录。", "Please log in first."),
    "forbidden": ("您没有执行此操作的权限。", "You are not allowed to do this."),
    "conflict": ("操作与当前状态冲突。", "This conflicts with the current state."),
    "rate_limited": ("操作过于频繁，请稍后再试。", "Too many requests. Please try again later."),
    "job.not_retryable": (
        "只有失败的任务可以重试。",
        "Only a failed job can be retried.",
    ),
}

# Messages of Pydantic's validation error types, so field errors read well in both languages.
FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("缺少必填字段。", "This field is required."),
    "extra_forbidden": ("不允许的字段。", "This field is not allowed."),
    "string_type": ("应为字符串。", "Must be a string."),
    "int_type": ("应为整数。", "Must be an integer."),
    "int_parsing": ("应为整数。", "Must be an integer."),
    "bool_type": ("应为布尔值。", "Must be true or false."),
    "bool_parsing": ("应为布尔值。", "Must be true or false."),
    "float_parsing": ("应为数字。", "Must be a number."),
    "uuid_parsing": ("应为合法的 UUID。", "Must be a valid UUID."),
    "string_too_long": ("长度超出上限。", "Too long."),
    "string_too_short": ("长度不足。", "Too short."),
    "greater_than_equal": ("数值过小。", "Too small."),
    "less_than_equal": ("数值过大。", "Too large."),
    "enum": ("不是允许的取值。", "Not one of the allowed values."),
    "literal_error": ("不是允许的取值。", "Not one of the allowed values."),
    "json_invalid": ("不是合法的 JSON。", "Not valid JSON."),
    "model_attributes_type": ("应为对象。", "Must be an object."),
    "dict_type": ("应为对象。", "Must be an object."),
    "list_type": ("应为数组。", "Must be a list."),
    "datetime_parsing": ("应为合法的时间。", "Must be a valid date and time."),
}


def register_messages(messages: dict[str, tuple[str, str]]) -> None:
    """A domain adds its error codes' zh-CN and English messages (from its errors.py)."""
    clashes = {code for code in messages if code in MESSAGES and MESSAGES[code] != messages[code]}
    if clashes:
        raise ValueError(f"error codes registered twice: {sorted(clashes)}")
    MESSAGES.update(messages)


def translate(code: str, locale: Locale | None = None, **params: object) -> str:
    zh, en = MESSAGES.get(code, MESSAGES["internal_error"])
    text = en if (locale or current_locale.get()) == "en" else zh
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def translate_field(error_type: str, fallback: str, locale: Locale | None = None) -> str:
    pair = FIELD_MESSAGES.get(error_type)
    if pair is None:
        return fallback
    return pair[1] if (locale or current_locale.get()) == "en" else pair[0]
