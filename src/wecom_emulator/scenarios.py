"""What people do in WeCom, and the callback WeCom sends for it (spec §13.5).

Each function changes the state as the action would and enqueues the encrypted event for the
corp's callback URL (nothing is queued when the corp has none). Changes made through ``/cgi-bin``
never come here: API-made changes send no callbacks."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from wecom_emulator import ids
from wecom_emulator.callbacks import Delivery, FieldValue
from wecom_emulator.callbacks import emit as _emit
from wecom_emulator.routes.groupmsg import find_msg, receive_cap, received
from wecom_emulator.routes.moments import find_moment
from wecom_emulator.routes.tags import add_tags, delete_tags, edit_tag, find_tag_or_group, live_tags
from wecom_emulator.state import Corp, EmulatorState

MAX_STATE = 30  # a contact way's state is at most 30 characters


class ScenarioError(Exception):
    """The action makes no sense in this state (unknown member, no relationship ...)."""


@dataclass
class Outcome:
    """What a scenario did: ids it created and the delivery it queued (None: no callback URL)."""

    data: dict[str, Any]
    deliveries: list[Delivery]

    def as_json(self) -> dict[str, Any]:
        return {**self.data, "deliveries": [d.id for d in self.deliveries]}


def _corp(state: EmulatorState, corp_id: str) -> Corp:
    """The corp, after settling what the clock reached (every scenario starts here)."""
    corp = state.find_corp(corp_id)
    if corp is None:
        raise ScenarioError(f"unknown corp {corp_id}")
    state.settle()
    return corp


def _log(state: EmulatorState, corp: Corp, member_pk: int, kind: str) -> None:
    """Remember what happened when, for the statistics (§12)."""
    state.store.conn.execute(
        "INSERT INTO activity (corp_pk, member_pk, kind, at) VALUES (?, ?, ?, ?)",
        (corp.pk, member_pk, kind, state.clock.timestamp()),
    )


def _member(state: EmulatorState, corp: Corp, userid: str) -> sqlite3.Row:
    row = state.store.one("SELECT * FROM member WHERE corp_pk = ? AND userid = ?", (corp.pk, userid))
    if row is None:
        raise ScenarioError(f"unknown member {userid}")
    return row


def _customer(state: EmulatorState, corp: Corp, external_userid: str) -> sqlite3.Row:
    row = state.store.one(
        "SELECT * FROM customer WHERE corp_pk = ? AND external_userid = ?", (corp.pk, external_userid)
    )
    if row is None:
        raise ScenarioError(f"unknown customer {external_userid}")
    return row


# -- customers and members (change_external_contact) ------------------------------------------------


def customer_adds_member(
    state: EmulatorState,
    corp_id: str,
    userid: str,
    *,
    external_userid: str | None = None,
    name: str = "微信用户",
    gender: int = 0,
    contact_way_state: str | None = None,
    add_way: int = 1,
    half: bool = False,
    welcome_code: bool = True,
) -> Outcome:
    """A customer scans a member's QR code (or a contact way's, with its ``state``) and adds them.

    A new customer is created unless ``external_userid`` names a known one. ``half`` sends
    ``add_half_external_contact`` (skip-verify, before the member confirmed). The event carries a
    WelcomeCode valid 20 s, single use, unless ``welcome_code`` is False (the admin configured a
    welcome message, or the two already chatted)."""
    if contact_way_state is not None and len(contact_way_state) > MAX_STATE:
        raise ScenarioError("state is at most 30 characters")
    corp = _corp(state, corp_id)
    now = state.clock.timestamp()
    with state.store.transaction() as conn:
        member = _member(state, corp, userid)
        if external_userid is None:
            external_userid = ids.external_userid(state.rng)
            conn.execute(
                "INSERT INTO customer (corp_pk, external_userid, name, avatar, type, gender) VALUES (?, ?, ?, ?, 1, ?)",
                (
                    corp.pk,
                    external_userid,
                    name,
                    f"http://wx.qlogo.cn/mmhead/{ids.opaque(40, state.rng)}/0",
                    gender,
                ),
            )
        customer = _customer(state, corp, external_userid)
        existing = state.store.one(
            "SELECT pk FROM follow WHERE customer_pk = ? AND member_pk = ?", (customer["pk"], member["pk"])
        )
        if existing is not None:
            # adding again after the customer deleted the member: the relationship is whole again
            conn.execute(
                "UPDATE follow SET customer_deleted = 0, createtime = ?, add_way = ?, state = ?, oper_userid = ?"
                " WHERE pk = ?",
                (now, add_way, contact_way_state, external_userid, existing["pk"]),
            )
        else:
            conn.execute(
                "INSERT INTO follow (corp_pk, customer_pk, member_pk, createtime, add_way, oper_userid, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (corp.pk, customer["pk"], member["pk"], now, add_way, external_userid, contact_way_state),
            )
        code = None
        if welcome_code:
            code = ids.opaque(43, state.rng)
            conn.execute(
                "INSERT INTO welcome_code (code, corp_pk, userid, external_userid, expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    code,
                    corp.pk,
                    member["userid"],
                    external_userid,
                    state.clock.now() + state.settings.welcome_code_ttl,
                ),
            )
    fields: list[tuple[str, FieldValue]] = [("UserID", member["userid"]), ("ExternalUserID", external_userid)]
    if contact_way_state:
        fields.append(("State", contact_way_state))
    if code:
        fields.append(("WelcomeCode", code))
    change = "add_half_external_contact" if half else "add_external_contact"
    sent = _emit(state, corp, "change_external_contact", change, fields)
    return Outcome({"external_userid": external_userid, "welcome_code": code}, sent)


def customer_deletes_member(state: EmulatorState, corp_id: str, userid: str, external_userid: str) -> Outcome:
    """The customer deletes the member; the one-way relationship stays readable (del_follow_user)."""
    corp = _corp(state, corp_id)
    with state.store.transaction() as conn:
        member, customer = _member(state, corp, userid), _customer(state, corp, external_userid)
        changed = conn.execute(
            "UPDATE follow SET customer_deleted = 1 WHERE customer_pk = ? AND member_pk = ?",
            (customer["pk"], member["pk"]),
        ).rowcount
        if not changed:
            raise ScenarioError("no relationship between them")
        _log(state, corp, member["pk"], "customer_deleted")
    fields: list[tuple[str, FieldValue]] = [("UserID", member["userid"]), ("ExternalUserID", external_userid)]
    return Outcome({}, _emit(state, corp, "change_external_contact", "del_follow_user", fields))


def member_deletes_customer(state: EmulatorState, corp_id: str, userid: str, external_userid: str) -> Outcome:
    """The member deletes the customer: the relationship is gone (then 84061)."""
    corp = _corp(state, corp_id)
    with state.store.transaction() as conn:
        member, customer = _member(state, corp, userid), _customer(state, corp, external_userid)
        changed = conn.execute(
            "DELETE FROM follow WHERE customer_pk = ? AND member_pk = ?", (customer["pk"], member["pk"])
        ).rowcount
        if not changed:
            raise ScenarioError("no relationship between them")
        _log(state, corp, member["pk"], "member_deleted")
    fields: list[tuple[str, FieldValue]] = [("UserID", member["userid"]), ("ExternalUserID", external_userid)]
    return Outcome({}, _emit(state, corp, "change_external_contact", "del_external_contact", fields))


# -- tags in the admin console (change_external_tag) ------------------------------------------------


def admin_creates_tags(
    state: EmulatorState, corp_id: str, group_name: str, tag_names: list[str], *, group_order: int = 0
) -> Outcome:
    """An admin creates tags (and their group when new) in the console."""
    corp = _corp(state, corp_id)
    if not tag_names:
        raise ScenarioError("at least one tag")
    with state.store.transaction():
        group, created, new_group = add_tags(
            state,
            corp.pk,
            "admin",
            group_id=None,
            group_name=group_name,
            group_order=group_order,
            tags=[(n, 0) for n in tag_names],
        )
    sent: list[Delivery] = []
    if new_group:
        sent += _emit(
            state,
            corp,
            "change_external_tag",
            "create",
            [("Id", group["group_id"]), ("TagType", "tag_group")],
        )
    for tag in created:
        sent += _emit(
            state, corp, "change_external_tag", "create", [("Id", tag["tag_id"]), ("TagType", "tag")]
        )
    return Outcome({"group_id": group["group_id"], "tag_ids": [t["tag_id"] for t in created]}, sent)


def admin_edits_tag(
    state: EmulatorState,
    corp_id: str,
    tag_or_group_id: str,
    *,
    name: str | None = None,
    order: int | None = None,
) -> Outcome:
    corp = _corp(state, corp_id)
    with state.store.transaction():
        kind, row = find_tag_or_group(state, corp.pk, tag_or_group_id)
        edit_tag(state, corp.pk, kind, row, name, order)
    return Outcome(
        {}, _emit(state, corp, "change_external_tag", "update", [("Id", tag_or_group_id), ("TagType", kind)])
    )


def admin_deletes_tag(state: EmulatorState, corp_id: str, tag_or_group_id: str) -> Outcome:
    """Deleting a group deletes its tags; deleting a group's last tag deletes the group."""
    corp = _corp(state, corp_id)
    with state.store.transaction():
        kind, row = find_tag_or_group(state, corp.pk, tag_or_group_id)
        tags, groups = ([row], []) if kind == "tag" else ([], [row])
        gone_groups = delete_tags(state, corp.pk, tags, groups)
        gone_group_ids = [
            state.store.scalar("SELECT group_id FROM tag_group WHERE pk = ?", (pk,)) for pk in gone_groups
        ]
    sent = _emit(state, corp, "change_external_tag", "delete", [("Id", tag_or_group_id), ("TagType", kind)])
    for group_id in gone_group_ids:
        if group_id != tag_or_group_id:
            sent += _emit(
                state, corp, "change_external_tag", "delete", [("Id", group_id), ("TagType", "tag_group")]
            )
    return Outcome({}, sent)


