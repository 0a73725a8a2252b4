"""How one ``/cgi-bin/...`` call is served: a registry of endpoints, the checks every call goes
through (token, secret scope, faults, frequency), request-parameter helpers that answer with
WeCom's errcodes, and the error body with the endpoint's empty default fields."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wecom_emulator import ids
from wecom_emulator.errors import ApiError, format_errmsg
from wecom_emulator.state import APP, CONTACT, SYNC, Corp, EmulatorState

Handler = Callable[["Call"], "dict[str, Any] | FileResult"]

CONTACT_READERS = frozenset({APP, CONTACT, SYNC})
CUSTOMER_APIS = frozenset({APP, CONTACT})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    skeleton: dict[str, Any]
    kinds: frozenset[str]
    customer_api: bool
    needs_token: bool
    frequency_exempt: bool
    multipart: bool


@dataclass(frozen=True)
class FileResult:
    """A handler's answer that is a file, not JSON (media/get on success)."""

    content: bytes
    content_type: str
    filename: str


REGISTRY: dict[str, Endpoint] = {}


def endpoint(
    method: str,
    path: str,
    *,
    skeleton: dict[str, Any] | None = None,
    kinds: frozenset[str] = CONTACT_READERS,
    customer_api: bool = False,
    needs_token: bool = True,
    frequency_exempt: bool = False,
    multipart: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler for ``/cgi-bin/<path>``. ``skeleton``: the empty fields WeCom returns next
    to an error. ``customer_api``: a 客户联系 API (needs the app listed in 可调用接口的应用).
    ``multipart``: the body is a multipart/form-data upload (``Call.raw``), not JSON."""

    def register(handler: Handler) -> Handler:
        REGISTRY[path] = Endpoint(
            method=method,
            path=path,
            handler=handler,
            skeleton=skeleton or {},
            kinds=CUSTOMER_APIS if customer_api else kinds,
            customer_api=customer_api,
            needs_token=needs_token,
            frequency_exempt=frequency_exempt,
            multipart=multipart,
        )
        return handler

    return register


_MISSING = object()


@dataclass
class Call:
    """One request as a handler sees it."""

    state: EmulatorState
    query: Mapping[str, str]
    body: dict[str, Any]
    client_ip: str
    corp: Corp | None = None
    kind: str = APP
    extra: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""
    content_type: str = ""

    @property
    def the_corp(self) -> Corp:
        assert self.corp is not None  # every token-checked endpoint has one
        return self.corp

    @property
    def db(self) -> sqlite3.Connection:
        return self.state.store.conn

    @property
    def now(self) -> int:
        return self.state.clock.timestamp()

    @property
    def scoped(self) -> bool:
        """The self-built app sees only its visibility scope; the system secrets see the corp."""
        return self.kind == APP

    # -- query string -------------------------------------------------------------------------------

    def q_str(self, name: str, *, missing: int | None = None) -> str | None:
        value = self.query.get(name)
        if value in (None, "") and missing is not None:
            raise ApiError(missing)
        return value or None

    def q_int(self, name: str, *, missing: int | None = None) -> int | None:
        raw = self.q_str(name, missing=missing)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ApiError(40058, f"invalid {name}") from None

    # -- JSON body --------------------------------------------------------------------------------

    def b_str(self, name: str, *, missing: int | None = None, max_len: int | None = None) -> str | None:
        value = self.body.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            if missing is not None:
                raise ApiError(missing)
            return None
        if not isinstance(value, str):
            raise ApiError(40058, f"invalid {name}")
        if max_len is not None and len(value) > max_len:
            raise ApiError(40058, f"{name} exceeds {max_len} characters")
        return value

    def b_int(self, name: str, *, missing: int | None = None) -> int | None:
        value = self.body.get(name, _MISSING)
        if value is _MISSING or value is None:
            if missing is not None:
                raise ApiError(missing)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            # WeCom is lenient with numbers sent as strings
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise ApiError(40058, f"invalid {name}")
        return value

    def b_strs(self, name: str, *, missing: int | None = None, max_items: int | None = None) -> list[str]:
        value = self.body.get(name, _MISSING)
        if value is _MISSING or value is None or value == []:
            if missing is not None:
                raise ApiError(missing)
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(40058, f"invalid {name}")
        if max_items is not None and len(value) > max_items:
            raise ApiError(40058, f"{name} exceeds {max_items} items")
        return list(value)

    def b_limit(self, default: int, maximum: int, *, over: str = "clamp", name: str = "limit") -> int:
        """A page size: missing or < 1 → ``default``; above ``maximum`` → ``maximum`` ("clamp"),
        ``default`` ("default", as get_groupmsg_list_v2 documents) or 40058 ("refuse")."""
        value = self.b_int(name)
        if value is None or value < 1:
            return default
        if value > maximum:
            if over == "refuse":
                raise ApiError(40058, f"{name} must be 1..{maximum}")
            return maximum if over == "clamp" else default
        return value

    def b_obj(self, name: str) -> dict[str, Any]:
        value = self.body.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(40058, f"invalid {name}")
        return value

    # -- members ------------------------------------------------------------------------------------

    def member(self, userid: str, *, in_scope: bool = True) -> sqlite3.Row:
        """The member row; 60111 when unknown, 60011 when outside the app's visibility scope."""
        row = self.state.store.one(
            "SELECT * FROM member WHERE corp_pk = ? AND userid = ?", (self.the_corp.pk, userid)
        )
        if row is None:
            raise ApiError(60111)
        if in_scope and self.scoped and not row["visible"]:
            raise ApiError(60011)
        return row

    def contact_member(self, userid: str) -> sqlite3.Row:
        """A member who can have customers: in scope, with the customer-contact feature (84074) and
        activated (40098: WeCom also asks for real-name verification, which activation stands for)."""
        row = self.member(userid)
        if not row["customer_contact"]:
            raise ApiError(84074)
        if row["status"] != 1:
            raise ApiError(40098)
        return row


def error_body(
    errcode: int, *, ip: str, hint: str, skeleton: dict[str, Any], detail: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"errcode": errcode, "errmsg": format_errmsg(errcode, hint, ip, detail)}
    body.update(copy.deepcopy(skeleton))
    return body


def parse_body(raw: bytes) -> tuple[dict[str, Any], bool]:
    """The JSON body and whether it was malformed. WeCom does not refuse malformed JSON outright; it
    uses what it can and warns in errmsg (spec §0.1). Here: an unparseable body counts as empty."""
    if not raw.strip():
        return {}, False
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}, True
    if not isinstance(value, dict):
        return {}, True
    return value, False


