from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Schema(BaseModel):
    """Request bodies refuse unknown fields; responses read ORM objects."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
