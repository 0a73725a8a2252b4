"""§10 inheritance: on-job and resigned customer transfers, the unassigned list, and group-owner
transfers.

A customer transfer is a ``transfer`` row that waits ``Settings.transfer_delay`` (24 h) on the
emulator's clock. When the clock passes it, ``finish_transfers`` (a settler) takes the customer
over — the handover's relationship goes with a ``del_external_contact`` event whose Source is
``DELETE_BY_TRANSFER`` — or fails with a ``transfer_fail`` event: ``customer_refused`` when the
customer refused in the meantime (``scenarios.customer_refuses_transfer``), ``customer_limit_exceed``
when the takeover member is at ``Settings.member_customer_cap``. Group transfers are immediate.

The spec names no errcode for the on-job quota (2 per customer or group in 90 days) or the 300
groups per owner per day; the emulator answers 45009 (a limit reached, wait for the window)."""

from __future__ import annotations

import sqlite3
from typing import Any

from wecom_emulator import cursors
from wecom_emulator.api import Call, endpoint
from wecom_emulator.callbacks import emit
from wecom_emulator.clock import DAY
from wecom_emulator.errors import ERRMSG, ApiError
from wecom_emulator.state import EmulatorState
from wecom_emulator.timeline import settler

MAX_CUSTOMERS = 100
MAX_CHATS = 100
MAX_MESSAGE = 200
RESULT_PAGE = 1000
UNASSIGNED_MAX = 1000
UNASSIGNED_OFFSET_MAX = 50_000
QUOTA = 45009  # the emulator's errcode for the on-job and daily quotas (the spec names none)
WAITING, DONE, REFUSED, AT_CAP = 2, 1, 3, 4


def _pair(call: Call, *, resigned: bool) -> tuple[sqlite3.Row, sqlite3.Row]:
    handover_id = call.b_str("handover_userid", missing=40003)
    takeover_id = call.b_str("takeover_userid", missing=40003)
    assert handover_id is not None
    assert takeover_id is not None
    # a resigned member is gone from the app's scope; WeCom still knows them for inheritance
    handover = call.member(handover_id, in_scope=not resigned)
    if resigned and handover["status"] != 5:
        raise ApiError(40097)
    if not resigned and handover["status"] == 5:
        raise ApiError(40058, "the handover member has resigned: use resigned/transfer_customer")
    takeover = call.contact_member(takeover_id)
    if takeover["pk"] == handover["pk"]:
        raise ApiError(40058, "handover and takeover are the same member")
    return handover, takeover


def _transfer_customers(call: Call, kind: str) -> dict[str, Any]:
    handover, takeover = _pair(call, resigned=kind == "resigned")
    externals = call.b_strs("external_userid", missing=41035, max_items=MAX_CUSTOMERS)
    message = call.b_str("transfer_success_msg", max_len=MAX_MESSAGE) if kind == "onjob" else None
    settings, store, now = call.state.settings, call.state.store, call.now
    results = []
    for external_userid in dict.fromkeys(externals):
        customer = store.one(
            "SELECT pk FROM customer WHERE corp_pk = ? AND external_userid = ?",
            (call.the_corp.pk, external_userid),
        )
        errcode = 0
        if customer is None:
            errcode = 40096
        elif not store.one(
            "SELECT 1 FROM follow WHERE customer_pk = ? AND member_pk = ?", (customer["pk"], handover["pk"])
        ):
            errcode = 84061
        elif store.one(
            "SELECT 1 FROM transfer WHERE customer_pk = ? AND status = ?", (customer["pk"], WAITING)
        ):
            errcode = 40100  # already being transferred
        elif kind == "onjob" and (
            store.scalar(
                "SELECT count(*) FROM transfer WHERE customer_pk = ? AND kind = 'onjob' AND status IN (1, 2)"
                " AND created_at > ?",
                (customer["pk"], now - settings.onjob_transfer_days * DAY),
            )
            >= settings.onjob_transfers
        ):
            errcode = QUOTA
        if errcode == 0:
            assert customer is not None
            call.db.execute(
                "INSERT INTO transfer (corp_pk, kind, handover_pk, takeover_pk, customer_pk, created_at,"
                " takeover_at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    call.the_corp.pk,
                    kind,
                    handover["pk"],
                    takeover["pk"],
                    customer["pk"],
                    now,
                    now + settings.transfer_delay,
                    message or "",
                ),
            )
        results.append({"external_userid": external_userid, "errcode": errcode})
    return {"customer": results}