# -- customer groups (change_external_chat) -----------------------------------------------------------


def _chat(state: EmulatorState, corp: Corp, chat_id: str) -> sqlite3.Row:
    row = state.store.one("SELECT * FROM groupchat WHERE corp_pk = ? AND chat_id = ?", (corp.pk, chat_id))
    if row is None:
        raise ScenarioError(f"unknown group chat {chat_id}")
    return row


def customer_joins_group(
    state: EmulatorState,
    corp_id: str,
    chat_id: str,
    *,
    external_userid: str | None = None,
    join_scene: int = 3,
    invitor: str | None = None,
    join_way_state: str | None = None,
    name: str | None = None,
    group_nickname: str = "",
) -> Outcome:
    """A customer joins (3 = scanned the group QR; 1/2 = invited directly / by link by ``invitor``).
    An unknown person gets a fresh external_userid and ``name`` as their WeChat name (default 微信用户);
    ``group_nickname`` is the name they set in this group (群昵称)."""
    corp = _corp(state, corp_id)
    external_userid = external_userid or ids.external_userid(state.rng)
    with state.store.transaction() as conn:
        chat = _chat(state, corp, chat_id)
        if state.store.one(
            "SELECT 1 FROM groupchat_member WHERE chat_pk = ? AND userid = ?", (chat["pk"], external_userid)
        ):
            raise ScenarioError("already a member of the group")
        customer = state.store.one(
            "SELECT name, unionid FROM customer WHERE corp_pk = ? AND external_userid = ?",
            (corp.pk, external_userid),
        )
        conn.execute(
            "INSERT INTO groupchat_member (chat_pk, userid, type, unionid, join_time, join_scene, invitor, name,"
            " group_nickname, state) VALUES (?, ?, 2, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat["pk"],
                external_userid,
                customer["unionid"] if customer else None,
                state.clock.timestamp(),
                join_scene,
                invitor,
                customer["name"] if customer else (name or "微信用户"),
                group_nickname,
                join_way_state,
            ),
        )
        last, current = chat["member_version"], ids.version(state.rng)
        conn.execute("UPDATE groupchat SET member_version = ? WHERE pk = ?", (current, chat["pk"]))
    # JoinScene on the event: 0 invited by a member (directly or by link), 3 scanned the QR code
    fields: list[tuple[str, FieldValue]] = [
        ("ChatId", chat_id),
        ("UpdateDetail", "add_member"),
        ("JoinScene", 3 if join_scene == 3 else 0),
        ("MemChangeCnt", 1),
        ("MemChangeList", [external_userid]),
        ("LastMemVer", last),
        ("CurMemVer", current),
    ]
    sent = _emit(state, corp, "change_external_chat", "update", fields)
    return Outcome({"external_userid": external_userid, "member_version": current}, sent)


