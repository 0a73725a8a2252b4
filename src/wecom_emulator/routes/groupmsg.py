"""§8 mass messages (企业群发): add_msg_template creates a task; nothing is sent until each member
confirms it in the client (``scenarios.member_confirms_mass_message``), which sets every
recipient's status — 1 sent, 2 not a friend any more, 3 over the customer's receive cap.

Tables: ``groupmsg`` (the message), ``groupmsg_task`` (one per sending member), ``groupmsg_send``
(one per recipient: an external_userid, or a chat_id for group messages)."""

from __future__ import annotations

import calendar
import json
import sqlite3
from typing import Any

from wecom_emulator import cursors, ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.clock import DAY, day_start, local
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.media import check_attachments, check_text
from wecom_emulator.routes.tags import live_tags
from wecom_emulator.state import EmulatorState, Settings

MAX_TEXT_BYTES = 4000
MAX_EXTERNAL = 10_000
MAX_CHATS = 2000
MAX_TAGS_PER_LIST = 100
LIST_DEFAULT, LIST_MAX = 50, 100
TASK_DEFAULT, TASK_MAX = 500, 1000
MAX_LIST_SPAN = 31 * DAY  # get_groupmsg_list_v2: at most one month


def receive_cap(settings: Settings, when: float) -> tuple[int, int]:
    """(start of the cap period containing ``when``, messages allowed in it) — §8.1."""
    today = day_start(when)
    moment = local(when)
    if settings.mass_cap_period == "day":
        start, count = today, 1
    elif settings.mass_cap_period == "week":
        start, count = today - moment.weekday() * DAY, 7
    else:  # as many per calendar month as the month has days
        start, count = today - (moment.day - 1) * DAY, calendar.monthrange(moment.year, moment.month)[1]
    if settings.mass_cap_count is not None:
        count = settings.mass_cap_count
    return start, count


def received(state: EmulatorState, target: str, since: int) -> int:
    """Mass messages ``target`` (an external_userid or chat_id) received since ``since``."""
    return int(
        state.store.scalar(
            "SELECT count(*) FROM groupmsg_send WHERE target = ? AND status = 1 AND send_time >= ?",
            (target, since),
        )
    )


def _tag_filter(call: Call) -> list[set[str]]:
    """``tag_filter.group_list[].tag_list``: OR inside a list, AND between lists."""
    raw = call.b_obj("tag_filter").get("group_list") or []
    if not isinstance(raw, list):
        raise ApiError(40058, "invalid tag_filter")
    live = live_tags(call.state, call.the_corp.pk)
    lists: list[set[str]] = []
    for item in raw:
        tags = item.get("tag_list") if isinstance(item, dict) else None
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(40058, "invalid tag_filter")
        if len(tags) > MAX_TAGS_PER_LIST:
            raise ApiError(40058, f"a tag_list has at most {MAX_TAGS_PER_LIST} tags")
        if any(t not in live for t in tags):
            raise ApiError(40068)
        if tags:
            lists.append(set(tags))
    return lists


def _matches(tag_ids: str, lists: list[set[str]]) -> bool:
    mine = set(tag_ids.split(","))
    return all(mine & wanted for wanted in lists)


def _single_recipients(
    call: Call, sender: sqlite3.Row | None, externals: list[str], tag_lists: list[set[str]]
) -> tuple[list[tuple[int, str]], list[str]]:
    """([(member_pk, external_userid)], fail_list) of a message to customers."""
    store, corp_pk = call.state.store, call.the_corp.pk
    recipients: list[tuple[int, str]] = []
    fails: list[str] = []
    if not externals:
        assert sender is not None
        rows = store.all(
            "SELECT c.external_userid, f.tag_ids FROM follow f JOIN customer c ON c.pk = f.customer_pk"
            " WHERE f.member_pk = ? AND f.customer_deleted = 0 ORDER BY f.pk",
            (sender["pk"],),
        )
        return [(sender["pk"], r["external_userid"]) for r in rows if _matches(r["tag_ids"], tag_lists)], []
    scope = "AND m.visible = 1" if call.scoped else ""
    for external_userid in dict.fromkeys(externals):
        # with a sender, only that member's customer; without, the task goes to one follower only
        # (WeCom: the member who last chatted with the customer; here: the latest to add them)
        sql = (
            "SELECT f.member_pk, f.tag_ids FROM follow f JOIN customer c ON c.pk = f.customer_pk"  # noqa: S608
            " JOIN member m ON m.pk = f.member_pk WHERE c.corp_pk = ? AND c.external_userid = ?"
            f" AND f.customer_deleted = 0 AND m.status = 1 AND m.customer_contact = 1 {scope}"
        )
        params: list[Any] = [corp_pk, external_userid]
        if sender is not None:
            sql += " AND f.member_pk = ?"
            params.append(sender["pk"])
        follow = store.one(sql + " ORDER BY f.createtime DESC LIMIT 1", tuple(params))
        if follow is None:
            fails.append(external_userid)
        elif _matches(follow["tag_ids"], tag_lists):
            recipients.append((follow["member_pk"], external_userid))
    return recipients, fails


