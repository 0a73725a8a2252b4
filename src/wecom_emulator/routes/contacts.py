"""§2 departments and members.

Visibility: the self-built app sees members flagged ``visible``; the system secrets (客户联系,
通讯录同步) see the whole corp. Departments are all visible (the app's scope is modelled per member).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from wecom_emulator import cursors
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.state import APP, CONTACT, SYNC


def _department_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "name_en": row["name_en"],
        "department_leader": json.loads(row["leaders"]),
        "parentid": row["parentid"],
        "order": row["ord"],
    }


def _subtree(call: Call, root: int | None) -> list[sqlite3.Row]:
    """The department and its descendants (the whole tree without ``root``), parents first."""
    rows = call.state.store.all("SELECT * FROM department WHERE corp_pk = ? ORDER BY id", (call.the_corp.pk,))
    if root is None:
        return rows
    by_parent: dict[int, list[sqlite3.Row]] = {}
    start = None
    for row in rows:
        by_parent.setdefault(row["parentid"], []).append(row)
        if row["id"] == root:
            start = row
    if start is None:
        raise ApiError(60123)
    found, queue = [], [start]
    while queue:
        row = queue.pop(0)
        found.append(row)
        queue.extend(child for child in by_parent.get(row["id"], []) if child["id"] != row["id"])
    return found


@endpoint("GET", "department/list", skeleton={"department": []})
def department_list(call: Call) -> dict[str, Any]:
    return {"department": [_department_dict(r) for r in _subtree(call, call.q_int("id"))]}


@endpoint("GET", "department/simplelist", skeleton={"department_id": []})
def department_simplelist(call: Call) -> dict[str, Any]:
    rows = _subtree(call, call.q_int("id"))
    return {"department_id": [{"id": r["id"], "parentid": r["parentid"], "order": r["ord"]} for r in rows]}


@endpoint("GET", "department/get", skeleton={"department": {}})
def department_get(call: Call) -> dict[str, Any]:
    dept_id = call.q_int("id", missing=40058)
    row = call.state.store.one(
        "SELECT * FROM department WHERE corp_pk = ? AND id = ?", (call.the_corp.pk, dept_id)
    )
    if row is None:
        raise ApiError(60123)
    return {"department": _department_dict(row)}


def _members_of(call: Call, department_id: int, fetch_child: bool) -> list[sqlite3.Row]:
    dept_ids = {r["id"] for r in _subtree(call, department_id)} if fetch_child else {department_id}
    if not fetch_child and not call.state.store.one(
        "SELECT 1 FROM department WHERE corp_pk = ? AND id = ?", (call.the_corp.pk, department_id)
    ):
        raise ApiError(60123)
    rows = call.state.store.all("SELECT * FROM member WHERE corp_pk = ? ORDER BY pk", (call.the_corp.pk,))
    return [
        r
        for r in rows
        if (r["visible"] or not call.scoped) and dept_ids.intersection(json.loads(r["departments"]))
    ]


def _withholds_sensitive(call: Call) -> bool:
    """Since 2022-06-20 new self-built apps and the basic apps (客户联系) no longer get avatar,
    gender, mobile, email from user/get and the lists (spec §0.2); contact-sync still does."""
    if call.kind == SYNC:
        return False
    if call.kind == CONTACT:
        return True
    return call.kind == APP and not call.the_corp.legacy_sensitive_fields


def member_dict(row: sqlite3.Row, *, sensitive: bool) -> dict[str, Any]:
    departments: list[int] = json.loads(row["departments"])
    body: dict[str, Any] = {
        "userid": row["userid"],
        "name": row["name"],
        "department": departments,
        "order": [0] * len(departments),
        "is_leader_in_dept": [0] * len(departments),
        "main_department": row["main_department"],
        "direct_leader": [],
        "position": row["position"],
        "alias": row["alias"],
        "status": row["status"],
        "enable": 0 if row["status"] == 2 else 1,
        "telephone": "",
        "external_position": "",
        "extattr": {"attrs": []},
        "external_profile": {"external_corp_name": "", "external_attr": []},
    }
    if sensitive:
        avatar = row["avatar"]
        body.update(
            mobile=row["mobile"],
            gender=row["gender"],
            email=row["email"],
            biz_mail="",
            avatar=avatar,
            thumb_avatar=avatar.replace("/0", "/100") if avatar else "",
            qr_code="",
            address="",
        )
    return body


@endpoint("GET", "user/simplelist", skeleton={"userlist": []})
def user_simplelist(call: Call) -> dict[str, Any]:
    department_id = call.q_int("department_id", missing=40058)
    assert department_id is not None
    rows = _members_of(call, department_id, call.query.get("fetch_child") == "1")
    return {
        "userlist": [
            {"userid": r["userid"], "name": r["name"], "department": json.loads(r["departments"])}
            for r in rows
        ]
    }


@endpoint("GET", "user/list", skeleton={"userlist": []})
def user_list(call: Call) -> dict[str, Any]:
    department_id = call.q_int("department_id", missing=40058)
    assert department_id is not None
    rows = _members_of(call, department_id, call.query.get("fetch_child") == "1")
    sensitive = not _withholds_sensitive(call)
    return {"userlist": [member_dict(r, sensitive=sensitive) for r in rows]}


@endpoint("GET", "user/get")
def user_get(call: Call) -> dict[str, Any]:
    userid = call.q_str("userid", missing=40003)
    assert userid is not None
    return member_dict(call.member(userid), sensitive=not _withholds_sensitive(call))


@endpoint("POST", "user/list_id", skeleton={"next_cursor": "", "dept_user": []}, kinds=frozenset({SYNC}))
def user_list_id(call: Call) -> dict[str, Any]:
    """One row per (member, department); contact-sync secret only (48002 otherwise)."""
    limit = call.b_int("limit")
    if limit is None:
        limit = 10000
    if not 1 <= limit <= 10000:
        raise ApiError(40058, "limit must be 1..10000")
    after = cursors.decode("list_id", call.b_str("cursor"), 2) or (0, -1)
    rows = call.state.store.conn.execute(
        "SELECT pk, userid, departments FROM member WHERE corp_pk = ? AND pk >= ? ORDER BY pk",
        (call.the_corp.pk, after[0]),
    )
    page: list[dict[str, Any]] = []
    last: tuple[int, int] | None = None
    more = False
    for row in rows:
        for index, dept in enumerate(json.loads(row["departments"])):
            if (row["pk"], index) <= after:
                continue
            if len(page) == limit:
                more = True
                break
            page.append({"userid": row["userid"], "department": dept})
            last = (row["pk"], index)
        if more:
            break
    next_cursor = cursors.encode("list_id", *last) if more and last else ""
    return {"next_cursor": next_cursor, "dept_user": page}
