"""Inbound WeCom events: parsing, dedupe keys, and the dispatch table domains register handlers in.

Domains register ``@on("change_external_contact", "add_external_contact")`` handlers that take
``(session, ctx, event: dict[str, str | list[str]])``. WeCom may deliver late, twice or out of order:
handlers must treat an event as "something changed", re-read or compare timestamps, and be idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext

EventFields = dict[str, str | list[str]]
EventHandler = Callable[[AsyncSession, TenantContext, EventFields], Awaitable[None]]

_HANDLERS: dict[tuple[str, str], list[EventHandler]] = {}

# the fields that identify one change; WeCom's own advice (FromUserName + CreateTime) is too coarse
# for change_external_* events, whose FromUserName is always "sys"
KEY_FIELDS = (
    "ToUserName",
    "CreateTime",
    "Event",
    "ChangeType",
    "UserID",
    "ExternalUserID",
    "ChatId",
    "Id",
    "TagType",
    "UpdateDetail",
    "CurMemVer",
    "NewUserID",
    "MsgId",
)


def on(event: str, change_type: str = "") -> Callable[[EventHandler], EventHandler]:
    def register(handler: EventHandler) -> EventHandler:
        _HANDLERS.setdefault((event, change_type), []).append(handler)
        return handler

    return register


def handlers_for(event: str, change_type: str) -> list[EventHandler]:
    return _HANDLERS.get((event, change_type), []) + _HANDLERS.get((event, ""), [])


def dedupe_key(fields: EventFields) -> str:
    parts = []
    for name in KEY_FIELDS:
        value: Any = fields.get(name, "")
        parts.append(",".join(value) if isinstance(value, list) else str(value))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# the only fields kept in the inbox: identifiers and event metadata, never names or contact details
KEPT_FIELDS = frozenset(
    {
        *KEY_FIELDS,
        "MsgType",
        "FromUserName",
        "State",
        "WelcomeCode",
        "Source",
        "FailReason",
        "JoinScene",
        "QuitScene",
        "MemChangeCnt",
        "MemChangeList",
        "LastMemVer",
        "StrategyId",
        "AgentID",
        "NewUserID",
        "ParentId",
    }
)


def keep(fields: EventFields) -> EventFields:
    """Drop what we do not need to store (change_contact events may carry names, mobiles, e-mails)."""
    return {name: value for name, value in fields.items() if name in KEPT_FIELDS}