def customer_quits_group(
    state: EmulatorState, corp_id: str, chat_id: str, external_userid: str, *, quit_scene: int = 0
) -> Outcome:
    """A customer leaves (0) or is removed by the owner/an admin (1)."""
    corp = _corp(state, corp_id)
    with state.store.transaction() as conn:
        chat = _chat(state, corp, chat_id)
        removed = conn.execute(
            "DELETE FROM groupchat_member WHERE chat_pk = ? AND userid = ?", (chat["pk"], external_userid)
        ).rowcount
        if not removed:
            raise ScenarioError("not a member of the group")
        last, current = chat["member_version"], ids.version(state.rng)
        conn.execute("UPDATE groupchat SET member_version = ? WHERE pk = ?", (current, chat["pk"]))
    fields: list[tuple[str, FieldValue]] = [
        ("ChatId", chat_id),
        ("UpdateDetail", "del_member"),
        ("QuitScene", quit_scene),
        ("MemChangeCnt", 1),
        ("MemChangeList", [external_userid]),
        ("LastMemVer", last),
        ("CurMemVer", current),
    ]
    sent = _emit(state, corp, "change_external_chat", "update", fields)
    return Outcome({"member_version": current}, sent)


def member_edits_customer(
    state: EmulatorState,
    corp_id: str,
    userid: str,
    external_userid: str,
    *,
    remark: str | None = None,
    description: str | None = None,
    add_tags: list[str] | None = None,
    remove_tags: list[str] | None = None,
) -> Outcome:
    """The member edits the customer's remark, description or corp tags in the client
    (``edit_external_contact``; the same edits through the API send nothing)."""
    corp = _corp(state, corp_id)
    with state.store.transaction() as conn:
        member, customer = _member(state, corp, userid), _customer(state, corp, external_userid)
        follow = state.store.one(
            "SELECT pk, tag_ids FROM follow WHERE customer_pk = ? AND member_pk = ?",
            (customer["pk"], member["pk"]),
        )
        if follow is None:
            raise ScenarioError("no relationship between them")
        live = live_tags(state, corp.pk)
        if any(t not in live for t in [*(add_tags or []), *(remove_tags or [])]):
            raise ScenarioError("unknown tag")
        tags = [t for t in follow["tag_ids"].split(",") if t in live and t not in set(remove_tags or [])]
        tags += [t for t in dict.fromkeys(add_tags or []) if t not in tags]
        conn.execute(
            "UPDATE follow SET remark = coalesce(?, remark), description = coalesce(?, description), tag_ids = ?"
            " WHERE pk = ?",
            (remark, description, ",".join(tags), follow["pk"]),
        )
    fields: list[tuple[str, FieldValue]] = [("UserID", member["userid"]), ("ExternalUserID", external_userid)]
    return Outcome({}, _emit(state, corp, "change_external_contact", "edit_external_contact", fields))


