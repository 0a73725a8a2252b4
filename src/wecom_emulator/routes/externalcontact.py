"""§4 customers: follow-user list, list, get (cursor over follow_user), batch/get_by_user, remark.

A relationship is a ``follow`` row. The member deleting the customer removes the row (then 84061);
the customer deleting the member only flags it, and WeCom keeps answering as before."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from wecom_emulator import cursors
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.tags import live_tags

GET_PAGE = 500  # externalcontact/get returns follow_user 500 at a time
BATCH_DEFAULT, BATCH_MAX, BATCH_USERS = 50, 100, 100


def customer_dict(row: sqlite3.Row) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_userid": row["external_userid"],
        "name": row["name"],
        "avatar": row["avatar"],
        "type": row["type"],
        "gender": row["gender"],
    }
    if row["unionid"]:
        body["unionid"] = row["unionid"]
    if row["type"] == 2:  # a WeCom user: their company's details
        body.update(
            position=row["position"] or "",
            corp_name=row["corp_name"] or "",
            corp_full_name=row["corp_full_name"] or "",
            external_profile={"external_attr": []},
        )
    return body


def _follow_common(row: sqlite3.Row, userid: str) -> dict[str, Any]:
    """Fields shared by ``follow_user`` (get) and ``follow_info`` (batch)."""
    body: dict[str, Any] = {
        "userid": userid,
        "remark": row["remark"],
        "description": row["description"],
        "createtime": row["createtime"],
        "remark_corp_name": row["remark_corp_name"],
        "remark_mobiles": json.loads(row["remark_mobiles"]),
        "oper_userid": row["oper_userid"],
        "add_way": row["add_way"],
    }
    if row["state"]:  # only present when a contact way with a state produced the add
        body["state"] = row["state"]
    return body


def _tag_ids(raw: str, live: dict[str, tuple[str, str]]) -> list[str]:
    return [t for t in raw.split(",") if t and t in live]


@endpoint("GET", "externalcontact/get_follow_user_list", skeleton={"follow_user": []}, customer_api=True)
def get_follow_user_list(call: Call) -> dict[str, Any]:
    sql = "SELECT userid FROM member WHERE corp_pk = ? AND customer_contact = 1 AND status IN (1, 5)"
    if call.scoped:
        sql += " AND visible = 1"
    return {
        "follow_user": [r["userid"] for r in call.state.store.all(sql + " ORDER BY pk", (call.the_corp.pk,))]
    }


@endpoint("GET", "externalcontact/list", skeleton={"external_userid": []}, customer_api=True)
def list_customers(call: Call) -> dict[str, Any]:
    userid = call.q_str("userid", missing=40003)
    assert userid is not None
    member = call.member(userid)
    rows = call.db.execute(
        "SELECT c.external_userid FROM follow f JOIN customer c ON c.pk = f.customer_pk"
        " WHERE f.member_pk = ? ORDER BY f.pk",
        (member["pk"],),
    ).fetchall()
    if not rows:
        raise ApiError(84061)  # WeCom answers a member without customers this way, not with []
    return {"external_userid": [r[0] for r in rows]}


def _customer(call: Call, external_userid: str) -> sqlite3.Row:
    row = call.state.store.one(
        "SELECT * FROM customer WHERE corp_pk = ? AND external_userid = ?",
        (call.the_corp.pk, external_userid),
    )
    if row is None:
        raise ApiError(40096)
    return row


_FOLLOW_SQL = (
    "SELECT f.*, m.userid, m.visible FROM follow f JOIN member m ON m.pk = f.member_pk"
    " WHERE f.customer_pk = ? AND f.pk > ? ORDER BY f.pk"
)


@endpoint(
    "GET", "externalcontact/get", skeleton={"external_contact": {}, "follow_user": []}, customer_api=True
)
def get_customer(call: Call) -> dict[str, Any]:
    external_userid = call.q_str("external_userid", missing=41035)
    assert external_userid is not None
    customer = _customer(call, external_userid)
    after = cursors.decode(f"get:{customer['pk']}", call.q_str("cursor"), 1)
    follows = call.db.execute(_FOLLOW_SQL, (customer["pk"], after[0] if after else 0)).fetchall()
    if not follows and after is None:
        raise ApiError(84061)
    visible = [f for f in follows if f["visible"] or not call.scoped]
    if not visible and after is None:
        raise ApiError(60011)
    live = live_tags(call.state, call.the_corp.pk)
    page = visible[:GET_PAGE]
    follow_user = []
    for row in page:
        item = _follow_common(row, row["userid"])
        item["tags"] = [
            {"group_name": live[t][0], "tag_name": live[t][1], "type": 1, "tag_id": t}
            for t in _tag_ids(row["tag_ids"], live)
        ]
        follow_user.append(item)
    body: dict[str, Any] = {"external_contact": customer_dict(customer), "follow_user": follow_user}
    if len(visible) > GET_PAGE:
        body["next_cursor"] = cursors.encode(f"get:{customer['pk']}", page[-1]["pk"])
    return body


@endpoint(
    "POST",
    "externalcontact/batch/get_by_user",
    skeleton={"external_contact_list": [], "next_cursor": ""},
    customer_api=True,
)
def batch_get_by_user(call: Call) -> dict[str, Any]:
    userids = call.b_strs("userid_list", missing=40058, max_items=BATCH_USERS)
    limit = call.b_int("limit")
    # documented: default 50, at most 100 — larger values are clamped, not refused
    limit = BATCH_DEFAULT if limit is None or limit < 1 else min(limit, BATCH_MAX)
    members: list[sqlite3.Row] = []
    for userid in userids:
        try:
            members.append(call.member(userid))
        except ApiError:
            continue  # unknown or out-of-scope members are skipped
    if not members:
        raise ApiError(60011)
    after = cursors.decode("batch", call.b_str("cursor"), 2) or (0, 0)
    live = live_tags(call.state, call.the_corp.pk)
    rows: list[dict[str, Any]] = []
    index, last_pk = after
    while index < len(members) and len(rows) < limit:
        member = members[index]
        found = call.db.execute(
            "SELECT f.*, c.pk AS c_pk, c.external_userid, c.name, c.avatar, c.type, c.gender, c.unionid,"
            " c.position, c.corp_name, c.corp_full_name"
            " FROM follow f JOIN customer c ON c.pk = f.customer_pk"
            " WHERE f.member_pk = ? AND f.pk > ? ORDER BY f.pk LIMIT ?",
            (member["pk"], last_pk, limit - len(rows)),
        ).fetchall()
        for row in found:
            info = _follow_common(row, member["userid"])
            info["tag_id"] = _tag_ids(row["tag_ids"], live)
            rows.append({"external_contact": customer_dict(row), "follow_info": info})
            last_pk = row["pk"]
        if len(rows) < limit:
            index, last_pk = index + 1, 0
    more = index < len(members) and _has_more(call, members, index, last_pk)
    return {
        "external_contact_list": rows,
        "next_cursor": cursors.encode("batch", index, last_pk) if more else "",
    }


def _has_more(call: Call, members: list[sqlite3.Row], index: int, last_pk: int) -> bool:
    """Whether anything follows the position, so the last page says "" instead of a dead cursor."""
    for position in range(index, len(members)):
        floor = last_pk if position == index else 0
        if call.db.execute(
            "SELECT 1 FROM follow WHERE member_pk = ? AND pk > ? LIMIT 1", (members[position]["pk"], floor)
        ).fetchone():
            return True
    return False


@endpoint("POST", "externalcontact/remark", customer_api=True)
def remark(call: Call) -> dict[str, Any]:
    userid = call.b_str("userid", missing=40003)
    external_userid = call.b_str("external_userid", missing=41035)
    assert userid is not None
    assert external_userid is not None
    member = call.member(userid)
    customer = _customer(call, external_userid)
    follow = call.state.store.one(
        "SELECT pk FROM follow WHERE customer_pk = ? AND member_pk = ?", (customer["pk"], member["pk"])
    )
    if follow is None:
        raise ApiError(84061)
    fields = ("remark", "description", "remark_company", "remark_mobiles", "remark_pic_mediaid")
    if not any(name in call.body for name in fields):
        raise ApiError(40063)
    updates: dict[str, Any] = {}
    for name, column, limit in (("remark", "remark", 20), ("description", "description", 150)):
        if name in call.body:
            updates[column] = call.b_str(name, max_len=limit) or ""
    if "remark_company" in call.body:
        company = call.b_str("remark_company", max_len=20) or ""
        if customer["type"] == 1:  # only effective for WeChat-user customers
            updates["remark_corp_name"] = company
    if "remark_mobiles" in call.body:
        mobiles = call.b_strs("remark_mobiles")
        # the list replaces the old one; a single empty string clears it
        updates["remark_mobiles"] = json.dumps([m for m in mobiles if m])
    if updates:
        assignments = ", ".join(f"{column} = ?" for column in updates)
        call.db.execute(f"UPDATE follow SET {assignments} WHERE pk = ?", (*updates.values(), follow["pk"]))  # noqa: S608
    return {}
