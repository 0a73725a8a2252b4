"""§11.1–11.3 moments (客户朋友圈).

add_moment_task answers a jobid at once; the job finishes ``Settings.moment_job_seconds`` later on
the emulator's clock (``finish_moment_jobs``, a settler), which is when the moment and one task
per sender exist. Members publish it (``scenarios.member_publishes_moment``) and customers like or
comment on it (``scenarios.customer_reacts_to_moment``); WeCom sends no callbacks for either."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from wecom_emulator import cursors, ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.clock import DAY
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.media import live_media
from wecom_emulator.routes.tags import live_tags
from wecom_emulator.state import EmulatorState
from wecom_emulator.timeline import settler

MAX_TEXT = 2000
MAX_IMAGES = 9
MAX_SENDERS = 100_000
JOB_TTL = DAY
LIST_DEFAULT = LIST_MAX = 20
LIST_SPAN = 30 * DAY
TASK_DEFAULT, TASK_MAX = 500, 1000
SEND_DEFAULT, SEND_MAX = 3000, 5000


def _attachment_media(call: Call, media_id: Any) -> str:
    row = live_media(call, media_id)
    if row["attachment_type"] != 1:
        raise ApiError(41072)  # not uploaded with upload_attachment for moments
    return str(row["media_id"])


def _moment_content(call: Call) -> dict[str, Any]:
    """The checked text and attachments: ≤9 images, or one video, or one link — never mixed."""
    text = call.b_obj("text").get("content") or ""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ApiError(40058, "invalid text size")
    attachments = call.body.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError(40058, "invalid attachments")
    attachments = attachments or []
    if not text and not attachments:
        raise ApiError(41089)
    content: dict[str, Any] = {"text": {"content": text}}
    kinds = {a.get("msgtype") if isinstance(a, dict) else None for a in attachments}
    if not attachments:
        return content
    if len(kinds) > 1 or not kinds <= {"image", "video", "link"}:
        raise ApiError(40058, "invalid attachments msgtype")
    kind = kinds.pop()
    if (kind == "image" and len(attachments) > MAX_IMAGES) or (kind != "image" and len(attachments) > 1):
        raise ApiError(41064, "invalid attachments size")
    bodies = [a.get(kind) for a in attachments]
    if not all(isinstance(b, dict) for b in bodies):
        raise ApiError(41088)
    if kind == "image":
        content["image"] = [{"media_id": _attachment_media(call, b.get("media_id"))} for b in bodies]
    elif kind == "video":
        media_id = _attachment_media(call, bodies[0].get("media_id"))
        content["video"] = {"media_id": media_id, "thumb_media_id": media_id}
    else:
        link = bodies[0]
        title, url = link.get("title") or "", link.get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(40058, "link.url is required")
        if not isinstance(title, str) or len(title.encode("utf-8")) > 64:
            raise ApiError(40058, "invalid link.title")
        _attachment_media(call, link.get("media_id"))
        content["link"] = {"title": title, "url": url}
    return content


@endpoint("POST", "externalcontact/add_moment_task", skeleton={"jobid": ""}, customer_api=True)
def add_moment_task(call: Call) -> dict[str, Any]:
    state, now = call.state, call.state.clock.now()
    content = _moment_content(call)
    visible = call.b_obj("visible_range")
    senders = visible.get("sender_list") or {}
    customers = visible.get("external_contact_list") or {}
    if not isinstance(senders, dict) or not isinstance(customers, dict):
        raise ApiError(40058, "invalid visible_range")
    users, departments, tags = (
        senders.get("user_list") or [],
        senders.get("department_list") or [],
        customers.get("tag_list") or [],
    )
    if not all(isinstance(u, str) for u in users) or len(users) > MAX_SENDERS:
        raise ApiError(40058, "invalid sender_list.user_list")
    if not all(isinstance(d, int) for d in departments) or not all(isinstance(t, str) for t in tags):
        raise ApiError(40058, "invalid visible_range")
    # 10 creates per minute per corp
    if not state.rate.hit(
        f"{call.the_corp.pk}:add_moment_task", state.settings.moment_tasks_per_minute, 60, now
    ):
        raise ApiError(45009)
    jobid = ids.opaque(48)
    request = {
        "content": content,
        "users": users,
        "departments": departments,
        "tags": tags,
        "scoped": call.scoped,
    }
    call.db.execute(
        "INSERT INTO moment_job (corp_pk, jobid, request, created_at, done_at) VALUES (?, ?, ?, ?, ?)",
        (
            call.the_corp.pk,
            jobid,
            json.dumps(request, ensure_ascii=False),
            call.now,
            call.now + state.settings.moment_job_seconds,
        ),
    )
    return {"jobid": jobid}


@endpoint("GET", "externalcontact/get_moment_task_result", skeleton={}, customer_api=True)
def get_moment_task_result(call: Call) -> dict[str, Any]:
    jobid = call.q_str("jobid", missing=40058)
    job = call.state.store.one(
        "SELECT * FROM moment_job WHERE jobid = ? AND corp_pk = ?", (jobid, call.the_corp.pk)
    )
    if job is None or job["created_at"] + JOB_TTL <= call.now:  # a jobid is valid for 24 h
        raise ApiError(40058, "invalid jobid")
    if job["finished"]:
        return {"status": 3, "type": "add_moment_task", "result": json.loads(job["result"])}
    status = 1 if call.now < job["created_at"] + 1 else 2  # started, then running
    return {"status": status, "type": "add_moment_task", "result": {}}


@settler
def finish_moment_jobs(state: EmulatorState) -> None:
    due = state.store.all(
        "SELECT * FROM moment_job WHERE finished = 0 AND done_at <= ? ORDER BY done_at, pk",
        (state.clock.timestamp(),),
    )
    for job in due:
        _finish_job(state, job)


def _finish_job(state: EmulatorState, job: sqlite3.Row) -> None:
    store, conn, corp_pk = state.store, state.store.conn, job["corp_pk"]
    request = json.loads(job["request"])
    scope = "AND m.visible = 1" if request["scoped"] else ""
    # senders must be able to have customers (and be in the app's scope when the app asked)
    able = f"m.corp_pk = ? AND m.status = 1 AND m.customer_contact = 1 {scope}"
    senders: dict[int, None] = {}
    invalid_users, invalid_departments = [], []
    for userid in request["users"]:
        row = store.one(f"SELECT m.pk FROM member m WHERE {able} AND m.userid = ?", (corp_pk, userid))  # noqa: S608
        if row is None:
            invalid_users.append(userid)
        else:
            senders[row["pk"]] = None
    for department in request["departments"]:
        if not store.one("SELECT 1 FROM department WHERE corp_pk = ? AND id = ?", (corp_pk, department)):
            invalid_departments.append(department)
            continue
        rows = store.all(
            f"SELECT m.pk FROM member m, json_each(m.departments) d WHERE {able}"  # noqa: S608
            " AND d.value = ? ORDER BY m.pk",
            (corp_pk, department),
        )
        senders.update((r["pk"], None) for r in rows)
    if not request["users"] and not request["departments"]:
        # no senders named: every member in the app's scope who can have customers
        everyone = store.all(f"SELECT m.pk FROM member m WHERE {able} ORDER BY m.pk", (corp_pk,))  # noqa: S608
        senders.update((r["pk"], None) for r in everyone)
    live = live_tags(state, corp_pk)
    tags = [t for t in request["tags"] if t in live]
    moment_id = "mom" + ids.opaque(29)
    cur = conn.execute(
        "INSERT INTO moment (corp_pk, moment_id, creator, create_type, visible_type, body, tag_ids, create_time)"
        " VALUES (?, ?, NULL, 0, ?, ?, ?, ?)",
        (
            corp_pk,
            moment_id,
            0 if tags else 1,
            json.dumps(request["content"], ensure_ascii=False),
            json.dumps(tags),
            job["created_at"],
        ),
    )
    conn.executemany(
        "INSERT INTO moment_task (moment_pk, member_pk) VALUES (?, ?)",
        [(cur.lastrowid, pk) for pk in senders],
    )
    result = {
        "errcode": 0,
        "errmsg": "ok",
        "moment_id": moment_id,
        "invalid_sender_list": {"user_list": invalid_users, "department_list": invalid_departments},
        "invalid_external_contact_list": {"tag_list": [t for t in request["tags"] if t not in live]},
    }
    conn.execute(
        "UPDATE moment_job SET finished = 1, result = ? WHERE pk = ?", (json.dumps(result), job["pk"])
    )


def find_moment(state: EmulatorState, corp_pk: int, moment_id: str | None) -> sqlite3.Row | None:
    return state.store.one("SELECT * FROM moment WHERE corp_pk = ? AND moment_id = ?", (corp_pk, moment_id))


def _moment(call: Call) -> sqlite3.Row:
    moment_id = call.b_str("moment_id", missing=41059)
    row = find_moment(call.state, call.the_corp.pk, moment_id)
    if row is None:
        raise ApiError(41060)
    return row


def _post(call: Call) -> tuple[sqlite3.Row, sqlite3.Row, sqlite3.Row]:
    """(moment, member, the member's task) for the endpoints asking about one sender's post."""
    moment = _moment(call)
    userid = call.b_str("userid", missing=40003)
    assert userid is not None
    member = call.member(userid)
    task = call.state.store.one(
        "SELECT * FROM moment_task WHERE moment_pk = ? AND member_pk = ?", (moment["pk"], member["pk"])
    )
    if task is None:
        raise ApiError(41061)  # not one of this moment's senders
    return moment, member, task


@endpoint(
    "POST",
    "externalcontact/get_moment_list",
    skeleton={"moment_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_moment_list(call: Call) -> dict[str, Any]:
    start = call.b_int("start_time", missing=40058)
    end = call.b_int("end_time", missing=40058)
    assert start is not None
    assert end is not None
    if end < start or end - start > LIST_SPAN:
        raise ApiError(40058, "the time span is at most 30 days")
    filter_type = call.b_int("filter_type")
    filter_type = 2 if filter_type is None else filter_type
    if filter_type not in (0, 1, 2):
        raise ApiError(40058, "invalid filter_type")
    limit = call.b_limit(LIST_DEFAULT, LIST_MAX)
    after = cursors.decode("moment_list", call.b_str("cursor"), 1)
    sql = "SELECT * FROM moment WHERE corp_pk = ? AND create_time BETWEEN ? AND ? AND pk > ?"
    params: list[Any] = [call.the_corp.pk, start, end, after[0] if after else 0]
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
        item: dict[str, Any] = {"moment_id": row["moment_id"]}
        if row["creator"]:
            item["creator"] = row["creator"]
        item.update(
            create_time=row["create_time"], create_type=row["create_type"], visible_type=row["visible_type"]
        )
        item.update(json.loads(row["body"]))
        items.append(item)
    return {
        "moment_list": items,
        "next_cursor": cursors.encode("moment_list", page[-1]["pk"]) if len(rows) > limit else "",
    }


@endpoint(
    "POST",
    "externalcontact/get_moment_task",
    skeleton={"task_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_moment_task(call: Call) -> dict[str, Any]:
    moment = _moment(call)
    if moment["create_type"] != 0:
        raise ApiError(41060, "only corp-created moments have tasks")
    limit = call.b_limit(TASK_DEFAULT, TASK_MAX)
    kind = f"moment_task:{moment['pk']}"
    after = cursors.decode(kind, call.b_str("cursor"), 1)
    rows = call.state.store.all(
        "SELECT t.pk, t.publish_status, m.userid FROM moment_task t JOIN member m ON m.pk = t.member_pk"
        " WHERE t.moment_pk = ? AND t.pk > ? ORDER BY t.pk LIMIT ?",
        (moment["pk"], after[0] if after else 0, limit + 1),
    )
    page = rows[:limit]
    return {
        "task_list": [{"userid": r["userid"], "publish_status": r["publish_status"]} for r in page],
        "next_cursor": cursors.encode(kind, page[-1]["pk"]) if len(rows) > limit else "",
    }


def _audience(
    call: Call, moment: sqlite3.Row, member: sqlite3.Row, limit: int, kind: str
) -> tuple[list[str], str]:
    """The member's customers the moment is visible to (by tag when partially visible), a page."""
    wanted = set(json.loads(moment["tag_ids"]))
    after = cursors.decode(kind, call.b_str("cursor"), 1)
    last, more = after[0] if after else 0, False
    found: list[str] = []
    while True:
        rows = call.state.store.all(
            "SELECT f.pk, f.tag_ids, c.external_userid FROM follow f JOIN customer c ON c.pk = f.customer_pk"
            " WHERE f.member_pk = ? AND f.customer_deleted = 0 AND f.pk > ? ORDER BY f.pk LIMIT ?",
            (member["pk"], last, 1000),
        )
        for row in rows:
            if wanted and not wanted & set(row["tag_ids"].split(",")):
                last = row["pk"]
                continue
            if len(found) == limit:
                more = True
                break
            found.append(row["external_userid"])
            last = row["pk"]
        if more or len(rows) < 1000:
            break
    return found, cursors.encode(kind, last) if more else ""


@endpoint(
    "POST",
    "externalcontact/get_moment_customer_list",
    skeleton={"customer_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_moment_customer_list(call: Call) -> dict[str, Any]:
    moment, member, _ = _post(call)
    limit = call.b_limit(TASK_DEFAULT, TASK_MAX)
    found, next_cursor = _audience(
        call, moment, member, limit, f"moment_customers:{moment['pk']}:{member['pk']}"
    )
    return {
        "customer_list": [{"userid": member["userid"], "external_userid": e} for e in found],
        "next_cursor": next_cursor,
    }


@endpoint(
    "POST",
    "externalcontact/get_moment_send_result",
    skeleton={"customer_list": [], "next_cursor": ""},
    customer_api=True,
)
def get_moment_send_result(call: Call) -> dict[str, Any]:
    moment, member, task = _post(call)
    if not task["publish_status"]:
        raise ApiError(41062)  # nobody sees it before the member publishes
    limit = call.b_limit(SEND_DEFAULT, SEND_MAX)
    found, next_cursor = _audience(call, moment, member, limit, f"moment_sent:{moment['pk']}:{member['pk']}")
    return {"customer_list": [{"external_userid": e} for e in found], "next_cursor": next_cursor}


@endpoint(
    "POST",
    "externalcontact/get_moment_comments",
    skeleton={"comment_list": [], "like_list": []},
    customer_api=True,
)
def get_moment_comments(call: Call) -> dict[str, Any]:
    moment, member, _ = _post(call)
    rows = call.state.store.all(
        "SELECT * FROM moment_interaction WHERE moment_pk = ? AND member_pk = ? ORDER BY pk",
        (moment["pk"], member["pk"]),
    )
    lists: dict[str, list[dict[str, Any]]] = {"comment": [], "like": []}
    for row in rows:
        key = "external_userid" if row["who_type"] == 2 else "userid"
        lists[row["kind"]].append({key: row["who"], "create_time": row["create_time"]})
    return {"comment_list": lists["comment"], "like_list": lists["like"]}


@endpoint("POST", "externalcontact/cancel_moment_task", customer_api=True)
def cancel_moment_task(call: Call) -> dict[str, Any]:
    moment = _moment(call)
    # stops the unpublished parts; what members already published stays
    call.db.execute("UPDATE moment SET cancelled = 1 WHERE pk = ?", (moment["pk"],))
    return {}