# -- contact ways and join ways (§6) ------------------------------------------------------------------


def _way_members(state: EmulatorState, corp: Corp, way: sqlite3.Row) -> list[str]:
    """Who a contact way can add: its users and the members of its departments who can have customers."""
    userids = {u.lower() for u in json.loads(way["users"])}
    rows = state.store.all(
        "SELECT userid, departments FROM member WHERE corp_pk = ? AND status = 1 AND customer_contact = 1"
        " ORDER BY pk",
        (corp.pk,),
    )
    parties = set(json.loads(way["parties"]))
    return [
        r["userid"]
        for r in rows
        if r["userid"].lower() in userids or parties.intersection(json.loads(r["departments"]))
    ]


def customer_scans_contact_way(
    state: EmulatorState,
    corp_id: str,
    config_id: str,
    *,
    userid: str | None = None,
    external_userid: str | None = None,
    name: str = "微信用户",
    gender: int = 0,
    welcome_code: bool = True,
) -> Outcome:
    """A customer scans a 「联系我」 QR code (or taps its mini-program button) and adds one of its
    members (``userid``, or one picked at random). The relationship gets add_way 1, the config's
    state and oper_userid = the customer.

    The event follows the spec (§13.5, §16.6): with ``skip_verify`` on (the default) the customer is
    added at once, before the member confirmed, which is ``add_half_external_contact``; with it off
    the member accepts the request, which is ``add_external_contact``. Either carries a fresh
    WelcomeCode (20 s, single use). A temporary config works once and until it expires."""
    corp = _corp(state, corp_id)
    way = state.store.one(
        "SELECT * FROM contact_way WHERE corp_pk = ? AND config_id = ? AND deleted = 0", (corp.pk, config_id)
    )
    if way is None:
        raise ScenarioError(f"unknown contact way {config_id}")
    if way["is_temp"]:
        if way["used"]:
            raise ScenarioError("a temporary QR code works once")
        if way["created_at"] + (way["expires_in"] or 0) <= state.clock.timestamp():
            raise ScenarioError("the temporary QR code has expired")
    members = _way_members(state, corp, way)
    if userid is not None:
        chosen = next((m for m in members if m.lower() == userid.lower()), None)
        if chosen is None:
            raise ScenarioError(f"{userid} is not a member of this contact way")
    elif members:
        chosen = state.rng.choice(members)
    else:
        raise ScenarioError("the contact way has no member who can add customers")
    if way["is_temp"]:
        state.store.conn.execute("UPDATE contact_way SET used = 1 WHERE pk = ?", (way["pk"],))
    outcome = customer_adds_member(
        state,
        corp_id,
        chosen,
        external_userid=external_userid,
        name=name,
        gender=gender,
        contact_way_state=way["state"] or None,
        add_way=1,
        half=bool(way["skip_verify"]),
        welcome_code=welcome_code,
    )
    outcome.data["userid"] = chosen
    return outcome