@endpoint("POST", "externalcontact/transfer_customer", skeleton={"customer": []}, customer_api=True)
def transfer_customer(call: Call) -> dict[str, Any]:
    return _transfer_customers(call, "onjob")


@endpoint("POST", "externalcontact/resigned/transfer_customer", skeleton={"customer": []}, customer_api=True)
def resigned_transfer_customer(call: Call) -> dict[str, Any]:
    return _transfer_customers(call, "resigned")


def _transfer_result(call: Call, kind: str) -> dict[str, Any]:
    handover_id = call.b_str("handover_userid", missing=40003)
    takeover_id = call.b_str("takeover_userid", missing=40003)
    assert handover_id is not None
    assert takeover_id is not None
    handover = call.member(handover_id, in_scope=False)
    takeover = call.member(takeover_id, in_scope=False)
    cursor_kind = f"transfer:{kind}:{handover['pk']}:{takeover['pk']}"
    after = cursors.decode(cursor_kind, call.b_str("cursor"), 1)
    rows = call.state.store.all(
        "SELECT t.pk, t.status, t.takeover_at, c.external_userid FROM transfer t"
        " JOIN customer c ON c.pk = t.customer_pk WHERE t.handover_pk = ? AND t.takeover_pk = ? AND t.kind = ?"
        " AND t.pk > ? ORDER BY t.pk LIMIT ?",
        (handover["pk"], takeover["pk"], kind, after[0] if after else 0, RESULT_PAGE + 1),
    )
    page = rows[:RESULT_PAGE]
    return {
        # takeover_time: when it happened, or (waiting) when it will happen automatically
        "customer": [
            {
                "external_userid": r["external_userid"],
                "status": r["status"],
                "takeover_time": r["takeover_at"],
            }
            for r in page
        ],
        "next_cursor": cursors.encode(cursor_kind, page[-1]["pk"]) if len(rows) > RESULT_PAGE else "",
    }


@endpoint(
    "POST", "externalcontact/transfer_result", skeleton={"customer": [], "next_cursor": ""}, customer_api=True
)
def transfer_result(call: Call) -> dict[str, Any]:
    return _transfer_result(call, "onjob")


@endpoint(
    "POST",
    "externalcontact/resigned/transfer_result",
    skeleton={"customer": [], "next_cursor": ""},
    customer_api=True,
)
def resigned_transfer_result(call: Call) -> dict[str, Any]:
    return _transfer_result(call, "resigned")


