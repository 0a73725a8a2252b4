"""Helpers of the field-encryption tests."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PHONES = ["13800138000", "13912345678", "18612345678", "15000000001"]


async def raw_rows(session: AsyncSession, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` exactly as the database holds it (no type processing)."""
    return [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table}"))).all()]


def dump_text(rows: list[tuple[Any, ...]]) -> str:
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def flip_bit(value: str, position: int = -20) -> str:
    prefix, _, encoded = value.partition(":")
    blob = bytearray(base64.b64decode(encoded))
    blob[position] ^= 0x01
    return f"{prefix}:{base64.b64encode(bytes(blob)).decode()}"


def truncate_blob(value: str, drop: int = 4) -> str:
    prefix, _, encoded = value.partition(":")
    blob = base64.b64decode(encoded)[:-drop]
    return f"{prefix}:{base64.b64encode(blob).decode()}"
