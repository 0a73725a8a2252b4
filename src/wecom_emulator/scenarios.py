"""What people do in WeCom, and the callback WeCom sends for it (spec §13.5).

Each function changes the state as the action would and enqueues the encrypted event for the
corp's callback URL (nothing is queued when the corp has none). Changes made through ``/cgi-bin``
never come here: API-made changes send no callbacks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from wecom_emulator import ids
from wecom_emulator.callbacks import Delivery, FieldValue
from wecom_emulator.callbacks import emit as _emit
from wecom_emulator.routes.tags import add_tags, delete_tags, edit_tag, find_tag_or_group
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
) -> Outcome:
    """A customer joins (3 = scanned the group QR; 1/2 = invited directly / by link by ``invitor``).
    An unknown person gets a fresh external_userid."""
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
            "INSERT INTO groupchat_member (chat_pk, userid, type, unionid, join_time, join_scene, invitor, name, state)"
            " VALUES (?, ?, 2, ?, ?, ?, ?, ?, ?)",
            (
                chat["pk"],
                external_userid,
                customer["unionid"] if customer else None,
                state.clock.timestamp(),
                join_scene,
                invitor,
                customer["name"] if customer else "微信用户",
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