@endpoint(
    "POST", "externalcontact/get_unassigned_list", skeleton={"info": [], "is_last": True}, customer_api=True
)
def get_unassigned_list(call: Call) -> dict[str, Any]:
    """Customers of resigned members not yet (being) handed over, one row per relationship."""
    size = call.b_limit(UNASSIGNED_MAX, UNASSIGNED_MAX, name="page_size")
    cursor = call.b_str("cursor")
    by_page = "page_id" in call.body and not cursor
    after, offset = 0, 0
    if cursor:
        after = (cursors.decode("unassigned", cursor, 1) or (0,))[0]
    elif by_page:
        page_id = call.b_int("page_id") or 0
        offset = page_id * size
        if page_id < 0 or offset + size > UNASSIGNED_OFFSET_MAX:
            raise ApiError(40058, "page_id * page_size must stay under 50,000: use the cursor")
    rows = call.state.store.all(
        "SELECT f.pk, m.userid, c.external_userid, r.dimission_time FROM member m"
        " JOIN follow f ON f.member_pk = m.pk JOIN customer c ON c.pk = f.customer_pk"
        " LEFT JOIN resignation r ON r.member_pk = m.pk"
        " WHERE m.corp_pk = ? AND m.status = 5 AND f.pk > ? AND NOT EXISTS (SELECT 1 FROM transfer t"
        " WHERE t.customer_pk = f.customer_pk AND t.handover_pk = f.member_pk AND t.status = 2)"
        " ORDER BY f.pk LIMIT ? OFFSET ?",
        (call.the_corp.pk, after, size + 1, offset),
    )
    page = rows[:size]
    body: dict[str, Any] = {
        "info": [
            {
                "handover_userid": r["userid"],
                "external_userid": r["external_userid"],
                "dimission_time": r["dimission_time"] or 0,
            }
            for r in page
        ],
        "is_last": len(rows) <= size,
    }
    if not by_page:  # next_cursor is absent when paging by page_id
        body["next_cursor"] = cursors.encode("unassigned", page[-1]["pk"]) if len(rows) > size else ""
    return body


# -- the takeover, when the clock gets there ---------------------------------------------------------


@settler
def finish_transfers(state: EmulatorState) -> None:
    now = state.clock.timestamp()
    due = state.store.all(
        "SELECT * FROM transfer WHERE status = ? AND takeover_at <= ? ORDER BY takeover_at, pk",
        (WAITING, now),
    )
    for transfer in due:
        _finish(state, transfer)


def _finish(state: EmulatorState, transfer: sqlite3.Row) -> None:
    store, conn = state.store, state.store.conn
    corp = state.corp_by_pk(transfer["corp_pk"])
    at = transfer["takeover_at"]
    handover = store.one("SELECT userid FROM member WHERE pk = ?", (transfer["handover_pk"],))
    takeover = store.one("SELECT userid FROM member WHERE pk = ?", (transfer["takeover_pk"],))
    external_userid = store.scalar(
        "SELECT external_userid FROM customer WHERE pk = ?", (transfer["customer_pk"],)
    )
    assert handover is not None
    assert takeover is not None
    cap = state.settings.member_customer_cap
    if transfer["refused"]:
        status, reason = REFUSED, "customer_refused"
    elif (
        cap is not None
        and store.scalar("SELECT count(*) FROM follow WHERE member_pk = ?", (transfer["takeover_pk"],)) >= cap
    ):
        status, reason = AT_CAP, "customer_limit_exceed"
    else:
        status, reason = DONE, None
    conn.execute("UPDATE transfer SET status = ? WHERE pk = ?", (status, transfer["pk"]))
    if reason is not None:
        fields = [("UserID", takeover["userid"]), ("ExternalUserID", external_userid), ("FailReason", reason)]
        emit(state, corp, "change_external_contact", "transfer_fail", fields, create_time=at)
        return
    old = store.one(
        "SELECT * FROM follow WHERE customer_pk = ? AND member_pk = ?",
        (transfer["customer_pk"], transfer["handover_pk"]),
    )
    if not store.one(
        "SELECT 1 FROM follow WHERE customer_pk = ? AND member_pk = ?",
        (transfer["customer_pk"], transfer["takeover_pk"]),
    ):
        # the takeover member gets the relationship with its remark and tags, assigned (202)
        conn.execute(
            "INSERT INTO follow (corp_pk, customer_pk, member_pk, remark, description, createtime, tag_ids,"
            " remark_corp_name, remark_mobiles, add_way, oper_userid, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 202, ?, ?)",
            (
                transfer["corp_pk"],
                transfer["customer_pk"],
                transfer["takeover_pk"],
                old["remark"] if old else "",
                old["description"] if old else "",
                at,
                old["tag_ids"] if old else "",
                old["remark_corp_name"] if old else "",
                old["remark_mobiles"] if old else "[]",
                handover["userid"],
                old["state"] if old else None,
            ),
        )
    if old is not None:
        conn.execute("DELETE FROM follow WHERE pk = ?", (old["pk"],))
        fields = [
            ("UserID", handover["userid"]),
            ("ExternalUserID", external_userid),
            ("Source", "DELETE_BY_TRANSFER"),
        ]
        emit(state, corp, "change_external_contact", "del_external_contact", fields, create_time=at)