def customer_scans_join_way(
    state: EmulatorState, corp_id: str, config_id: str, *, external_userid: str | None = None
) -> Outcome:
    """A customer scans a 「加入群聊」 QR code and joins the first of its groups that is not full
    (``Settings.group_member_cap``). When all are full and ``auto_create_room`` is on, the owner of
    the first group gets a new group named ``room_base_name`` + number (which joins the config)."""
    corp = _corp(state, corp_id)
    way = state.store.one(
        "SELECT * FROM join_way WHERE corp_pk = ? AND config_id = ? AND deleted = 0", (corp.pk, config_id)
    )
    if way is None:
        raise ScenarioError(f"unknown join way {config_id}")
    chat_ids: list[str] = json.loads(way["chat_ids"])
    target, owner = None, None
    for chat_id in chat_ids:
        chat = state.store.one(
            "SELECT g.pk, m.userid AS owner FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
            " WHERE g.corp_pk = ? AND g.chat_id = ?",
            (corp.pk, chat_id),
        )
        if chat is None:
            continue
        owner = owner or chat["owner"]
        size = state.store.scalar("SELECT count(*) FROM groupchat_member WHERE chat_pk = ?", (chat["pk"],))
        if size < state.settings.group_member_cap:
            target = chat_id
            break
    sent: list[Delivery] = []
    if target is None:
        if not way["auto_create_room"] or owner is None:
            raise ScenarioError("every group of the join way is full")
        number = way["room_base_id"] + way["rooms_made"]
        made = member_creates_group(state, corp_id, owner, name=f"{way['room_base_name']}{number}")
        target = str(made.data["chat_id"])
        sent += made.deliveries
        state.store.conn.execute(
            "UPDATE join_way SET rooms_made = rooms_made + 1, chat_ids = ? WHERE pk = ?",
            (json.dumps([*chat_ids, target]), way["pk"]),
        )
    joined = customer_joins_group(
        state,
        corp_id,
        target,
        external_userid=external_userid,
        join_scene=3,
        join_way_state=way["state"] or None,
    )
    return Outcome({**joined.data, "chat_id": target}, sent + joined.deliveries)


def member_creates_group(
    state: EmulatorState, corp_id: str, userid: str, *, name: str = "", chat_id: str | None = None
) -> Outcome:
    """A member creates a customer group in the client (``change_external_chat`` / ``create``)."""
    corp = _corp(state, corp_id)
    now = state.clock.timestamp()
    chat_id = chat_id or ids.chat_id(state.rng)
    with state.store.transaction() as conn:
        member = _member(state, corp, userid)
        if state.store.one("SELECT 1 FROM groupchat WHERE corp_pk = ? AND chat_id = ?", (corp.pk, chat_id)):
            raise ScenarioError(f"group chat {chat_id} exists")
        cur = conn.execute(
            "INSERT INTO groupchat (corp_pk, chat_id, name, owner_pk, create_time, member_version)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (corp.pk, chat_id, name, member["pk"], now, ids.version(state.rng)),
        )
        conn.execute(
            "INSERT INTO groupchat_member (chat_pk, userid, type, join_time, join_scene, name)"
            " VALUES (?, ?, 1, ?, 1, ?)",
            (cur.lastrowid, member["userid"], now, member["name"]),
        )
    return Outcome(
        {"chat_id": chat_id}, _emit(state, corp, "change_external_chat", "create", [("ChatId", chat_id)])
    )


def member_dismisses_group(state: EmulatorState, corp_id: str, chat_id: str) -> Outcome:
    """The owner dissolves the group (``dismiss``); groupchat/get then answers 86003."""
    corp = _corp(state, corp_id)
    with state.store.transaction() as conn:
        chat = _chat(state, corp, chat_id)
        conn.execute("DELETE FROM groupchat_member WHERE chat_pk = ?", (chat["pk"],))
        conn.execute("DELETE FROM opengid WHERE chat_pk = ?", (chat["pk"],))
        conn.execute("DELETE FROM groupchat WHERE pk = ?", (chat["pk"],))
    return Outcome({}, _emit(state, corp, "change_external_chat", "dismiss", [("ChatId", chat_id)]))


