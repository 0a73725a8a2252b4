"""structlog set-up: JSON in production, readable in development; request id and tenant id ride along
through contextvars. Event names are dotted and stable; data goes in key-values.

**Log hygiene** (R-LOG-1): :func:`mask_personal_data` runs on every event before it is rendered and
masks, in every value and key recursively (tracebacks included):

* mainland mobile numbers, with or without +86 / 0086 and separators: ``138******78``;
* e-mail addresses: ``z***@example.com``;
* values under secret-looking keys (token, secret, password, cookie, session, authorization,
  api_key, aes_key, ...), also in (name, value) pairs such as raw headers: ``[REDACTED]``;
* 43-character EncodingAESKey-like values, and long base64 (mixed case and digits) or hex (40+)
  strings, wherever they appear: ``[REDACTED]``;
* 4–8 digit runs under code / sms / otp / verification / captcha keys: ``******``;
* values under name / nickname / remark / real_name keys: first character kept, ``张*``.

Standard-library records (uvicorn, libraries) are masked when they are created: message, arguments
and traceback (:func:`install_record_masking`), whatever handler writes them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from huike.config import Settings

SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]

REDACTED = "[REDACTED]"

# One scanner, alternatives tried left to right at each position: identifiers that may hold a digit
# run by chance (UUIDs, 32-hex request ids) are kept whole; secrets go; then phones and e-mails.
_SCANNER = re.compile(
    r"""
    (?P<uuid>(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}
        (?![0-9A-Za-z]))
    | (?P<hex>(?<![0-9A-Za-z+/_-])[0-9a-fA-F]{40,}(?![0-9A-Za-z+/=_-]))
    | (?P<hex32>(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z]))
    | (?P<b64>(?<![0-9A-Za-z+/_-])
        (?=[0-9A-Za-z+/_-]*[A-Z])(?=[0-9A-Za-z+/_-]*[a-z])(?=[0-9A-Za-z+/_-]*[0-9])
        (?:[0-9A-Za-z]{43}|[0-9A-Za-z+/_-]{32,}={0,2})
        (?![0-9A-Za-z+/=_-]))
    | (?P<phone>(?<![0-9])(?P<cc>(?:\+|00)?86[\s-]?)?(?P<head>1[3-9][0-9])[\s-]?[0-9]{4}[\s-]?[0-9]{2}
        (?P<tail>[0-9]{2})(?![0-9]))
    | (?P<email>(?P<local>[A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,}))
    """,
    re.VERBOSE,
)
_CODE_DIGITS = re.compile(r"(?<![0-9])[0-9]{4,8}(?![0-9])")
_DOTTED_CODE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

_SECRET_KEYS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "session",
    "api_key",
    "apikey",
    "aes_key",
    "aeskey",
    "private_key",
    "credential",
)
_CODE_KEYS = ("code", "sms", "otp", "verification", "captcha")
_NAME_TOKENS = frozenset(
    {"name", "names", "nickname", "nick", "remark", "remarks", "realname", "username", "fullname"}
)
# keys structlog itself writes (request_id is not one: a client may choose it)
_TRUSTED_KEYS = frozenset({"level", "timestamp", "logger"})


def _scan(match: re.Match[str]) -> str:
    if match["uuid"] or match["hex32"]:
        return match[0]
    if match["hex"] or match["b64"]:
        return REDACTED
    if match["phone"]:
        cc = (match["cc"] or "").replace(" ", "").replace("-", "")
        return f"{cc}{match['head']}******{match['tail']}"
    return f"{match['local']}***@{match['domain']}"


def mask_text(text: str) -> str:
    """Mask phones, e-mails and secret-looking strings in free text."""
    return _SCANNER.sub(_scan, text)


def _normal_key(key: str) -> str:
    return key.lower().replace("-", "_")


def _mask_name(value: Any) -> Any:
    if not isinstance(value, str) or not value or _DOTTED_CODE.match(value):
        return value
    return value.strip()[:1] + "*"


def _mask_value(value: Any, key: str | None) -> Any:
    if key is not None:
        normal = _normal_key(key)
        if any(word in normal for word in _SECRET_KEYS) and value not in (None, "", True, False):
            return REDACTED
        tokens = set(re.split(r"[_.\s]+", normal))
        if (tokens & _NAME_TOKENS or normal in _NAME_TOKENS) and isinstance(value, str):
            return _mask_name(value)
        if any(word in normal for word in _CODE_KEYS) and isinstance(value, str | int):
            masked = _CODE_DIGITS.sub(lambda m: "*" * len(m[0]), str(value))
            value = masked if masked != str(value) else value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    if isinstance(value, Mapping):
        return {
            (mask_text(k) if isinstance(k, str) else k): _mask_value(v, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_item(item, key) for item in value]
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", "replace"))
    text = str(value)  # exceptions, UUIDs, paths, anything else: masked through its text
    masked = mask_text(text)
    return value if masked == text else masked


def _mask_item(item: Any, key: str | None) -> Any:
    """Items of a list; a (name, value) pair, as in raw headers, is masked by its name."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str | bytes):
        name = item[0].decode("latin-1") if isinstance(item[0], bytes) else item[0]
        return [name, _mask_value(item[1], name)]
    return _mask_value(item, key)


def mask_personal_data(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask personal data and secrets in every key and value (see above)."""
    masked: EventDict = {}
    for key, value in event_dict.items():
        if key in _TRUSTED_KEYS:
            masked[key] = value
        elif key == "event":
            masked[key] = mask_text(value) if isinstance(value, str) else _mask_value(value, None)
        else:
            masked[mask_text(key)] = _mask_value(value, key)
    return masked


# --- standard-library records ----------------------------------------------------------------------

_FORMATTER = logging.Formatter()
_original_factory: Callable[..., logging.LogRecord] | None = None


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _original_factory is not None
    record = _original_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let logging report it as usual
        return record
    record.msg, record.args = mask_text(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_text(_FORMATTER.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    return record


def install_record_masking() -> None:
    """Mask every stdlib LogRecord as it is made (idempotent): handlers then format masked text,
    and use the masked traceback (``exc_text``) rather than formatting ``exc_info`` again."""
    global _original_factory
    if _original_factory is None:
        _original_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_masking_factory)


def configure_logging(settings: Settings) -> None:
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if settings.json_logs
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    structlog.configure(
        processors=[*SHARED, structlog.processors.format_exc_info, mask_personal_data, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    install_record_masking()
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("uvicorn.access", "taskiq", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
