"""Keyset pagination: an opaque cursor that encodes the sort key of the last row seen."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from huike.core.errors import BadRequest

K = TypeVar("K")


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


def decode_keyset(cursor: str | None, parse: Callable[[str], K]) -> tuple[K, uuid.UUID] | None:
    """The ``(sort key, row id)`` of a two-part cursor (None for the first page); ``parse`` turns the
    key back into its type (e.g. ``datetime.fromisoformat``, ``int``)."""
    if not cursor:
        return None
    key, row_id = decode_cursor(cursor, 2)
    try:
        return parse(key), uuid.UUID(row_id)
    except ValueError as exc:
        raise InvalidCursor() from exc