@endpoint(
    "POST", "externalcontact/add_msg_template", skeleton={"fail_list": [], "msgid": ""}, customer_api=True
)
def add_msg_template(call: Call) -> dict[str, Any]:
    chat_type = call.b_str("chat_type") or "single"
    if chat_type not in ("single", "group"):
        raise ApiError(40058, "invalid chat_type")
    text = check_text(call, MAX_TEXT_BYTES)
    attachments = check_attachments(call, call.body.get("attachments"))
    if not text and not attachments:
        raise ApiError(40063, "text and attachments cannot both be empty")
    externals = call.b_strs("external_userid", max_items=MAX_EXTERNAL)
    chat_ids = call.b_strs("chat_id_list", max_items=MAX_CHATS)
    sender_id = call.b_str("sender")
    tag_lists = _tag_filter(call)
    allow_select = call.body.get("allow_select", False)
    if not isinstance(allow_select, bool):
        raise ApiError(40058, "invalid allow_select")
    if chat_type == "group":
        if externals:
            raise ApiError(40058, "external_userid is for single chats")
        if not sender_id:
            raise ApiError(40058, "sender is required for group chats")
    else:
        if chat_ids:
            raise ApiError(40058, "chat_id_list is for group chats")
        if not externals and not sender_id:
            raise ApiError(40058, "external_userid and sender cannot both be empty")
    sender = call.contact_member(sender_id) if sender_id else None
    corp_pk, now = call.the_corp.pk, call.now
    fails: list[str] = []
    recipients: list[tuple[int, str]] = []
    if chat_type == "single":
        recipients, fails = _single_recipients(call, sender, externals, tag_lists)
        if not recipients:
            raise ApiError(41048, fields={"fail_list": fails, "msgid": ""})
        task_members = list(dict.fromkeys(pk for pk, _ in recipients))
    else:
        assert sender is not None
        task_members = [sender["pk"]]
        if chat_ids:  # the listed groups of the sender; the owner does not pick
            owned = {
                r["chat_id"]
                for r in call.state.store.all(
                    "SELECT chat_id FROM groupchat WHERE owner_pk = ?", (sender["pk"],)
                )
            }
            recipients = [(sender["pk"], c) for c in dict.fromkeys(chat_ids) if c in owned]
            if not recipients:
                raise ApiError(41048, fields={"fail_list": [], "msgid": ""})
    msgid = "msg" + ids.opaque(29)
    body: dict[str, Any] = {"attachments": attachments}
    if text:
        body["text"] = {"content": text}
    cur = call.db.execute(
        "INSERT INTO groupmsg (corp_pk, msgid, chat_type, creator, create_type, body, allow_select, chat_ids,"
        " create_time) VALUES (?, ?, ?, NULL, 0, ?, ?, ?, ?)",
        (
            corp_pk,
            msgid,
            chat_type,
            json.dumps(body, ensure_ascii=False),
            int(allow_select),
            json.dumps(chat_ids) if chat_type == "group" and chat_ids else None,
            now,
        ),
    )
    msg_pk = cur.lastrowid
    call.db.executemany(
        "INSERT INTO groupmsg_task (msg_pk, member_pk) VALUES (?, ?)", [(msg_pk, pk) for pk in task_members]
    )
    call.db.executemany(
        "INSERT INTO groupmsg_send (msg_pk, member_pk, target) VALUES (?, ?, ?)",
        [(msg_pk, pk, target) for pk, target in recipients],
    )
    return {"fail_list": fails, "msgid": msgid}