# -- mass messages (§8) -------------------------------------------------------------------------------


def member_confirms_mass_message(
    state: EmulatorState,
    corp_id: str,
    msgid: str,
    userid: str,
    *,
    external_userids: list[str] | None = None,
    chat_ids: list[str] | None = None,
) -> Outcome:
    """The member confirms a mass-message task in the client, and WeCom sends it. Each of the
    member's recipients gets a status: 1 sent; 2 not a friend any more (single) or the group is
    gone; 3 over the receive cap of the period (``Settings.mass_cap_period`` / ``mass_cap_count``);
    recipients the member deselected (``external_userids``, when the message has allow_select) stay
    0. Group messages without a chat_id_list go to the groups the owner picks (``chat_ids``,
    default all theirs). WeCom sends no callback for this."""
    corp = _corp(state, corp_id)
    msg = find_msg(state, corp.pk, msgid)
    if msg is None:
        raise ScenarioError(f"unknown mass message {msgid}")
    if msg["cancelled"]:
        raise ScenarioError("the mass message was cancelled")
    if external_userids is not None and not msg["allow_select"]:
        raise ScenarioError("the message does not let members select recipients")
    now = state.clock.timestamp()
    since, cap = receive_cap(state.settings, now)
    counts = dict.fromkeys(range(4), 0)
    with state.store.transaction() as conn:
        member = _member(state, corp, userid)
        task = state.store.one(
            "SELECT * FROM groupmsg_task WHERE msg_pk = ? AND member_pk = ?", (msg["pk"], member["pk"])
        )
        if task is None:
            raise ScenarioError(f"{userid} has no task in this message")
        if task["status"] == 2:
            raise ScenarioError("the member already sent it")
        group = msg["chat_type"] == "group"
        if group and msg["chat_ids"] is None:
            owned = [
                r["chat_id"]
                for r in state.store.all("SELECT chat_id FROM groupchat WHERE owner_pk = ?", (member["pk"],))
            ]
            picked = owned if chat_ids is None else [c for c in chat_ids if c in owned]
            conn.executemany(
                "INSERT INTO groupmsg_send (msg_pk, member_pk, target) VALUES (?, ?, ?)",
                [(msg["pk"], member["pk"], c) for c in dict.fromkeys(picked)],
            )
        keep = None if external_userids is None or group else set(external_userids)
        rows = state.store.all(
            "SELECT pk, target FROM groupmsg_send WHERE msg_pk = ? AND member_pk = ? AND status = 0 ORDER BY pk",
            (msg["pk"], member["pk"]),
        )
        for row in rows:
            if keep is not None and row["target"] not in keep:
                counts[0] += 1
                continue
            if group:
                reachable = state.store.one(
                    "SELECT 1 FROM groupchat WHERE corp_pk = ? AND chat_id = ?", (corp.pk, row["target"])
                )
            else:
                reachable = state.store.one(
                    "SELECT 1 FROM follow f JOIN customer c ON c.pk = f.customer_pk WHERE c.corp_pk = ?"
                    " AND c.external_userid = ? AND f.member_pk = ? AND f.customer_deleted = 0",
                    (corp.pk, row["target"], member["pk"]),
                )
            if not reachable:
                status = 2
            elif received(state, row["target"], since) >= cap:
                status = 3
            else:
                status = 1
            conn.execute(
                "UPDATE groupmsg_send SET status = ?, send_time = ? WHERE pk = ?",
                (status, now if status == 1 else None, row["pk"]),
            )
            counts[status] += 1
        conn.execute("UPDATE groupmsg_task SET status = 2, send_time = ? WHERE pk = ?", (now, task["pk"]))
    return Outcome({"status_counts": {str(k): v for k, v in counts.items()}}, [])


# -- transfers and resignation (§10) ------------------------------------------------------------------


def customer_refuses_transfer(state: EmulatorState, corp_id: str, external_userid: str) -> Outcome:
    """During the 24 h wait the customer refuses the on-job transfer. Nothing is sent now; when the
    wait is over the transfer ends with status 3 and a ``transfer_fail`` (customer_refused) event."""
    corp = _corp(state, corp_id)
    customer = _customer(state, corp, external_userid)
    changed = state.store.conn.execute(
        "UPDATE transfer SET refused = 1 WHERE customer_pk = ? AND status = 2 AND kind = 'onjob'",
        (customer["pk"],),
    ).rowcount
    if not changed:
        raise ScenarioError("no on-job transfer of this customer is waiting")
    return Outcome({}, [])


