"""§12 statistics: get_user_behavior_data, groupchat/statistic and statistic_group_by_day.

Computed from the state where the emulator knows the answer: new customers (relationships by
``createtime``; ones a member later deleted no longer count), friend requests the member sent that
were accepted (``oper_userid`` is the member), customers who deleted the member (the ``activity``
log of scenarios), groups and group members by creation and join time.

The emulator has no chat activity, so chats, messages, reply rate and reply time, unaccepted friend
requests and group messages are **synthetic**: plausible numbers from a random generator seeded
with (corp, member or owner, day), so the same question always gets the same answer. Days from
today on are all zero, as WeCom has no statistics for them yet."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable
from typing import Any

from wecom_emulator.api import Call, endpoint
from wecom_emulator.clock import DAY, day_start
from wecom_emulator.errors import ApiError

MAX_IDS = 100
MAX_SPAN_DAYS = 30
HISTORY_DAYS = 180
UNFILTERED_SCOPE_MAX = 1000
GROUP_FIELDS = (
    "new_chat_cnt",
    "chat_total",
    "chat_has_msg",
    "new_member_cnt",
    "member_total",
    "member_has_msg",
    "msg_total",
    "migrate_trainee_chat_cnt",
)
ORDER_FIELDS = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}


def _synthetic(*key: object) -> random.Random:
    return random.Random(":".join(map(str, key)))  # noqa: S311 - made-up statistics, not secrets


def _days(call: Call, begin: int, end: int) -> list[int]:
    """Local midnights from ``begin`` to ``end`` (closed): ≤30 days, none older than 180 days."""
    first, last = day_start(begin), day_start(end)
    if last < first:
        raise ApiError(40058, "the end is before the start")
    if (last - first) // DAY + 1 > MAX_SPAN_DAYS:
        raise ApiError(40058, f"the span is at most {MAX_SPAN_DAYS} days")
    if first < day_start(call.now) - HISTORY_DAYS * DAY:
        raise ApiError(40058, f"only the last {HISTORY_DAYS} days")
    return list(range(first, last + 1, DAY))


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- §12.1 behaviour ---------------------------------------------------------------------------------


@endpoint("POST", "externalcontact/get_user_behavior_data", skeleton={"behavior_data": []}, customer_api=True)
def get_user_behavior_data(call: Call) -> dict[str, Any]:
    userids = call.b_strs("userid", max_items=MAX_IDS)
    parties = call.body.get("partyid") or []
    if (
        not isinstance(parties, list)
        or not all(isinstance(p, int) for p in parties)
        or len(parties) > MAX_IDS
    ):
        raise ApiError(40058, "invalid partyid")
    if not userids and not parties:
        raise ApiError(40058, "userid and partyid cannot both be empty")
    start = call.b_int("start_time", missing=40058)
    end = call.b_int("end_time", missing=40058)
    assert start is not None
    assert end is not None
    days = _days(call, start, end)
    members: dict[int, str] = {}
    for userid in userids:
        row = call.member(userid)
        members[row["pk"]] = row["userid"]
    scope = "AND m.visible = 1" if call.scoped else ""
    for party in parties:  # the department's own members
        rows = call.state.store.all(
            f"SELECT m.pk, m.userid FROM member m, json_each(m.departments) d WHERE m.corp_pk = ? {scope}"  # noqa: S608
            " AND d.value = ?",
            (call.the_corp.pk, party),
        )
        members.update((r["pk"], r["userid"]) for r in rows)
    today = day_start(call.now)
    totals = {day: _empty_behaviour() for day in days}
    for pk, userid in members.items():
        for day, data in _behaviour(call, pk, userid, days, today).items():
            _add_behaviour(totals[day], data)
    return {"behavior_data": [_finish_behaviour(day, totals[day]) for day in days]}


def _empty_behaviour() -> dict[str, float]:
    keys = ("new_apply_cnt", "new_contact_cnt", "chat_cnt", "message_cnt", "negative_feedback_cnt")
    return {**dict.fromkeys(keys, 0), "replied": 0.0, "reply_minutes": 0.0}


def _behaviour(
    call: Call, member_pk: int, userid: str, days: list[int], today: int
) -> dict[int, dict[str, float]]:
    first, end = days[0], days[-1] + DAY
    result = {day: _empty_behaviour() for day in days}
    for row in call.state.store.all(
        "SELECT createtime, oper_userid FROM follow WHERE member_pk = ? AND createtime >= ? AND createtime < ?",
        (member_pk, first, end),
    ):
        data = result[day_start(row["createtime"])]
        data["new_contact_cnt"] += 1
        if row["oper_userid"] == userid:  # the member asked and the customer accepted
            data["new_apply_cnt"] += 1
    for row in call.state.store.all(
        "SELECT at FROM activity WHERE member_pk = ? AND kind = 'customer_deleted' AND at >= ? AND at < ?",
        (member_pk, first, end),
    ):
        result[day_start(row["at"])]["negative_feedback_cnt"] += 1
    customers = int(call.state.store.scalar("SELECT count(*) FROM follow WHERE member_pk = ?", (member_pk,)))
    for day in days:
        if day >= today:
            continue
        rng = _synthetic(call.the_corp.corp_id, userid, day)
        data = result[day]
        data["new_apply_cnt"] += rng.randrange(3)  # requests not (yet) accepted
        chats = rng.randrange(min(40, customers // 15 + 3)) if customers else 0
        data["chat_cnt"] = chats
        data["message_cnt"] = sum(rng.randint(1, 8) for _ in range(chats))
        replied = rng.uniform(0.6, 1.0)
        data["replied"] = replied * chats  # weights so several members average correctly
        data["reply_minutes"] = rng.uniform(1, 45) * chats
    return result


def _add_behaviour(total: dict[str, float], data: dict[str, float]) -> None:
    for key, value in data.items():
        total[key] += value


def _finish_behaviour(day: int, data: dict[str, float]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "stat_time": day,
        "new_apply_cnt": int(data["new_apply_cnt"]),
        "new_contact_cnt": int(data["new_contact_cnt"]),
        "chat_cnt": int(data["chat_cnt"]),
        "message_cnt": int(data["message_cnt"]),
        "negative_feedback_cnt": int(data["negative_feedback_cnt"]),
    }
    if data["chat_cnt"]:  # only when there were chats
        item["reply_percentage"] = round(100 * data["replied"] / data["chat_cnt"], 2)
        item["avg_reply_time"] = round(data["reply_minutes"] / data["chat_cnt"])
    return item


# -- §12.2 / §12.3 groups ----------------------------------------------------------------------------


def _owners(call: Call) -> dict[int, str]:
    """{member pk: userid} from owner_filter; without it the app's scope (81017 over 1000)."""
    owner_filter = call.b_obj("owner_filter")
    userids = owner_filter.get("userid_list") or []
    if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
        raise ApiError(40058, "invalid owner_filter")
    if len(userids) > MAX_IDS:
        raise ApiError(40058, f"owner_filter.userid_list exceeds {MAX_IDS}")
    if userids:
        return {row["pk"]: row["userid"] for row in (call.member(u) for u in userids)}
    scope = "AND visible = 1" if call.scoped else ""
    rows = call.state.store.all(
        f"SELECT pk, userid FROM member WHERE corp_pk = ? {scope} ORDER BY pk",  # noqa: S608
        (call.the_corp.pk,),
    )
    if len(rows) > UNFILTERED_SCOPE_MAX:
        raise ApiError(81017)
    return {r["pk"]: r["userid"] for r in rows}