# -- group owners ------------------------------------------------------------------------------------


def _transfer_groups(call: Call, kind: str) -> dict[str, Any]:
    chat_ids = call.b_strs("chat_id_list", missing=40058, max_items=MAX_CHATS)
    new_owner_id = call.b_str("new_owner", missing=40003)
    assert new_owner_id is not None
    new_owner = call.contact_member(new_owner_id)
    store, now = call.state.store, call.now
    failed = []
    for chat_id in dict.fromkeys(chat_ids):
        chat = store.one(
            "SELECT g.*, m.status AS owner_status FROM groupchat g JOIN member m ON m.pk = g.owner_pk"
            " WHERE g.corp_pk = ? AND g.chat_id = ?",
            (call.the_corp.pk, chat_id),
        )
        errcode = _group_refusal(call, kind, chat, new_owner)
        if errcode:
            failed.append({"chat_id": chat_id, "errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})
            continue
        assert chat is not None
        call.db.execute(
            "UPDATE groupchat SET owner_pk = ?, status = ? WHERE pk = ?",
            (new_owner["pk"], 3 if kind == "resigned" else chat["status"], chat["pk"]),
        )
        call.db.execute(
            "INSERT OR IGNORE INTO groupchat_member (chat_pk, userid, type, join_time, join_scene, name)"
            " VALUES (?, ?, 1, ?, 1, ?)",
            (chat["pk"], new_owner["userid"], now, new_owner["name"]),
        )
        call.db.execute(
            "INSERT INTO chat_transfer (chat_pk, kind, from_pk, to_pk, at) VALUES (?, ?, ?, ?, ?)",
            (chat["pk"], kind, chat["owner_pk"], new_owner["pk"], now),
        )
    return {"failed_chat_list": failed}


def _group_refusal(call: Call, kind: str, chat: sqlite3.Row | None, new_owner: sqlite3.Row) -> int:
    if chat is None:
        return 90501  # not a customer group of this corp
    store, settings, now = call.state.store, call.state.settings, call.now
    if kind == "resigned":
        if chat["status"] == 2:
            return 90507
        if chat["status"] == 3:
            return 90508
        if chat["owner_status"] != 5:
            return 90500
    elif chat["owner_status"] == 5:
        return 90502  # the owner resigned: use groupchat/transfer
    if chat["owner_pk"] == new_owner["pk"]:
        return 90504
    if kind == "onjob" and (
        store.scalar(
            "SELECT count(*) FROM chat_transfer WHERE chat_pk = ? AND kind = 'onjob' AND at > ?",
            (chat["pk"], now - settings.onjob_transfer_days * DAY),
        )
        >= settings.onjob_transfers
    ):
        return QUOTA
    today = store.scalar(
        "SELECT count(*) FROM chat_transfer WHERE from_pk = ? AND at > ?", (chat["owner_pk"], now - DAY)
    )
    if today >= settings.group_transfers_per_day:
        return QUOTA
    return 0


@endpoint("POST", "externalcontact/groupchat/transfer", skeleton={"failed_chat_list": []}, customer_api=True)
def groupchat_transfer(call: Call) -> dict[str, Any]:
    return _transfer_groups(call, "resigned")


@endpoint(
    "POST", "externalcontact/groupchat/onjob_transfer", skeleton={"failed_chat_list": []}, customer_api=True
)
def groupchat_onjob_transfer(call: Call) -> dict[str, Any]:
    return _transfer_groups(call, "onjob")