def member_resigns(state: EmulatorState, corp_id: str, userid: str) -> Outcome:
    """The member leaves and the admin deletes them (``change_contact`` / ``delete_user``). Their
    customers appear in get_unassigned_list and their groups wait for inheritance (status 1)."""
    corp = _corp(state, corp_id)
    now = state.clock.timestamp()
    with state.store.transaction() as conn:
        member = _member(state, corp, userid)
        if member["status"] == 5:
            raise ScenarioError(f"{userid} has already resigned")
        conn.execute("UPDATE member SET status = 5 WHERE pk = ?", (member["pk"],))
        conn.execute(
            "INSERT OR REPLACE INTO resignation (member_pk, dimission_time) VALUES (?, ?)",
            (member["pk"], now),
        )
        groups = conn.execute(
            "UPDATE groupchat SET status = 1 WHERE owner_pk = ? AND status = 0", (member["pk"],)
        ).rowcount
        customers = state.store.scalar("SELECT count(*) FROM follow WHERE member_pk = ?", (member["pk"],))
    sent = _emit(state, corp, "change_contact", "delete_user", [("UserID", member["userid"])])
    return Outcome({"customers": customers, "groups": groups}, sent)


# -- members in the admin console (change_contact) ----------------------------------------------------


def _user_fields(corp: Corp, values: dict[str, Any]) -> list[tuple[str, FieldValue]]:
    """change_contact fields for the given member values; the sensitive ones (mobile, gender,
    email, avatar) only for apps that still get them (spec §0.2)."""
    fields: list[tuple[str, FieldValue]] = []
    names = {
        "name": "Name",
        "departments": "Department",
        "main_department": "MainDepartment",
        "position": "Position",
        "status": "Status",
        "alias": "Alias",
    }
    sensitive = {"mobile": "Mobile", "gender": "Gender", "email": "Email", "avatar": "Avatar"}
    for key, value in values.items():
        if key == "departments":
            fields.append(("Department", ",".join(map(str, value))))
            fields.append(("IsLeaderInDept", ",".join("0" for _ in value)))
        elif key in names:
            fields.append((names[key], value))
        elif key in sensitive and corp.legacy_sensitive_fields:
            fields.append((sensitive[key], value))
    return fields


def admin_creates_member(
    state: EmulatorState,
    corp_id: str,
    userid: str,
    name: str,
    *,
    department: list[int] | None = None,
    position: str = "",
    mobile: str = "",
    gender: str = "0",
    email: str = "",
    alias: str = "",
    visible: bool = True,
    customer_contact: bool = True,
) -> Outcome:
    """An admin adds a member in the console (``change_contact`` / ``create_user``)."""
    corp = _corp(state, corp_id)
    departments = department or [1]
    with state.store.transaction() as conn:
        if state.store.one("SELECT 1 FROM member WHERE corp_pk = ? AND userid = ?", (corp.pk, userid)):
            raise ScenarioError(f"{userid} exists")
        for dept in departments:
            if not state.store.one("SELECT 1 FROM department WHERE corp_pk = ? AND id = ?", (corp.pk, dept)):
                raise ScenarioError(f"unknown department {dept}")
        conn.execute(
            "INSERT INTO member (corp_pk, userid, name, departments, main_department, position, mobile, gender,"
            " email, alias, status, visible, customer_contact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (
                corp.pk,
                userid,
                name,
                json.dumps(departments),
                departments[0],
                position,
                mobile,
                gender,
                email,
                alias,
                int(visible),
                int(customer_contact),
            ),
        )
    values: dict[str, Any] = {
        "name": name,
        "departments": departments,
        "main_department": departments[0],
        "position": position,
        "mobile": mobile,
        "gender": gender,
        "email": email,
        "status": 1,
        "alias": alias,
    }
    sent = _emit(
        state, corp, "change_contact", "create_user", [("UserID", userid), *_user_fields(corp, values)]
    )
    return Outcome({"userid": userid}, sent)


