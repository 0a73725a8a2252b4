"""§5 corp tags: get_corp_tag_list, add/edit/del_corp_tag, mark_tag.

Deletes are soft (``deleted`` = 1) because WeCom reports ``deleted`` when asked by id. Tags on a
relationship are kept as a comma-separated list and filtered against live tags on read, so deleting
a tag never has to rewrite a million relationships."""

from __future__ import annotations

import sqlite3
from typing import Any

from wecom_emulator import ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.state import APP, CONTACT, EmulatorState

MAX_TAGS = 3000  # per corp, corp and strategy tags together
MAX_NAME = 30
ORDER_MAX = 2**32
# Editing a tag another app created: WeCom refuses it; the spec names no errcode, we use 48002.
NOT_OWNER = 48002


def live_tags(state: EmulatorState, corp_pk: int) -> dict[str, tuple[str, str]]:
    """{tag_id: (group_name, tag_name)} of the corp's live tags, cached until a tag changes."""
    cached = state.tag_cache.get(corp_pk)
    if cached is None:
        rows = state.store.all(
            "SELECT t.tag_id, g.name AS group_name, t.name FROM tag t JOIN tag_group g ON g.pk = t.group_pk"
            " WHERE t.corp_pk = ? AND t.deleted = 0 AND g.deleted = 0",
            (corp_pk,),
        )
        cached = {r["tag_id"]: (r["group_name"], r["name"]) for r in rows}
        state.tag_cache[corp_pk] = cached
    return cached


def creator_of(call: Call) -> str:
    return "contact" if call.kind == CONTACT else "app"


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApiError(40072)
    if len(name) > MAX_NAME:
        raise ApiError(40072)
    return name


