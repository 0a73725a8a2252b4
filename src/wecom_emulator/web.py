"""Everything outside ``/cgi-bin``: the web QR login page (spec §3.1) and the emulator's own JSON
control API under ``/_emulator`` — scenarios, clock, tokens, callback configuration, deliveries."""

from __future__ import annotations

import dataclasses
import html
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from wecom_emulator import ids, scenarios
from wecom_emulator.errors import ApiError
from wecom_emulator.routes.auth import issue_code
from wecom_emulator.routes.groups import opengid_of
from wecom_emulator.scenarios import Outcome, ScenarioError
from wecom_emulator.seed import seed_company
from wecom_emulator.state import EmulatorState

LOGIN_MEMBERS_SHOWN = 200


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


# -- web login (the QR page) --------------------------------------------------------------------------

login = APIRouter()


def _login_error(message: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><p>{html.escape(message)}</p>", status_code=status
    )


def _redirect_allowed(state: EmulatorState, corp_id: str, redirect_uri: str) -> bool:
    corp = state.find_corp(corp_id)
    if corp is None:
        return False
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    # an empty oauth_domain accepts any host (handy locally); otherwise it must match, as in WeCom
    return not corp.oauth_domain or parts.hostname == corp.oauth_domain


def _back(redirect_uri: str, code: str, state_param: str) -> RedirectResponse:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(
        redirect_uri + joiner + urlencode({"code": code, "state": state_param}), status_code=302
    )


@login.get("/wwlogin/sso/login", response_model=None)
@login.get("/wwopen/sso/qrConnect", response_model=None)  # the legacy form of the same page
def login_page(
    request: Request,
    appid: str = "",
    agentid: str = "",
    redirect_uri: str = "",
    state: str = "",
    login_type: str = "CorpApp",
    userid: str = "",
) -> Response:
    """Instead of a QR code: the corp's visible members, one click logs in as that member.
    ``userid`` (an emulator extra) logs in at once, for scripted tests."""
    emulator = _state(request)
    corp = emulator.find_corp(appid)
    if corp is None or login_type != "CorpApp" or agentid != str(corp.agent_id):
        return _login_error("appid / agentid 无效 (invalid appid or agentid)")
    if not _redirect_allowed(emulator, appid, redirect_uri):
        return _login_error("redirect_uri 与可信域名不一致 (redirect_uri domain not trusted)")
    if userid:
        return _confirm(emulator, corp.pk, userid, redirect_uri, state)
    rows = emulator.store.all(
        "SELECT userid, name FROM member WHERE corp_pk = ? AND status = 1 ORDER BY pk LIMIT ?",
        (corp.pk, LOGIN_MEMBERS_SHOWN),
    )
    query = {"appid": appid, "agentid": agentid, "redirect_uri": redirect_uri, "state": state}
    # the page's own path, so links also work when the emulator is mounted under a prefix
    here = request.url.path
    items = "".join(
        f'<li><a href="{html.escape(here)}?{html.escape(urlencode({**query, "userid": r["userid"]}))}">'
        f"{html.escape(r['name'])} <small>{html.escape(r['userid'])}</small></a></li>"
        for r in rows
    )
    page = (
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>企业微信登录（模拟）</title>"
        "<style>body{font-family:sans-serif;max-width:36em;margin:2em auto}li{margin:.3em 0}</style>"
        f"<h1>{html.escape(corp.name)}</h1><p>模拟扫码登录：选择一位成员 (emulated QR login: pick a member)</p>"
        f"<ul>{items}</ul></html>"
    )
    return HTMLResponse(page)


def _confirm(emulator: EmulatorState, corp_pk: int, userid: str, redirect_uri: str, state: str) -> Response:
    row = emulator.store.one(
        "SELECT userid FROM member WHERE corp_pk = ? AND userid = ? AND status = 1", (corp_pk, userid)
    )
    if row is None:
        return _login_error("成员不存在或未激活 (unknown or inactive member)")
    code = issue_code(emulator, corp_pk, row["userid"])
    return _back(redirect_uri, code, state)


# -- the control API --------------------------------------------------------------------------------

control = APIRouter(prefix="/_emulator")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _run(action: Any, *args: Any, **kwargs: Any) -> JSONResponse:
    try:
        outcome: Outcome = action(*args, **kwargs)
    except ScenarioError as exc:
        return _bad(str(exc))
    except ApiError as exc:
        return _bad(f"errcode {exc.errcode}: {exc.detail or ''}".strip())
    except TypeError as exc:  # unknown or missing fields in the request body
        return _bad(str(exc))
    return JSONResponse(outcome.as_json())


