"""WeCom error codes as the emulator answers them.

Every failure is HTTP 200 with ``errcode`` != 0, an ``errmsg`` in WeCom's shape
(``<text>, hint: [...], from ip: ..., more info at ...``) and the endpoint's empty default fields
next to it (spec §0.1)."""

from __future__ import annotations

from typing import Any

# Short English texts: those observed in real responses (spec §0.1), the rest our own wording
# (the spec marks other texts as unverified; clients must branch on errcode only).
ERRMSG: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid userid",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40050: "chatid not found",
    40058: "invalid Request Parameter",
    40063: "some parameters are empty",
    40068: "invalid tagid",
    40071: "invalid tag name",
    40072: "invalid tag name size",
    40091: "secret is invalid",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41008: "missing code",
    41035: "missing external userid",
    41049: "missing welcome code",
    41050: "invalid welcome code",
    41051: "external user has started chatting",
    41064: "too many attachments",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48001: "api unauthorized",
    48002: "api forbidden",
    50001: "redirect_url domain unauthorized",
    60011: "no privilege to access/modify contact/party/agent ",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    60123: "invalid party id",
    81013: "user & party & tag all invalid",
    81017: "too many users in request",
    84061: "not external contact",
    86003: "chat not exist",
    90501: "chat is not external group chat",
}

MORE_INFO = "https://open.work.weixin.qq.com/devtool/query?e={code}"


class ApiError(Exception):
    """Raised by an endpoint handler; the dispatcher turns it into WeCom's error body.

    ``fields`` overrides the endpoint's default skeleton when a particular failure answers with
    other empty fields."""

    def __init__(self, errcode: int, detail: str | None = None, fields: dict[str, Any] | None = None) -> None:
        self.errcode = errcode
        self.detail = detail
        self.fields = fields
        super().__init__(f"{errcode} {detail or ERRMSG.get(errcode, '')}")


def format_errmsg(errcode: int, hint: str, ip: str, detail: str | None = None) -> str:
    text = detail or ERRMSG.get(errcode, "error")
    return f"{text}, hint: [{hint}], from ip: {ip}, more info at {MORE_INFO.format(code=errcode)}"
