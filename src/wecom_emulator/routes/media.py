"""§11.4 media: media/upload, media/upload_attachment (multipart, field ``media``) and media/get.
The bytes are kept in the emulator's database for the media_id's 3 days.

Also the attachment checks shared by welcome messages, group welcome templates, mass messages and
moments (§7.1 table): every ``media_id`` named in them must be a live upload of this corp."""

from __future__ import annotations

import sqlite3
from typing import Any

from wecom_emulator import ids
from wecom_emulator.api import Call, FileResult, endpoint
from wecom_emulator.errors import ApiError

MB = 1024 * 1024
MIN_BYTES = 5  # every file must be larger than 5 bytes
# type → (byte limit, errcode when over it): image ≤10 MB, voice ≤2 MB, video ≤10 MB, file ≤20 MB
LIMITS = {
    "image": (10 * MB, 40009),
    "voice": (2 * MB, 40006),
    "video": (10 * MB, 40011),
    "file": (20 * MB, 40006),
}
CONTENT_TYPES = {
    "image": "image/jpeg",
    "voice": "audio/amr",
    "video": "video/mp4",
    "file": "application/octet-stream",
}
ATTACHMENT_TYPES = {1: {"image", "video"}, 2: {"image", "video", "file"}}  # 1 moments, 2 product album


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str, str, bytes]]:
    """{field name: (filename, part content type, bytes)} of a multipart/form-data body."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return {}
    boundary = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return {}
    fields: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        name = filename = ""
        part_type = "application/octet-stream"
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            if header.strip().lower() == "content-disposition":
                for item in value.split(";"):
                    key, _, raw = item.strip().partition("=")
                    if key == "name":
                        name = raw.strip('"')
                    elif key == "filename":
                        filename = raw.strip('"')
            elif header.strip().lower() == "content-type":
                part_type = value.strip()
        if name:
            fields[name] = (filename, part_type, data)
    return fields


def _store_upload(call: Call, media_type: str, attachment_type: int | None) -> dict[str, Any]:
    fields = parse_multipart(call.raw, call.content_type)
    if "media" not in fields:
        raise ApiError(44001, "empty media data")
    filename, part_type, data = fields["media"]
    if not data:
        raise ApiError(44001)
    limit, over = LIMITS[media_type]
    if len(data) <= MIN_BYTES:
        raise ApiError(40006, "file must be larger than 5 bytes")
    if len(data) > limit:
        raise ApiError(over)
    media_id = "3" + ids.opaque(47)  # opaque, ~40-60 characters, like WeCom's
    now = call.now
    call.db.execute(
        "INSERT INTO media (media_id, corp_pk, type, attachment_type, filename, content_type, data, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            media_id,
            call.the_corp.pk,
            media_type,
            attachment_type,
            filename or "media",
            part_type if part_type != "application/octet-stream" else CONTENT_TYPES[media_type],
            data,
            now,
            now + call.state.settings.media_ttl,
        ),
    )
    # created_at is a string of seconds on the wire
    return {"type": media_type, "media_id": media_id, "created_at": str(now)}


@endpoint("POST", "media/upload", multipart=True)
def upload(call: Call) -> dict[str, Any]:
    media_type = call.q_str("type", missing=40004)
    if media_type not in LIMITS:
        raise ApiError(40004)
    return _store_upload(call, media_type, None)


@endpoint("POST", "media/upload_attachment", multipart=True, customer_api=True)
def upload_attachment(call: Call) -> dict[str, Any]:
    media_type = call.q_str("media_type", missing=40004)
    attachment_type = call.q_int("attachment_type", missing=40058)
    if attachment_type not in ATTACHMENT_TYPES:
        raise ApiError(40058, "invalid attachment_type")
    if media_type not in ATTACHMENT_TYPES[attachment_type]:
        raise ApiError(40004)
    return _store_upload(call, media_type, attachment_type)


def live_media(call: Call, media_id: Any) -> sqlite3.Row:
    """The media row; 40007 when unknown, another corp's or past its 3 days."""
    if not isinstance(media_id, str) or not media_id:
        raise ApiError(40007)
    row = call.state.store.one(
        "SELECT media_id, type, attachment_type, filename, content_type, expires_at FROM media"
        " WHERE media_id = ? AND corp_pk = ?",
        (media_id, call.the_corp.pk),
    )
    if row is None or row["expires_at"] <= call.now:
        raise ApiError(40007)
    return row


@endpoint("GET", "media/get")
def media_get(call: Call) -> FileResult:
    media_id = call.q_str("media_id", missing=40007)
    row = live_media(call, media_id)
    data = call.state.store.scalar("SELECT data FROM media WHERE media_id = ?", (media_id,))
    return FileResult(content=bytes(data), content_type=row["content_type"], filename=row["filename"])


# -- attachments (§7.1 table) ------------------------------------------------------------------------

ATTACHMENT_KINDS = ("image", "link", "miniprogram", "video", "file")


def _text_field(body: dict[str, Any], name: str, max_bytes: int, *, required: bool) -> None:
    value = body.get(name)
    if value in (None, ""):
        if required:
            raise ApiError(40058, f"missing {name}")
        return
    if not isinstance(value, str) or len(value.encode("utf-8")) > max_bytes:
        raise ApiError(40058, f"invalid {name}")


def check_attachment(call: Call, msgtype: Any, body: Any) -> None:
    """One attachment body of ``msgtype``: required fields, byte limits, live media ids."""
    if msgtype not in ATTACHMENT_KINDS:
        raise ApiError(41065)
    if not isinstance(body, dict):
        raise ApiError(40058, f"invalid {msgtype}")
    if msgtype == "image":
        if body.get("media_id"):  # media_id wins over pic_url
            live_media(call, body["media_id"])
        elif not isinstance(body.get("pic_url"), str) or not body["pic_url"]:
            raise ApiError(40058, "image needs media_id or pic_url")
    elif msgtype == "link":
        _text_field(body, "title", 128, required=True)
        _text_field(body, "url", 2048, required=True)
        _text_field(body, "picurl", 2048, required=False)
        _text_field(body, "desc", 512, required=False)
    elif msgtype == "miniprogram":
        _text_field(body, "title", 64, required=True)
        _text_field(body, "appid", 64, required=True)
        _text_field(body, "page", 1024, required=True)
        live_media(call, body.get("pic_media_id"))
    else:  # video, file
        live_media(call, body.get("media_id"))


def check_attachments(call: Call, value: Any, *, max_items: int = 9) -> list[dict[str, Any]]:
    """``attachments: [{msgtype, <msgtype>: {...}}]`` of welcome and mass messages."""
    if value in (None, []):
        return []
    if not isinstance(value, list):
        raise ApiError(40058, "invalid attachments")
    if len(value) > max_items:
        raise ApiError(41064)
    for item in value:
        if not isinstance(item, dict):
            raise ApiError(40058, "invalid attachments")
        msgtype = item.get("msgtype")
        check_attachment(call, msgtype, item.get(msgtype) if isinstance(msgtype, str) else None)
    return list(value)


def check_text(call: Call, max_bytes: int) -> str:
    """``text.content``: a string of at most ``max_bytes`` UTF-8 bytes (empty when absent)."""
    text = call.b_obj("text").get("content") or ""
    if not isinstance(text, str) or len(text.encode("utf-8")) > max_bytes:
        raise ApiError(40058, "invalid text.content")
    return text