def dispatch(
    state: EmulatorState,
    method: str,
    path: str,
    query: Mapping[str, str],
    raw_body: bytes,
    client_ip: str,
    content_type: str = "",
) -> dict[str, Any] | FileResult:
    """Serve one call and return the JSON body (always answered with HTTP 200), or a file."""
    hint = f"{state.clock.timestamp()}{ids.opaque(12)}"
    ep = REGISTRY.get(path.strip("/"))

    def fail(errcode: int, detail: str | None = None, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        skeleton = fields if fields is not None else (ep.skeleton if ep else {})
        return error_body(errcode, ip=client_ip, hint=hint, skeleton=skeleton, detail=detail)

    if ep is None:
        # What WeCom answers for a path it does not serve is not documented (spec §17 territory);
        # an errcode body keeps clients on their one error path.
        return fail(48001, "api unauthorized")
    if method != ep.method and not (method == "POST" and ep.method == "GET"):
        # A POST API called with GET: WeCom's 40063 text names exactly this cause.
        return fail(40063)

    call = Call(
        state=state, query=query, body={}, client_ip=client_ip, raw=raw_body, content_type=content_type
    )
    if ep.needs_token:
        failure = _check_token(call, ep)
        if failure is not None:
            return fail(failure)
    forced = state.faults.take(ep.path)
    if forced is not None:
        return fail(forced)
    if not ep.frequency_exempt and not _within_frequency(call, ep):
        return fail(45009)

    malformed = False
    if ep.method == "POST" and not ep.multipart:
        call.body, malformed = parse_body(raw_body)
    state.settle()  # whatever the clock reached happens before the call sees the state
    try:
        with state.store.transaction():
            result = ep.handler(call)
    except ApiError as exc:
        return fail(exc.errcode, exc.detail, exc.fields)
    if isinstance(result, FileResult):
        return result
    body: dict[str, Any] = {"errcode": 0, "errmsg": result.pop("errmsg", "ok")}
    if malformed:
        body["errmsg"] += ". Warning: wrong json format. "
    body.update(result)
    return body


def _check_token(call: Call, ep: Endpoint) -> int | None:
    token = call.query.get("access_token")
    if not token:
        return 41001
    row = call.state.store.one(
        "SELECT corp_pk, kind, expires_at, revoked FROM token WHERE token = ?", (token,)
    )
    if row is None or row["revoked"]:
        return 40014
    if row["expires_at"] <= call.state.clock.now():
        return 42001
    call.corp = call.state.corp_by_pk(row["corp_pk"])
    call.kind = row["kind"]
    if call.kind not in ep.kinds:
        return 48002
    if ep.customer_api:
        if call.kind == APP and not call.corp.app_in_contact_apps:
            return 48002
        if call.kind == CONTACT and not call.corp.contact_secret_enabled:
            return 48002
    return None


def _within_frequency(call: Call, ep: Endpoint) -> bool:
    settings, now = call.state.settings, call.state.clock.now()
    key = f"{call.corp.pk if call.corp else call.client_ip}:{ep.path}"
    minute = call.state.rate.hit(key, settings.per_api_per_minute, 60, now)
    return minute and call.state.rate.hit(key, settings.per_api_per_hour, 3600, now)
