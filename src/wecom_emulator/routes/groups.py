"""§9 customer groups: groupchat/list (cursor, status and owner filters), groupchat/get and
opengid_to_chatid."""

from __future__ import annotations

import json
from typing import Any

from wecom_emulator import cursors, ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.state import EmulatorState

MAX_OWNERS = 100
MAX_LIMIT = 1000
UNFILTERED_SCOPE_MAX = 1000  # without owner_filter, a larger scope fails with 81017


@endpoint("POST", "externalcontact/groupchat/list", skeleton={"group_chat_list": []}, customer_api=True)
def groupchat_list(call: Call) -> dict[str, Any]:
    limit = call.b_int("limit", missing=40058)
    assert limit is not None
    if not 1 <= limit <= MAX_LIMIT:  # documented as required, 1..1000: refused, not clamped
        raise ApiError(40058, "limit must be 1..1000")
    status = call.b_int("status_filter") or 0
    if status not in (0, 1, 2, 3):
        raise ApiError(40058, "invalid status_filter")
    owners = call.b_obj("owner_filter")
    userids = owners.get("userid_list") or []
    if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
        raise ApiError(40058, "invalid owner_filter")
    if len(userids) > MAX_OWNERS:
        raise ApiError(40058, f"owner_filter.userid_list exceeds {MAX_OWNERS}")
    corp_pk, store = call.the_corp.pk, call.state.store
    scope = "AND m.visible = 1" if call.scoped else ""
    after = cursors.decode("groupchat", call.b_str("cursor"), 1)
    # only fixed fragments and placeholders are formatted into the SQL
    sql = "SELECT g.pk, g.chat_id, g.status FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
    sql += f" WHERE g.corp_pk = ? AND g.pk > ? {scope}"
    params: list[Any] = [corp_pk, after[0] if after else 0]
    if userids:
        sql += f" AND m.userid IN ({','.join('?' * len(userids))})"
        params.extend(userids)
    else:
        in_scope = store.scalar(f"SELECT count(*) FROM member m WHERE m.corp_pk = ? {scope}", (corp_pk,))  # noqa: S608
        if in_scope > UNFILTERED_SCOPE_MAX:
            raise ApiError(81017)
    if status:
        # status_filter 1..3 select groups whose owner resigned (awaiting / in progress / done)
        sql += " AND g.status = ?"
        params.append(status)
    sql += " ORDER BY g.pk LIMIT ?"
    params.append(limit + 1)
    rows = store.all(sql, tuple(params))
    page = rows[:limit]
    next_cursor = cursors.encode("groupchat", page[-1]["pk"]) if len(rows) > limit else ""
    return {
        "group_chat_list": [{"chat_id": r["chat_id"], "status": r["status"]} for r in page],
        "next_cursor": next_cursor,
    }


@endpoint("POST", "externalcontact/groupchat/get", skeleton={"group_chat": {}}, customer_api=True)
def groupchat_get(call: Call) -> dict[str, Any]:
    chat_id = call.b_str("chat_id", missing=40058)
    need_name = call.b_int("need_name") == 1
    store = call.state.store
    chat = store.one(
        "SELECT g.*, m.userid AS owner, m.visible FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
        " WHERE g.corp_pk = ? AND g.chat_id = ?",
        (call.the_corp.pk, chat_id),
    )
    if chat is None:
        raise ApiError(86003)
    if call.scoped and not chat["visible"]:
        raise ApiError(60011)  # the owner must be in the app's scope
    members = []
    for row in store.all("SELECT * FROM groupchat_member WHERE chat_pk = ? ORDER BY pk", (chat["pk"],)):
        item: dict[str, Any] = {
            "userid": row["userid"],
            "type": row["type"],
            "join_time": row["join_time"],
            "join_scene": row["join_scene"],
            "group_nickname": row["group_nickname"],
        }
        if row["unionid"]:
            item["unionid"] = row["unionid"]
        if row["invitor"]:
            item["invitor"] = {"userid": row["invitor"]}
        if need_name:
            item["name"] = row["name"]
        if row["state"]:
            item["state"] = row["state"]
        members.append(item)
    return {
        "group_chat": {
            "chat_id": chat["chat_id"],
            "name": chat["name"],
            "owner": chat["owner"],
            "create_time": chat["create_time"],
            "notice": chat["notice"],
            "member_list": members,
            "admin_list": [{"userid": u} for u in json.loads(chat["admins"])],
            "member_version": chat["member_version"],
        }
    }


def opengid_of(state: EmulatorState, corp_pk: int, chat_pk: int) -> str:
    """The group's opengid as a mini-program opened in it would see it (made on first use)."""
    found = state.store.scalar("SELECT opengid FROM opengid WHERE chat_pk = ?", (chat_pk,))
    if found:
        return str(found)
    opengid = "tG" + ids.opaque(26)
    state.store.conn.execute(
        "INSERT INTO opengid (opengid, corp_pk, chat_pk) VALUES (?, ?, ?)", (opengid, corp_pk, chat_pk)
    )
    return opengid


@endpoint("POST", "externalcontact/opengid_to_chatid", skeleton={"chat_id": ""}, customer_api=True)
def opengid_to_chatid(call: Call) -> dict[str, Any]:
    opengid = call.b_str("opengid", missing=40058)
    row = call.state.store.one(
        "SELECT g.chat_id, m.visible FROM opengid o JOIN groupchat g ON g.pk = o.chat_pk"
        " JOIN member m ON m.pk = g.owner_pk WHERE o.opengid = ? AND o.corp_pk = ?",
        (opengid, call.the_corp.pk),
    )
    if row is None:
        raise ApiError(40058, "invalid opengid")
    if call.scoped and not row["visible"]:
        raise ApiError(60011)  # the owner must be in the app's scope
    return {"chat_id": row["chat_id"]}
