"""§6 contact ways (「联系我」) and group join ways (「加入群聊」).

A config is a row in ``contact_way`` or ``join_way``; deletes are soft so the ``config_id`` keeps
answering 41044. The two kinds share the 500,000 quota of API-created configs (temporary contact
ways are not counted but are limited per day). Scanning a config's QR code is a scenario
(``scenarios.customer_scans_contact_way`` / ``customer_scans_join_way``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from wecom_emulator import cursors, ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.clock import DAY, day_start
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.tags import NOT_OWNER, creator_of

MAX_REMARK = 30
MAX_STATE = 30
MAX_USERS = 100  # members per config, departments expanded
MAX_JOIN_CHATS = 5
MAX_ROOM_BASE_NAME = 40
TEMP_DEFAULT, TEMP_MAX = 7 * DAY, 14 * DAY
CHAT_DEFAULT, CHAT_MAX = DAY, 14 * DAY
LIST_DEFAULT, LIST_MAX = 100, 1000
LIST_SPAN_DEFAULT = 90 * DAY
LIST_EPOCH = 1_625_846_400  # 2021-07-10 00:00 (UTC+8): list_contact_way knows nothing older


def qr_code_url(config_id: str) -> str:
    return f"https://wework.qpic.cn/wwpic/{config_id}/0"


def _quota_used(call: Call) -> int:
    corp_pk = call.the_corp.pk
    ways = call.state.store.scalar(
        "SELECT count(*) FROM contact_way WHERE corp_pk = ? AND deleted = 0 AND is_temp = 0", (corp_pk,)
    )
    joins = call.state.store.scalar(
        "SELECT count(*) FROM join_way WHERE corp_pk = ? AND deleted = 0", (corp_pk,)
    )
    return int(ways) + int(joins)


def _check_quota(call: Call, *, temp: bool) -> None:
    settings = call.state.settings
    if temp:
        today = call.state.store.scalar(
            "SELECT count(*) FROM contact_way WHERE corp_pk = ? AND is_temp = 1 AND created_at >= ?",
            (call.the_corp.pk, day_start(call.now)),
        )
        if today >= settings.temp_contact_ways_per_day:
            raise ApiError(41045)
    elif _quota_used(call) >= settings.contact_way_quota:
        raise ApiError(41045)


def _short(call: Call, name: str, limit: int, *, truncate: bool = False) -> str:
    value = call.body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(40058, f"invalid {name}")
    if len(value) > limit:
        if truncate:
            return value[:limit]
        raise ApiError(40058, f"{name} exceeds {limit} characters")
    return value


def _seconds(call: Call, name: str, default: int, maximum: int) -> int:
    value = call.b_int(name)
    if value is None:
        return default
    if not 0 < value <= maximum:
        raise ApiError(40058, f"{name} must be 1..{maximum}")
    return value


def _style(call: Call) -> int | None:
    value = call.body.get("style")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(41042)
    return value


def _members(call: Call, way_type: int, users: list[str], parties: list[int]) -> None:
    """The users and departments of a config: type 1 exactly one user, no departments; type 2 at
    most 100 members with departments expanded; each must be able to have customers."""
    if way_type == 1:
        if parties or len(users) > 1:
            raise ApiError(41041)
        if not users:
            raise ApiError(40058, "type 1 needs exactly one user")
    elif not users and not parties:
        raise ApiError(40058, "user and party cannot both be empty")
    for userid in users:
        call.contact_member(userid)
    expanded = {u.lower() for u in users}
    for party in parties:
        if not call.state.store.one(
            "SELECT 1 FROM department WHERE corp_pk = ? AND id = ?", (call.the_corp.pk, party)
        ):
            raise ApiError(60123)
        rows = call.state.store.all(
            "SELECT m.userid FROM member m, json_each(m.departments) d WHERE m.corp_pk = ? AND d.value = ?",
            (call.the_corp.pk, party),
        )
        expanded.update(r["userid"].lower() for r in rows)
    if len(expanded) > MAX_USERS:
        raise ApiError(41041)


def _parties(call: Call) -> list[int]:
    value = call.body.get("party")
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in value):
        raise ApiError(40058, "invalid party")
    return list(value)


def _conclusions(call: Call) -> str | None:
    value = call.body.get("conclusions")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(40058, "invalid conclusions")
    return json.dumps(value, ensure_ascii=False)


def _contact_way(call: Call) -> sqlite3.Row:
    config_id = call.b_str("config_id", missing=41043)
    row = call.state.store.one(
        "SELECT * FROM contact_way WHERE corp_pk = ? AND config_id = ? AND deleted = 0",
        (call.the_corp.pk, config_id),
    )
    if row is None:
        raise ApiError(41044)
    return row


@endpoint("POST", "externalcontact/add_contact_way", skeleton={"config_id": ""}, customer_api=True)
def add_contact_way(call: Call) -> dict[str, Any]:
    way_type = call.b_int("type", missing=41037)
    scene = call.b_int("scene", missing=41038)
    if way_type not in (1, 2):
        raise ApiError(41039)
    if scene not in (1, 2):
        raise ApiError(41040)
    style = _style(call)
    remark = _short(call, "remark", MAX_REMARK)
    state_label = _short(call, "state", MAX_STATE)
    skip_verify = call.body.get("skip_verify", True)
    if not isinstance(skip_verify, bool):
        raise ApiError(40058, "invalid skip_verify")
    users, parties = call.b_strs("user"), _parties(call)
    _members(call, way_type, users, parties)
    is_temp = bool(call.body.get("is_temp", False))
    if is_temp and way_type != 1:
        raise ApiError(40058, "a temporary contact way is for a single member")
    expires_in = _seconds(call, "expires_in", TEMP_DEFAULT, TEMP_MAX) if is_temp else None
    chat_expires_in = _seconds(call, "chat_expires_in", CHAT_DEFAULT, CHAT_MAX) if is_temp else None
    _check_quota(call, temp=is_temp)
    config_id = ids.version()
    qr_code = qr_code_url(config_id) if scene == 2 else ""
    call.db.execute(
        "INSERT INTO contact_way (corp_pk, config_id, type, scene, style, remark, skip_verify, state, users,"
        " parties, is_temp, expires_in, chat_expires_in, unionid, conclusions, qr_code, creator, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            call.the_corp.pk,
            config_id,
            way_type,
            scene,
            style if scene == 1 else None,
            remark,
            int(skip_verify),
            state_label,
            json.dumps(users),
            json.dumps(parties),
            int(is_temp),
            expires_in,
            chat_expires_in,
            call.b_str("unionid") if is_temp else None,
            _conclusions(call) if is_temp else None,
            qr_code,
            creator_of(call),
            call.now,
        ),
    )
    body: dict[str, Any] = {"config_id": config_id}
    if qr_code:
        body["qr_code"] = qr_code
    return body


def _conclusions_out(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    value: dict[str, Any] = json.loads(raw)
    image = value.get("image")
    if isinstance(image, dict) and image.get("media_id"):  # answered as pic_url, not media_id
        value["image"] = {"pic_url": f"https://wework.qpic.cn/wwpic/{image['media_id']}/0"}
    return value


@endpoint("POST", "externalcontact/get_contact_way", skeleton={"contact_way": {}}, customer_api=True)
def get_contact_way(call: Call) -> dict[str, Any]:
    row = _contact_way(call)
    way: dict[str, Any] = {
        "config_id": row["config_id"],
        "type": row["type"],
        "scene": row["scene"],
        "remark": row["remark"],
        "skip_verify": bool(row["skip_verify"]),
        "state": row["state"],
        "user": json.loads(row["users"]),
        "party": json.loads(row["parties"]),
        "is_temp": bool(row["is_temp"]),
    }
    if row["style"] is not None:
        way["style"] = row["style"]
    if row["qr_code"]:
        way["qr_code"] = row["qr_code"]
    if row["is_temp"]:
        way.update(
            expires_in=row["expires_in"],
            chat_expires_in=row["chat_expires_in"],
            unionid=row["unionid"] or "",
            conclusions=_conclusions_out(row["conclusions"]),
        )
    return {"contact_way": way}


@endpoint(
    "POST",
    "externalcontact/list_contact_way",
    skeleton={"contact_way": [], "next_cursor": ""},
    customer_api=True,
)
def list_contact_way(call: Call) -> dict[str, Any]:
    now = call.now
    end = call.b_int("end_time")
    end = now if end is None else end
    start = call.b_int("start_time")
    start = end - LIST_SPAN_DEFAULT if start is None else start
    if start > end:
        raise ApiError(40058, "start_time is after end_time")
    start = max(start, LIST_EPOCH)
    limit = call.b_limit(LIST_DEFAULT, LIST_MAX)
    after = cursors.decode("contact_way", call.b_str("cursor"), 1)
    rows = call.state.store.all(
        "SELECT pk, config_id FROM contact_way WHERE corp_pk = ? AND deleted = 0 AND is_temp = 0"
        " AND created_at BETWEEN ? AND ? AND pk > ? ORDER BY pk LIMIT ?",
        (call.the_corp.pk, start, end, after[0] if after else 0, limit + 1),
    )
    page = rows[:limit]
    return {
        "contact_way": [{"config_id": r["config_id"]} for r in page],
        "next_cursor": cursors.encode("contact_way", page[-1]["pk"]) if len(rows) > limit else "",
    }


@endpoint("POST", "externalcontact/update_contact_way", customer_api=True)
def update_contact_way(call: Call) -> dict[str, Any]:
    row = _contact_way(call)
    if row["is_temp"] and row["created_at"] + (row["expires_in"] or 0) <= call.now:
        raise ApiError(41044, "an expired temporary contact way cannot be edited")
    updates: dict[str, Any] = {}
    if "remark" in call.body:
        updates["remark"] = _short(call, "remark", MAX_REMARK)
    if "state" in call.body:
        updates["state"] = _short(call, "state", MAX_STATE)
    if "skip_verify" in call.body:
        if not isinstance(call.body["skip_verify"], bool):
            raise ApiError(40058, "invalid skip_verify")
        updates["skip_verify"] = int(call.body["skip_verify"])
    if "style" in call.body:
        updates["style"] = _style(call)
    if "user" in call.body or "party" in call.body:  # given lists replace the old ones
        users = call.b_strs("user") if "user" in call.body else json.loads(row["users"])
        parties = _parties(call) if "party" in call.body else json.loads(row["parties"])
        _members(call, row["type"], users, parties)
        updates.update(users=json.dumps(users), parties=json.dumps(parties))
    if row["is_temp"]:
        if "expires_in" in call.body:
            updates["expires_in"] = _seconds(call, "expires_in", TEMP_DEFAULT, TEMP_MAX)
        if "chat_expires_in" in call.body:
            updates["chat_expires_in"] = _seconds(call, "chat_expires_in", CHAT_DEFAULT, CHAT_MAX)
        if "unionid" in call.body:
            updates["unionid"] = call.b_str("unionid")
        if "conclusions" in call.body:
            updates["conclusions"] = _conclusions(call)
    if updates:
        assignments = ", ".join(f"{column} = ?" for column in updates)
        call.db.execute(f"UPDATE contact_way SET {assignments} WHERE pk = ?", (*updates.values(), row["pk"]))  # noqa: S608
    return {}


@endpoint("POST", "externalcontact/del_contact_way", customer_api=True)
def del_contact_way(call: Call) -> dict[str, Any]:
    row = _contact_way(call)
    call.db.execute("UPDATE contact_way SET deleted = 1 WHERE pk = ?", (row["pk"],))
    return {}


@endpoint("POST", "externalcontact/close_temp_chat", customer_api=True)
def close_temp_chat(call: Call) -> dict[str, Any]:
    userid = call.b_str("userid", missing=40003)
    external_userid = call.b_str("external_userid", missing=41035)
    assert userid is not None
    member = call.member(userid)
    relation = call.state.store.one(
        "SELECT 1 FROM follow f JOIN customer c ON c.pk = f.customer_pk WHERE f.member_pk = ?"
        " AND c.external_userid = ? AND c.corp_pk = ?",
        (member["pk"], external_userid, call.the_corp.pk),
    )
    if relation is None:
        raise ApiError(84061)
    return {}


# -- §6.3 group join ways ---------------------------------------------------------------------------


def _join_chats(call: Call) -> list[str]:
    chat_ids = call.b_strs("chat_id_list", missing=40058)
    if len(chat_ids) > MAX_JOIN_CHATS:
        raise ApiError(41091)
    for chat_id in chat_ids:
        chat = call.state.store.one(
            "SELECT m.visible FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
            " WHERE g.corp_pk = ? AND g.chat_id = ?",
            (call.the_corp.pk, chat_id),
        )
        if chat is None:
            raise ApiError(86003)
        if call.scoped and not chat["visible"]:
            raise ApiError(60011)
    return chat_ids


def _join_fields(call: Call) -> dict[str, Any]:
    scene = call.b_int("scene", missing=41038)
    if scene not in (1, 2):
        raise ApiError(41040)
    auto = call.b_int("auto_create_room")
    if auto not in (None, 0, 1):
        raise ApiError(40058, "invalid auto_create_room")
    base_id = call.b_int("room_base_id")
    return {
        "scene": scene,
        "remark": _short(call, "remark", MAX_REMARK, truncate=True),  # a long remark is truncated
        "auto_create_room": 1 if auto is None else auto,
        "room_base_name": _short(call, "room_base_name", MAX_ROOM_BASE_NAME),
        "room_base_id": 1 if base_id is None else base_id,
        "chat_ids": json.dumps(_join_chats(call)),
        "state": _short(call, "state", MAX_STATE),
    }


def _join_way(call: Call, *, own: bool) -> sqlite3.Row:
    config_id = call.b_str("config_id", missing=41043)
    row = call.state.store.one(
        "SELECT * FROM join_way WHERE corp_pk = ? AND config_id = ? AND deleted = 0",
        (call.the_corp.pk, config_id),
    )
    if row is None:
        raise ApiError(41044)
    if own and row["creator"] != creator_of(call):
        raise ApiError(NOT_OWNER, "the join way was not created by this app")
    return row


@endpoint("POST", "externalcontact/groupchat/add_join_way", skeleton={"config_id": ""}, customer_api=True)
def add_join_way(call: Call) -> dict[str, Any]:
    fields = _join_fields(call)
    _check_quota(call, temp=False)
    config_id = ids.version()
    fields.update(
        corp_pk=call.the_corp.pk,
        config_id=config_id,
        qr_code=qr_code_url(config_id) if fields["scene"] == 2 else "",
        creator=creator_of(call),
        created_at=call.now,
    )
    columns = ", ".join(fields)
    call.db.execute(
        f"INSERT INTO join_way ({columns}) VALUES ({', '.join('?' * len(fields))})",  # noqa: S608
        tuple(fields.values()),
    )
    return {"config_id": config_id}


@endpoint("POST", "externalcontact/groupchat/get_join_way", skeleton={"join_way": {}}, customer_api=True)
def get_join_way(call: Call) -> dict[str, Any]:
    row = _join_way(call, own=True)
    way: dict[str, Any] = {
        "config_id": row["config_id"],
        "scene": row["scene"],
        "remark": row["remark"],
        "auto_create_room": row["auto_create_room"],
        "room_base_name": row["room_base_name"],
        "room_base_id": row["room_base_id"],
        "chat_id_list": json.loads(row["chat_ids"]),
        "state": row["state"],
    }
    if row["qr_code"]:
        way["qr_code"] = row["qr_code"]
    return {"join_way": way}


@endpoint("POST", "externalcontact/groupchat/update_join_way", customer_api=True)
def update_join_way(call: Call) -> dict[str, Any]:
    row = _join_way(call, own=True)
    fields = _join_fields(call)  # the whole object is sent again and overwrites the old one
    fields["qr_code"] = row["qr_code"] or (qr_code_url(row["config_id"]) if fields["scene"] == 2 else "")
    assignments = ", ".join(f"{column} = ?" for column in fields)
    call.db.execute(f"UPDATE join_way SET {assignments} WHERE pk = ?", (*fields.values(), row["pk"]))  # noqa: S608
    return {}


@endpoint("POST", "externalcontact/groupchat/del_join_way", customer_api=True)
def del_join_way(call: Call) -> dict[str, Any]:
    row = _join_way(call, own=True)
    call.db.execute("UPDATE join_way SET deleted = 1 WHERE pk = ?", (row["pk"],))
    return {}