SCENARIOS = {
    "customer_adds_member": scenarios.customer_adds_member,
    "customer_deletes_member": scenarios.customer_deletes_member,
    "member_deletes_customer": scenarios.member_deletes_customer,
    "admin_creates_tags": scenarios.admin_creates_tags,
    "admin_edits_tag": scenarios.admin_edits_tag,
    "admin_deletes_tag": scenarios.admin_deletes_tag,
    "customer_joins_group": scenarios.customer_joins_group,
    "customer_quits_group": scenarios.customer_quits_group,
    "member_edits_customer": scenarios.member_edits_customer,
    "customer_scans_contact_way": scenarios.customer_scans_contact_way,
    "customer_scans_join_way": scenarios.customer_scans_join_way,
    "member_creates_group": scenarios.member_creates_group,
    "member_dismisses_group": scenarios.member_dismisses_group,
    "member_confirms_mass_message": scenarios.member_confirms_mass_message,
    "customer_refuses_transfer": scenarios.customer_refuses_transfer,
    "member_resigns": scenarios.member_resigns,
    "admin_creates_member": scenarios.admin_creates_member,
    "admin_updates_member": scenarios.admin_updates_member,
    "member_publishes_moment": scenarios.member_publishes_moment,
    "customer_likes_moment": scenarios.customer_likes_moment,
    "customer_comments_on_moment": scenarios.customer_comments_on_moment,
}


@control.post("/scenarios/{name}")
async def run_scenario(name: str, request: Request) -> JSONResponse:
    """Body: the scenario's keyword arguments as JSON, e.g. ``{"corp_id": ..., "userid": ...}``."""
    action = SCENARIOS.get(name)
    if action is None:
        return _bad(f"unknown scenario {name}; known: {', '.join(sorted(SCENARIOS))}", 404)
    return _run(action, _state(request), **await _json(request))


@control.post("/corps")
async def create_corp(request: Request) -> JSONResponse:
    """``{"corp_id"?, "members"?, "external_contacts"?, "groups"?, "tags"?, "seed"?}``: seed a company."""
    body = await _json(request)
    emulator = _state(request)
    corp_id = body.pop("corp_id", None) or ids.corp_id()
    try:
        report = seed_company(emulator, corp_id, **body)
    except TypeError as exc:
        return _bad(str(exc))
    return JSONResponse(report.as_json())


@control.get("/corps")
async def list_corps(request: Request) -> JSONResponse:
    """Corps with their secrets: what an admin would copy from the console into Huike."""
    rows = _state(request).store.all("SELECT * FROM corp ORDER BY pk")
    return JSONResponse(
        [
            {
                "corp_id": r["corp_id"],
                "name": r["name"],
                "agent_id": r["agent_id"],
                "app_secret": r["app_secret"],
                "contact_secret": r["contact_secret"],
                "sync_secret": r["sync_secret"],
                "callback_url": r["callback_url"],
            }
            for r in rows
        ]
    )


@control.post("/corps/{corp_id}/callback")
async def configure_callback(corp_id: str, request: Request) -> JSONResponse:
    """``{"url", "token", "encoding_aes_key"}``: saved only when the URL passes the handshake."""
    body = await _json(request)
    emulator = _state(request)
    if emulator.find_corp(corp_id) is None:
        return _bad("unknown corp", 404)
    try:
        ok, reason = await emulator.deliveries.configure(
            corp_id, str(body["url"]), str(body["token"]), str(body["encoding_aes_key"])
        )
    except KeyError as exc:
        return _bad(f"missing {exc.args[0]}")
    return JSONResponse({"saved": ok, "reason": reason}, status_code=200 if ok else 400)


@control.post("/clock/advance")
async def advance_clock(request: Request) -> JSONResponse:
    """Move the clock; whatever it reaches happens now (transfers, moment jobs, due retries)."""
    seconds = (await _json(request)).get("seconds", 0)
    if not isinstance(seconds, int | float) or seconds < 0:
        return _bad("seconds must be a non-negative number")
    emulator = _state(request)
    now = emulator.clock.advance(float(seconds))
    emulator.settle()
    emulator.deliveries.wake()
    return JSONResponse({"now": now})


@control.get("/clock")
async def read_clock(request: Request) -> JSONResponse:
    return JSONResponse({"now": _state(request).clock.now()})