def _check_order(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < ORDER_MAX:
        raise ApiError(40058, "invalid order")
    return value


def _group_dict(group: sqlite3.Row, tags: list[sqlite3.Row], with_deleted: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "group_id": group["group_id"],
        "group_name": group["name"],
        "create_time": group["create_time"],
        "order": group["ord"],
    }
    if with_deleted:
        body["deleted"] = bool(group["deleted"])
    items = []
    for tag in sorted(tags, key=lambda t: (-t["ord"], t["pk"])):
        item: dict[str, Any] = {
            "id": tag["tag_id"],
            "name": tag["name"],
            "create_time": tag["create_time"],
            "order": tag["ord"],
        }
        if with_deleted:
            item["deleted"] = bool(tag["deleted"])
        items.append(item)
    body["tag"] = items
    return body


@endpoint("POST", "externalcontact/get_corp_tag_list", skeleton={"tag_group": []}, customer_api=True)
def get_corp_tag_list(call: Call) -> dict[str, Any]:
    corp_pk = call.the_corp.pk
    tag_ids = call.b_strs("tag_id")
    group_ids = call.b_strs("group_id")
    store = call.state.store
    if group_ids:  # when both are given, tag_id is ignored
        marks = ",".join("?" * len(group_ids))
        sql = f"SELECT * FROM tag_group WHERE corp_pk = ? AND group_id IN ({marks})"  # noqa: S608
        groups = store.all(sql, (corp_pk, *group_ids))
        tags = (
            store.all(
                f"SELECT * FROM tag WHERE group_pk IN ({','.join('?' * len(groups))})",  # noqa: S608
                tuple(g["pk"] for g in groups),
            )
            if groups
            else []
        )
        with_deleted = True
    elif tag_ids:
        marks = ",".join("?" * len(tag_ids))
        tags = store.all(f"SELECT * FROM tag WHERE corp_pk = ? AND tag_id IN ({marks})", (corp_pk, *tag_ids))  # noqa: S608
        group_pks = sorted({t["group_pk"] for t in tags})
        groups = (
            store.all(
                f"SELECT * FROM tag_group WHERE pk IN ({','.join('?' * len(group_pks))})",  # noqa: S608
                tuple(group_pks),
            )
            if group_pks
            else []
        )
        with_deleted = True
    else:
        groups = store.all("SELECT * FROM tag_group WHERE corp_pk = ? AND deleted = 0", (corp_pk,))
        tags = store.all("SELECT * FROM tag WHERE corp_pk = ? AND deleted = 0", (corp_pk,))
        with_deleted = False
    by_group: dict[int, list[sqlite3.Row]] = {}
    for tag in tags:
        by_group.setdefault(tag["group_pk"], []).append(tag)
    ordered = sorted(groups, key=lambda g: (-g["ord"], g["pk"]))
    return {"tag_group": [_group_dict(g, by_group.get(g["pk"], []), with_deleted) for g in ordered]}


def add_tags(
    state: EmulatorState,
    corp_pk: int,
    creator: str,
    *,
    group_id: str | None,
    group_name: str | None,
    group_order: int,
    tags: list[tuple[str, int]],
) -> tuple[sqlite3.Row, list[sqlite3.Row], bool]:
    """Create tags (and their group when new). Returns (group, new tags, group created). Shared by
    the API and the admin-console scenario."""
    conn, now = state.store.conn, state.clock.timestamp()
    live = state.store.scalar("SELECT count(*) FROM tag WHERE corp_pk = ? AND deleted = 0", (corp_pk,))
    if live + len({name for name, _ in tags}) > MAX_TAGS:
        raise ApiError(40058, f"a corp has at most {MAX_TAGS} tags")
    group: sqlite3.Row | None
    created_group = False
    if group_id:
        group = state.store.one(
            "SELECT * FROM tag_group WHERE corp_pk = ? AND group_id = ? AND deleted = 0", (corp_pk, group_id)
        )
        if group is None:
            raise ApiError(40068)
    else:
        if not group_name:
            raise ApiError(40058, "group_id or group_name is required")
        group = state.store.one(
            "SELECT * FROM tag_group WHERE corp_pk = ? AND name = ? AND deleted = 0", (corp_pk, group_name)
        )
        if group is None:
            new_id = ids.tag_id(state.rng)
            conn.execute(
                "INSERT INTO tag_group (corp_pk, group_id, name, ord, create_time, creator) VALUES (?, ?, ?, ?, ?, ?)",
                (corp_pk, new_id, group_name, group_order, now, creator),
            )
            group = state.store.one(
                "SELECT * FROM tag_group WHERE corp_pk = ? AND group_id = ?", (corp_pk, new_id)
            )
            assert group is not None
            created_group = True
    existing = {
        r["name"]
        for r in state.store.all("SELECT name FROM tag WHERE group_pk = ? AND deleted = 0", (group["pk"],))
    }
    created: list[sqlite3.Row] = []
    seen: set[str] = set()
    for name, order in tags:
        if name in seen:  # duplicates within one call are created once
            continue
        seen.add(name)
        if name in existing:
            raise ApiError(40071)
        new_id = ids.tag_id(state.rng)
        conn.execute(
            "INSERT INTO tag (corp_pk, tag_id, group_pk, name, ord, create_time, creator) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (corp_pk, new_id, group["pk"], name, order, now, creator),
        )
        row = state.store.one("SELECT * FROM tag WHERE corp_pk = ? AND tag_id = ?", (corp_pk, new_id))
        assert row is not None
        created.append(row)
    state.tag_cache.pop(corp_pk, None)
    return group, created, created_group


@endpoint("POST", "externalcontact/add_corp_tag", skeleton={"tag_group": {}}, customer_api=True)
def add_corp_tag(call: Call) -> dict[str, Any]:
    raw_tags = call.body.get("tag")
    if not isinstance(raw_tags, list) or not raw_tags:
        raise ApiError(40058, "tag is required: empty groups cannot be created")
    tags: list[tuple[str, int]] = []
    for item in raw_tags:
        if not isinstance(item, dict):
            raise ApiError(40058, "invalid tag")
        tags.append((_check_name(item.get("name")), _check_order(item.get("order"))))
    group_id = call.b_str("group_id")
    group_name = None if group_id else _check_name(call.body.get("group_name"))
    group, created, _ = add_tags(
        call.state,
        call.the_corp.pk,
        creator_of(call),
        group_id=group_id,
        group_name=group_name,
        group_order=_check_order(call.body.get("order")),
        tags=tags,
    )
    return {"tag_group": _group_dict(group, created, with_deleted=False)}


def find_tag_or_group(state: EmulatorState, corp_pk: int, some_id: str) -> tuple[str, sqlite3.Row]:
    tag = state.store.one(
        "SELECT * FROM tag WHERE corp_pk = ? AND tag_id = ? AND deleted = 0", (corp_pk, some_id)
    )
    if tag is not None:
        return "tag", tag
    group = state.store.one(
        "SELECT * FROM tag_group WHERE corp_pk = ? AND group_id = ? AND deleted = 0", (corp_pk, some_id)
    )
    if group is not None:
        return "tag_group", group
    raise ApiError(40068)


def _check_owner(call: Call, row: sqlite3.Row) -> None:
    # self-built apps may change only what they created; the 客户联系 secret may change everything
    if call.kind == APP and row["creator"] != "app":
        raise ApiError(NOT_OWNER, "the tag was not created by this app")


def edit_tag(
    state: EmulatorState, corp_pk: int, kind: str, row: sqlite3.Row, name: str | None, order: int | None
) -> None:
    conn = state.store.conn
    table = "tag" if kind == "tag" else "tag_group"
    if name is not None and name != row["name"]:
        if kind == "tag":
            clash = state.store.one(
                "SELECT 1 FROM tag WHERE group_pk = ? AND name = ? AND deleted = 0 AND pk != ?",
                (row["group_pk"], name, row["pk"]),
            )
        else:
            clash = state.store.one(
                "SELECT 1 FROM tag_group WHERE corp_pk = ? AND name = ? AND deleted = 0 AND pk != ?",
                (corp_pk, name, row["pk"]),
            )
        if clash:
            raise ApiError(40071)
        conn.execute(f"UPDATE {table} SET name = ? WHERE pk = ?", (name, row["pk"]))  # noqa: S608
    if order is not None:
        conn.execute(f"UPDATE {table} SET ord = ? WHERE pk = ?", (order, row["pk"]))  # noqa: S608
    state.tag_cache.pop(corp_pk, None)


@endpoint("POST", "externalcontact/edit_corp_tag", customer_api=True)
def edit_corp_tag(call: Call) -> dict[str, Any]:
    some_id = call.b_str("id", missing=40068)
    assert some_id is not None
    kind, row = find_tag_or_group(call.state, call.the_corp.pk, some_id)
    _check_owner(call, row)
    name = _check_name(call.body["name"]) if call.body.get("name") is not None else None
    order = _check_order(call.body["order"]) if call.body.get("order") is not None else None
    edit_tag(call.state, call.the_corp.pk, kind, row, name, order)
    return {}


def delete_tags(
    state: EmulatorState, corp_pk: int, tags: list[sqlite3.Row], groups: list[sqlite3.Row]
) -> list[int]:
    """Soft-delete; a group without live tags goes too. Returns the pks of groups deleted."""
    conn = state.store.conn
    for tag in tags:
        conn.execute("UPDATE tag SET deleted = 1 WHERE pk = ?", (tag["pk"],))
    deleted_groups = []
    for group in groups:
        conn.execute("UPDATE tag_group SET deleted = 1 WHERE pk = ?", (group["pk"],))
        conn.execute("UPDATE tag SET deleted = 1 WHERE group_pk = ?", (group["pk"],))
        deleted_groups.append(group["pk"])
    for group_pk in {t["group_pk"] for t in tags} - set(deleted_groups):
        if not state.store.one("SELECT 1 FROM tag WHERE group_pk = ? AND deleted = 0", (group_pk,)):
            conn.execute("UPDATE tag_group SET deleted = 1 WHERE pk = ?", (group_pk,))
            deleted_groups.append(group_pk)
    state.tag_cache.pop(corp_pk, None)
    return deleted_groups


@endpoint("POST", "externalcontact/del_corp_tag", customer_api=True)
def del_corp_tag(call: Call) -> dict[str, Any]:
    tag_ids, group_ids = call.b_strs("tag_id"), call.b_strs("group_id")
    if not tag_ids and not group_ids:
        raise ApiError(40058, "tag_id and group_id cannot both be empty")
    corp_pk, store = call.the_corp.pk, call.state.store
    tags, groups = [], []
    for tag_id in tag_ids:
        tag = store.one(
            "SELECT * FROM tag WHERE corp_pk = ? AND tag_id = ? AND deleted = 0", (corp_pk, tag_id)
        )
        if tag is None:
            raise ApiError(40068)
        _check_owner(call, tag)
        tags.append(tag)
    for group_id in group_ids:
        group = store.one(
            "SELECT * FROM tag_group WHERE corp_pk = ? AND group_id = ? AND deleted = 0", (corp_pk, group_id)
        )
        if group is None:
            raise ApiError(40068)
        _check_owner(call, group)
        groups.append(group)
    delete_tags(call.state, corp_pk, tags, groups)
    return {}


@endpoint("POST", "externalcontact/mark_tag", customer_api=True)
def mark_tag(call: Call) -> dict[str, Any]:
    userid = call.b_str("userid", missing=40003)
    external_userid = call.b_str("external_userid", missing=41035)
    add, remove = call.b_strs("add_tag"), call.b_strs("remove_tag")
    if not add and not remove:
        raise ApiError(40058, "add_tag and remove_tag cannot both be empty")
    assert userid is not None
    assert external_userid is not None
    member = call.member(userid)
    customer = call.state.store.one(
        "SELECT pk FROM customer WHERE corp_pk = ? AND external_userid = ?",
        (call.the_corp.pk, external_userid),
    )
    if customer is None:
        raise ApiError(40096)
    follow = call.state.store.one(
        "SELECT pk, tag_ids FROM follow WHERE customer_pk = ? AND member_pk = ?",
        (customer["pk"], member["pk"]),
    )
    if follow is None:
        raise ApiError(84061)
    live = live_tags(call.state, call.the_corp.pk)
    if any(t not in live for t in [*add, *remove]):
        raise ApiError(40068)
    current = [t for t in follow["tag_ids"].split(",") if t and t in live]
    current = [t for t in current if t not in set(remove)]
    current += [t for t in dict.fromkeys(add) if t not in current]
    call.db.execute("UPDATE follow SET tag_ids = ? WHERE pk = ?", (",".join(current), follow["pk"]))
    return {}
