"""§7 welcome messages: send_welcome_msg (the WelcomeCode of an add event is valid 20 s and single
use) and the group welcome templates (≤100 per corp, editable only by the app that made them)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from wecom_emulator import ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.media import check_attachment, check_attachments, check_text
from wecom_emulator.routes.tags import creator_of

MAX_ATTACHMENTS = 9
MAX_TEXT_BYTES = 4000


@endpoint("POST", "externalcontact/send_welcome_msg", customer_api=True)
def send_welcome_msg(call: Call) -> dict[str, Any]:
    code = call.b_str("welcome_code", missing=41049)
    text = check_text(call, MAX_TEXT_BYTES)
    attachments = check_attachments(call, call.body.get("attachments"), max_items=MAX_ATTACHMENTS)
    if not text and not attachments:
        raise ApiError(40063, "text and attachments cannot both be empty")
    row = call.state.store.one(
        "SELECT * FROM welcome_code WHERE code = ? AND corp_pk = ?", (code, call.the_corp.pk)
    )
    if row is None or row["expires_at"] <= call.state.clock.now():
        raise ApiError(41050)
    if row["used"]:
        raise ApiError(41051)  # another app (or an earlier call) already used it
    call.db.execute("UPDATE welcome_code SET used = 1 WHERE code = ?", (code,))
    call.state.welcome_messages.append(
        {
            "corp_id": call.the_corp.corp_id,
            "userid": row["userid"],
            "external_userid": row["external_userid"],
            "text": text,
            "attachments": attachments,
            "sent_at": call.now,
        }
    )
    return {}


# -- §7.2 group welcome templates ---------------------------------------------------------------------

TEMPLATE_TEXT_ADD, TEMPLATE_TEXT_EDIT = 3000, 4000
# besides text only one other part is used, by this priority
TEMPLATE_PARTS = ("image", "link", "miniprogram", "file", "video")


def _template_body(call: Call, max_text: int) -> dict[str, Any]:
    """The parts of the request that are kept: text and the one highest-priority other part."""
    body: dict[str, Any] = {}
    text = check_text(call, max_text)
    if text:
        body["text"] = {"content": text}
    for part in TEMPLATE_PARTS:
        value = call.body.get(part)
        if value:
            check_attachment(call, part, value)
            body[part] = dict(value)
            break
    return body


def _template(call: Call) -> sqlite3.Row:
    template_id = call.b_str("template_id", missing=40058)
    row = call.state.store.one(
        "SELECT * FROM group_welcome_template WHERE corp_pk = ? AND template_id = ? AND deleted = 0",
        (call.the_corp.pk, template_id),
    )
    if row is None:
        raise ApiError(40058, "invalid template_id")
    return row


def _own_template(call: Call) -> sqlite3.Row:
    row = _template(call)
    if row["creator"] != creator_of(call):
        raise ApiError(41058)  # apps may edit or delete only the templates they created
    return row


def _notify(call: Call) -> int:
    notify = call.b_int("notify")
    if notify not in (None, 0, 1):
        raise ApiError(40058, "invalid notify")
    return 1 if notify is None else notify


@endpoint(
    "POST", "externalcontact/group_welcome_template/add", skeleton={"template_id": ""}, customer_api=True
)
def template_add(call: Call) -> dict[str, Any]:
    body = _template_body(call, TEMPLATE_TEXT_ADD)
    if not body:
        raise ApiError(40063, "text and the other parts cannot all be empty")
    count = call.state.store.scalar(
        "SELECT count(*) FROM group_welcome_template WHERE corp_pk = ? AND deleted = 0", (call.the_corp.pk,)
    )
    if count >= call.state.settings.group_welcome_templates:
        raise ApiError(41055)
    template_id = "msg" + ids.opaque(29)
    call.db.execute(
        "INSERT INTO group_welcome_template (corp_pk, template_id, body, creator, notify, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (call.the_corp.pk, template_id, json.dumps(body), creator_of(call), _notify(call), call.now),
    )
    return {"template_id": template_id}


@endpoint("POST", "externalcontact/group_welcome_template/edit", customer_api=True)
def template_edit(call: Call) -> dict[str, Any]:
    row = _own_template(call)
    body = json.loads(row["body"])
    update = _template_body(call, TEMPLATE_TEXT_EDIT)
    if any(part in update for part in TEMPLATE_PARTS):  # a new other part replaces the old one
        body = {k: v for k, v in body.items() if k == "text"}
    body.update(update)
    call.db.execute(
        "UPDATE group_welcome_template SET body = ?, notify = ? WHERE pk = ?",
        (json.dumps(body), _notify(call), row["pk"]),
    )
    return {}


@endpoint(
    "POST",
    "externalcontact/group_welcome_template/get",
    skeleton={"text": {}, "image": {}, "link": {}, "miniprogram": {}, "file": {}, "video": {}},
    customer_api=True,
)
def template_get(call: Call) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_template(call)["body"])
    image = body.get("image")
    if image and image.get("media_id"):
        # images come back as a pic_url, not the media_id they were made with
        body["image"] = {"pic_url": f"https://wework.qpic.cn/wwpic/{image['media_id']}/0"}
    return body


@endpoint("POST", "externalcontact/group_welcome_template/del", customer_api=True)
def template_del(call: Call) -> dict[str, Any]:
    row = _own_template(call)
    call.db.execute("UPDATE group_welcome_template SET deleted = 1 WHERE pk = ?", (row["pk"],))
    return {}
