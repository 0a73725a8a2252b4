"""Opaque paging cursors. Each names the API it belongs to, so a cursor from one API (or a
made-up one) is refused instead of silently restarting the walk."""

from __future__ import annotations

import base64
import binascii

from wecom_emulator.errors import ApiError


def encode(kind: str, *keys: int) -> str:
    raw = (kind + "|" + ":".join(map(str, keys))).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(kind: str, cursor: str | None, arity: int) -> tuple[int, ...] | None:
    """The keys inside ``cursor``, None for no cursor; 40058 when it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        name, _, keys = raw.partition("|")
        values = tuple(int(k) for k in keys.split(":"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(40058, "invalid cursor") from None
    if name != kind or len(values) != arity:
        raise ApiError(40058, "invalid cursor")
    return values
