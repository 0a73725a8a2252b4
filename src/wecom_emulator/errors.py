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
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40009: "invalid image size",
    40011: "invalid video size",
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
    40097: "handover user is not resigned",
    40098: "user is not verified",
    40099: "customer count exceeds limit",
    40100: "customer is being transferred",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41008: "missing code",
    41035: "missing external userid",
    41037: "missing contact way type",
    41038: "missing contact way scene",
    41039: "invalid contact way type",
    41040: "invalid contact way scene",
    41041: "too many users in contact way",
    41042: "invalid contact way style",
    41043: "missing config_id",
    41044: "invalid config_id",
    41045: "contact way api quota reached",
    41046: "missing msgid",
    41047: "invalid msgid",
    41048: "no customer to send",
    41049: "missing welcome code",
    41050: "invalid welcome code",
    41051: "external user has started chatting",
    41055: "group welcome template count exceeds limit",
    41058: "no privilege to modify the group welcome template",
    41059: "missing moment_id",
    41060: "invalid moment_id",
    41061: "moment not sent by this user",
    41062: "moment not published by this user",
    41063: "mass message is being dispatched, retry later",
    41064: "too many attachments",
    41065: "invalid attachment type",
    41072: "invalid attachment scene",
    41088: "empty attachments",
    41089: "text and attachments are both empty",
    41091: "too many chats in join way",
    41093: "mass message already cancelled",
    41094: "remind count exceeds limit",
    42001: "access_token expired",
    44001: "empty media data",
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
    84074: "no external contact permission",
    86003: "chat not exist",
    90500: "the owner of this chat is not resigned",
    90501: "chat is not external group chat",
    90502: "the owner of this chat is resigned",
    90504: "the owner of this chat is not changed",
    90507: "the chat is being inherited",
    90508: "the chat has been inherited",
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