def _group_days(call: Call) -> list[int]:
    begin = call.b_int("day_begin_time", missing=40058)
    assert begin is not None
    end = call.b_int("day_end_time")
    days = _days(call, begin, begin if end is None else end)
    if days[0] >= day_start(call.now):
        raise ApiError(40058, "day_begin_time is yesterday at the latest")
    return days


def _group_data(call: Call, owners: dict[int, str], days: list[int]) -> dict[int, list[dict[str, int]]]:
    """{owner pk: [data per day]} — counts from the state, message figures synthetic."""
    store, today = call.state.store, day_start(call.now)
    chats: dict[int, list[sqlite3.Row]] = {pk: [] for pk in owners}
    for pks in _chunks(list(owners)):
        marks = ",".join("?" * len(pks))
        sql = f"SELECT pk, owner_pk, create_time FROM groupchat WHERE owner_pk IN ({marks})"  # noqa: S608
        for row in store.all(sql, tuple(pks)):
            chats[row["owner_pk"]].append(row)
    owner_of = {row["pk"]: owner for owner, rows in chats.items() for row in rows}
    joins: dict[int, list[int]] = {pk: [] for pk in owners}
    for pks in _chunks(list(owner_of)):
        marks = ",".join("?" * len(pks))
        sql = f"SELECT chat_pk, join_time FROM groupchat_member WHERE chat_pk IN ({marks})"  # noqa: S608
        for row in store.all(sql, tuple(pks)):
            joins[owner_of[row["chat_pk"]]].append(row["join_time"])
    result: dict[int, list[dict[str, int]]] = {}
    for owner, userid in owners.items():
        per_day = []
        for day in days:
            end = day + DAY
            data = dict.fromkeys(GROUP_FIELDS, 0)
            data["new_chat_cnt"] = sum(day <= c["create_time"] < end for c in chats[owner])
            data["chat_total"] = sum(c["create_time"] < end for c in chats[owner])
            data["new_member_cnt"] = sum(day <= t < end for t in joins[owner])
            data["member_total"] = sum(t < end for t in joins[owner])
            if day < today and data["chat_total"]:
                rng = _synthetic(call.the_corp.corp_id, "groups", userid, day)
                data["chat_has_msg"] = round(data["chat_total"] * rng.uniform(0.1, 0.6))
                data["member_has_msg"] = round(data["member_total"] * rng.uniform(0.02, 0.2))
                data["msg_total"] = data["chat_has_msg"] + sum(
                    rng.randint(1, 8) for _ in range(data["member_has_msg"])
                )
            per_day.append(data)
        result[owner] = per_day
    return result