def admin_updates_member(
    state: EmulatorState,
    corp_id: str,
    userid: str,
    *,
    new_userid: str | None = None,
    name: str | None = None,
    department: list[int] | None = None,
    position: str | None = None,
    mobile: str | None = None,
    email: str | None = None,
    alias: str | None = None,
) -> Outcome:
    """An admin edits a member (``update_user`` with only the changed fields, and NewUserID when
    the userid changed)."""
    corp = _corp(state, corp_id)
    given = {"name": name, "position": position, "mobile": mobile, "email": email, "alias": alias}
    with state.store.transaction() as conn:
        member = _member(state, corp, userid)
        changed: dict[str, Any] = {k: v for k, v in given.items() if v is not None and v != member[k]}
        if department is not None and department != json.loads(member["departments"]):
            changed["departments"] = department
            changed["main_department"] = department[0]
        columns = {k: (json.dumps(v) if k == "departments" else v) for k, v in changed.items()}
        if new_userid is not None and new_userid != member["userid"]:
            if state.store.one(
                "SELECT 1 FROM member WHERE corp_pk = ? AND userid = ?", (corp.pk, new_userid)
            ):
                raise ScenarioError(f"{new_userid} exists")
            columns["userid"] = new_userid
        if not columns:
            raise ScenarioError("nothing changes")
        assignments = ", ".join(f"{column} = ?" for column in columns)
        conn.execute(f"UPDATE member SET {assignments} WHERE pk = ?", (*columns.values(), member["pk"]))  # noqa: S608
    fields: list[tuple[str, FieldValue]] = [("UserID", member["userid"])]
    if "userid" in columns:
        fields.append(("NewUserID", columns["userid"]))
    fields += _user_fields(corp, changed)
    return Outcome({}, _emit(state, corp, "change_contact", "update_user", fields))


# -- moments (§11) ------------------------------------------------------------------------------------


def _moment_task(
    state: EmulatorState, corp: Corp, moment_id: str, userid: str
) -> tuple[sqlite3.Row, sqlite3.Row, sqlite3.Row]:
    moment = find_moment(state, corp.pk, moment_id)
    if moment is None:
        raise ScenarioError(f"unknown moment {moment_id}")
    member = _member(state, corp, userid)
    task = state.store.one(
        "SELECT * FROM moment_task WHERE moment_pk = ? AND member_pk = ?", (moment["pk"], member["pk"])
    )
    if task is None:
        raise ScenarioError(f"{userid} is not a sender of this moment")
    return moment, member, task


def member_publishes_moment(state: EmulatorState, corp_id: str, moment_id: str, userid: str) -> Outcome:
    """The member publishes their part of a corp moment task in the client (no callback)."""
    corp = _corp(state, corp_id)
    moment, _, task = _moment_task(state, corp, moment_id, userid)
    if moment["cancelled"]:
        raise ScenarioError("the moment task was cancelled")
    if task["publish_status"]:
        raise ScenarioError("already published")
    state.store.conn.execute(
        "UPDATE moment_task SET publish_status = 1, publish_time = ? WHERE pk = ?",
        (state.clock.timestamp(), task["pk"]),
    )
    return Outcome({}, [])


def _react(
    state: EmulatorState,
    corp_id: str,
    moment_id: str,
    userid: str,
    external_userid: str,
    kind: str,
    content: str,
) -> Outcome:
    corp = _corp(state, corp_id)
    moment, member, task = _moment_task(state, corp, moment_id, userid)
    if not task["publish_status"]:
        raise ScenarioError("the member has not published it")
    customer = _customer(state, corp, external_userid)
    if not state.store.one(
        "SELECT 1 FROM follow WHERE customer_pk = ? AND member_pk = ? AND customer_deleted = 0",
        (customer["pk"], member["pk"]),
    ):
        raise ScenarioError("the customer cannot see the member's moments")
    state.store.conn.execute(
        "INSERT INTO moment_interaction (moment_pk, member_pk, who, who_type, kind, content, create_time)"
        " VALUES (?, ?, ?, 2, ?, ?, ?)",
        (moment["pk"], member["pk"], external_userid, kind, content, state.clock.timestamp()),
    )
    return Outcome({}, [])


def customer_likes_moment(
    state: EmulatorState, corp_id: str, moment_id: str, userid: str, external_userid: str
) -> Outcome:
    """A customer likes the moment ``userid`` published (no callback; get_moment_comments shows it)."""
    return _react(state, corp_id, moment_id, userid, external_userid, "like", "")


def customer_comments_on_moment(
    state: EmulatorState, corp_id: str, moment_id: str, userid: str, external_userid: str, content: str = "👍"
) -> Outcome:
    """A customer comments on the moment ``userid`` published (no callback)."""
    return _react(state, corp_id, moment_id, userid, external_userid, "comment", content)
