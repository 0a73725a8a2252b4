"""§7.1 send_welcome_msg: the WelcomeCode of an add event is valid 20 s and single use."""

from __future__ import annotations

from typing import Any

from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError

MAX_ATTACHMENTS = 9
MAX_TEXT_BYTES = 4000


@endpoint("POST", "externalcontact/send_welcome_msg", customer_api=True)
def send_welcome_msg(call: Call) -> dict[str, Any]:
    code = call.b_str("welcome_code", missing=41049)
    text = call.b_obj("text").get("content") or ""
    attachments = call.body.get("attachments") or []
    if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ApiError(40058, "invalid text.content")
    if not isinstance(attachments, list):
        raise ApiError(40058, "invalid attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ApiError(41064, f"at most {MAX_ATTACHMENTS} attachments")
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
