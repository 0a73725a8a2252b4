"""Keyset pagination: an opaque cursor that encodes the sort key of the last row seen."""

from __future__ import annotations

import base64
import json
from typing import Any

from huike.core.errors import BadRequest


class InvalidCursor(BadRequest):
    code = "pagination.invalid_cursor"


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, str) for v in values):
        raise InvalidCursor()
    return values