def _over_days(per_day: list[dict[str, int]]) -> dict[str, int]:
    """Several days in one figure: counts add up, totals are the last day's."""
    total = dict.fromkeys(GROUP_FIELDS, 0)
    for data in per_day:
        for key, value in data.items():
            total[key] = value if key in ("chat_total", "member_total") else total[key] + value
    return total


@endpoint(
    "POST",
    "externalcontact/groupchat/statistic",
    skeleton={"total": 0, "next_offset": 0, "items": []},
    customer_api=True,
)
def groupchat_statistic(call: Call) -> dict[str, Any]:
    days = _group_days(call)
    order_by = call.b_int("order_by") or 1
    if order_by not in ORDER_FIELDS:
        raise ApiError(40058, "invalid order_by")
    ascending = call.b_int("order_asc") == 1
    offset = call.b_int("offset") or 0
    limit = call.b_int("limit")
    limit = 500 if limit is None else limit
    if offset < 0 or not 1 <= limit <= 1000:
        raise ApiError(40058, "invalid offset or limit")
    owners = _owners(call)
    data = _group_data(call, owners, days)
    field = ORDER_FIELDS[order_by]
    ranked = sorted(
        ((owners[pk], _over_days(per_day)) for pk, per_day in data.items()),
        key=lambda pair: (pair[1][field] if ascending else -pair[1][field], pair[0]),
    )
    items = [{"owner": owner, "data": figures} for owner, figures in ranked]
    page = items[offset : offset + limit]
    return {"total": len(items), "next_offset": offset + len(page), "items": page}


@endpoint(
    "POST", "externalcontact/groupchat/statistic_group_by_day", skeleton={"items": []}, customer_api=True
)
def groupchat_statistic_group_by_day(call: Call) -> dict[str, Any]:
    days = _group_days(call)
    data = _group_data(call, _owners(call), days)
    items = []
    for index, day in enumerate(days):
        total = dict.fromkeys(GROUP_FIELDS, 0)
        for per_day in data.values():
            for key, value in per_day[index].items():
                total[key] += value
        items.append({"stat_time": day, "data": total})
    return {"items": items}