@endpoint(
    "POST",
    "externalcontact/get_groupmsg_list_v2",
    skeleton={"group_msg_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_groupmsg_list_v2(call: Call) -> dict[str, Any]:
    chat_type = call.b_str("chat_type", missing=40058)
    if chat_type not in ("single", "group"):
        raise ApiError(40058, "invalid chat_type")
    start = call.b_int("start_time", missing=40058)
    end = call.b_int("end_time", missing=40058)
    assert start is not None
    assert end is not None
    if end < start or end - start > MAX_LIST_SPAN:
        raise ApiError(40058, "the time span is at most one month")
    filter_type = call.b_int("filter_type")
    filter_type = 2 if filter_type is None else filter_type
    if filter_type not in (0, 1, 2):
        raise ApiError(40058, "invalid filter_type")
    limit = call.b_limit(LIST_DEFAULT, LIST_MAX, over="default")  # documented: over max → default
    after = cursors.decode("groupmsg_list", call.b_str("cursor"), 1)
    sql = (
        "SELECT * FROM groupmsg WHERE corp_pk = ? AND chat_type = ? AND create_time BETWEEN ? AND ?"
        " AND pk > ?"
    )
    params: list[Any] = [call.the_corp.pk, chat_type, start, end, after[0] if after else 0]
    if filter_type != 2:
        sql += " AND create_type = ?"
        params.append(filter_type)
    creator = call.b_str("creator")
    if creator:
        sql += " AND creator = ?"
        params.append(creator)
    rows = call.state.store.all(sql + " ORDER BY pk LIMIT ?", (*params, limit + 1))
    page = rows[:limit]
    items = []
    for row in page:
        body = json.loads(row["body"])
        item: dict[str, Any] = {
            "msgid": row["msgid"],
            "create_time": str(row["create_time"]),
            "create_type": row["create_type"],
        }
        if row["creator"]:  # absent for API-created messages
            item["creator"] = row["creator"]
        if "text" in body:
            item["text"] = body["text"]
        item["attachments"] = body["attachments"]
        items.append(item)
    return {
        "group_msg_list": items,
        "next_cursor": cursors.encode("groupmsg_list", page[-1]["pk"]) if len(rows) > limit else "",
    }


def find_msg(state: EmulatorState, corp_pk: int, msgid: str | None) -> sqlite3.Row | None:
    return state.store.one("SELECT * FROM groupmsg WHERE corp_pk = ? AND msgid = ?", (corp_pk, msgid))


def _msg(call: Call, *, dispatched: bool = False) -> sqlite3.Row:
    msgid = call.b_str("msgid", missing=41046)
    row = find_msg(call.state, call.the_corp.pk, msgid)
    if row is None:
        raise ApiError(41047)
    if dispatched and call.now < row["create_time"] + call.state.settings.mass_dispatch_seconds:
        raise ApiError(41063)  # just created: still being dispatched, retry later
    return row


@endpoint(
    "POST",
    "externalcontact/get_groupmsg_task",
    skeleton={"task_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_groupmsg_task(call: Call) -> dict[str, Any]:
    msg = _msg(call, dispatched=True)
    limit = call.b_limit(TASK_DEFAULT, TASK_MAX)
    after = cursors.decode(f"groupmsg_task:{msg['pk']}", call.b_str("cursor"), 1)
    rows = call.state.store.all(
        "SELECT t.pk, t.status, t.send_time, m.userid FROM groupmsg_task t JOIN member m ON m.pk = t.member_pk"
        " WHERE t.msg_pk = ? AND t.pk > ? ORDER BY t.pk LIMIT ?",
        (msg["pk"], after[0] if after else 0, limit + 1),
    )
    page = rows[:limit]
    tasks = []
    for row in page:
        item: dict[str, Any] = {"userid": row["userid"], "status": row["status"]}
        if row["status"] == 2:
            item["send_time"] = row["send_time"]
        tasks.append(item)
    more = len(rows) > limit
    return {
        "task_list": tasks,
        "next_cursor": cursors.encode(f"groupmsg_task:{msg['pk']}", page[-1]["pk"]) if more else "",
    }


@endpoint(
    "POST",
    "externalcontact/get_groupmsg_send_result",
    skeleton={"send_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_groupmsg_send_result(call: Call) -> dict[str, Any]:
    msg = _msg(call, dispatched=True)
    userid = call.b_str("userid", missing=40003)
    assert userid is not None
    member = call.member(userid, in_scope=False)
    limit = call.b_limit(TASK_DEFAULT, TASK_MAX)
    kind = f"groupmsg_send:{msg['pk']}:{member['pk']}"
    after = cursors.decode(kind, call.b_str("cursor"), 1)
    group = msg["chat_type"] == "group"
    # group messages list only what was sent (the owner had not picked the other groups)
    unsent = "AND status != 0" if group else ""
    rows = call.state.store.all(
        f"SELECT pk, target, status, send_time FROM groupmsg_send WHERE msg_pk = ? AND member_pk = ? {unsent}"  # noqa: S608
        " AND pk > ? ORDER BY pk LIMIT ?",
        (msg["pk"], member["pk"], after[0] if after else 0, limit + 1),
    )
    page = rows[:limit]
    sends = []
    for row in page:
        item: dict[str, Any] = {"chat_id" if group else "external_userid": row["target"]}
        item.update(userid=member["userid"], status=row["status"])
        if row["status"] == 1:
            item["send_time"] = row["send_time"]
        sends.append(item)
    return {
        "send_list": sends,
        "next_cursor": cursors.encode(kind, page[-1]["pk"]) if len(rows) > limit else "",
    }


@endpoint("POST", "externalcontact/remind_groupmsg_send", customer_api=True)
def remind_groupmsg_send(call: Call) -> dict[str, Any]:
    msg = _msg(call)
    if msg["cancelled"]:
        raise ApiError(41093)
    recent = call.state.store.scalar(
        "SELECT count(*) FROM groupmsg_remind WHERE msg_pk = ? AND at > ?", (msg["pk"], call.now - DAY)
    )
    if recent >= call.state.settings.remind_per_day:
        raise ApiError(41094)
    call.db.execute("INSERT INTO groupmsg_remind (msg_pk, at) VALUES (?, ?)", (msg["pk"], call.now))
    return {}


@endpoint("POST", "externalcontact/cancel_groupmsg_send", customer_api=True)
def cancel_groupmsg_send(call: Call) -> dict[str, Any]:
    msg = _msg(call)
    if msg["cancelled"]:
        raise ApiError(41093)
    # stops the unsent parts; what was delivered stays delivered
    call.db.execute("UPDATE groupmsg SET cancelled = 1 WHERE pk = ?", (msg["pk"],))
    return {}