@control.get("/settings")
async def read_settings(request: Request) -> JSONResponse:
    return JSONResponse(dataclasses.asdict(_state(request).settings))


@control.put("/settings")
async def change_settings(request: Request) -> JSONResponse:
    """Change limits and switches, e.g. ``{"mass_cap_period": "day", "member_customer_cap": 10}``."""
    body = await _json(request)
    settings = _state(request).settings
    # every setting is an int (None where "no limit" makes sense) except mass_cap_period
    known = {f.name: "None" in str(f.type) for f in dataclasses.fields(settings)}
    for name, value in body.items():
        if name not in known:
            return _bad(f"unknown setting {name}")
        if name == "mass_cap_period":
            if value not in ("month", "week", "day"):
                return _bad("mass_cap_period must be month, week or day")
        elif value is None:
            if not known[name]:
                return _bad(f"{name} cannot be null")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return _bad(f"{name} must be a non-negative integer")
    for name, value in body.items():
        setattr(settings, name, value)
    return JSONResponse(dataclasses.asdict(settings))


@control.get("/corps/{corp_id}/groups/{chat_id}/opengid")
async def group_opengid(corp_id: str, chat_id: str, request: Request) -> JSONResponse:
    """The opengid a mini-program opened in the group gets (``wx.getGroupEnterInfo``), for
    opengid_to_chatid."""
    emulator = _state(request)
    corp = emulator.find_corp(corp_id)
    chat_pk = (
        None
        if corp is None
        else emulator.store.scalar(
            "SELECT pk FROM groupchat WHERE corp_pk = ? AND chat_id = ?", (corp.pk, chat_id)
        )
    )
    if corp is None or chat_pk is None:
        return _bad("unknown corp or group chat", 404)
    return JSONResponse({"opengid": opengid_of(emulator, corp.pk, chat_pk)})


@control.post("/tokens/revoke")
async def revoke_tokens(request: Request) -> JSONResponse:
    body = await _json(request)
    try:
        count = _state(request).revoke_tokens(body.get("corp_id"), body.get("kind"))
    except KeyError:
        return _bad("unknown corp", 404)
    return JSONResponse({"revoked": count})


@control.post("/faults")
async def inject_fault(request: Request) -> JSONResponse:
    """``{"path": "externalcontact/get", "errcode": 45033, "times": 1}``."""
    body = await _json(request)
    try:
        _state(request).faults.inject(str(body["path"]), int(body["errcode"]), int(body.get("times", 1)))
    except (KeyError, ValueError) as exc:
        return _bad(f"invalid fault: {exc}")
    return JSONResponse({"ok": True})


@control.get("/deliveries")
async def list_deliveries(request: Request) -> JSONResponse:
    return JSONResponse(
        [
            {
                "id": d.id,
                "corp_id": d.corp_id,
                "url": d.url,
                "event": d.event,
                "change_type": d.change_type,
                "xml": d.xml,
                "delivered": d.delivered,
                "duplicate_of": d.duplicate_of,
                "attempts": [
                    {"at": a.at, "status_code": a.status_code, "error": a.error} for a in d.attempts
                ],
            }
            for d in _state(request).deliveries.log
        ]
    )


@control.post("/deliveries/drain")
async def drain_deliveries(request: Request) -> JSONResponse:
    """One attempt at everything due; failed ones wait ``retry_interval`` of emulator time."""
    queue = _state(request).deliveries
    done = await queue.drain()
    return JSONResponse(
        {
            "delivered": [d.id for d in done if d.delivered],
            "failed": [d.id for d in done if not d.delivered],
            "waiting": [d.id for d in queue.pending],
        }
    )


@control.put("/deliveries/switches")
async def set_switches(request: Request) -> JSONResponse:
    """``{"duplicate": bool, "order": "fifo"|"reverse"|"shuffle", "retry_interval": seconds}``."""
    body = await _json(request)
    switches = _state(request).deliveries.switches
    if "duplicate" in body:
        switches.duplicate = bool(body["duplicate"])
    if "retry_interval" in body:
        interval = body["retry_interval"]
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
            return _bad("retry_interval must be a non-negative number")
        switches.retry_interval = float(interval)
    if "order" in body:
        if body["order"] not in ("fifo", "reverse", "shuffle"):
            return _bad("order must be fifo, reverse or shuffle")
        switches.order = body["order"]
    return JSONResponse(
        {"duplicate": switches.duplicate, "order": switches.order, "retry_interval": switches.retry_interval}
    )
