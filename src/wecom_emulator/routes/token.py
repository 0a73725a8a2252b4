"""§1 gettoken."""

from __future__ import annotations

from typing import Any

from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError

_FAILURES = "gettoken-failures"


@endpoint("GET", "gettoken", needs_token=False, frequency_exempt=True)
def gettoken(call: Call) -> dict[str, Any]:
    state, now = call.state, call.state.clock.now()
    limit = state.settings.gettoken_failures_per_hour
    key = f"{_FAILURES}:{call.client_ip}"
    if limit is not None and state.rate.count(key, 3600, now) >= limit:
        raise ApiError(45009)  # the IP stays blocked until the hour window ends
    corp_id = call.q_str("corpid", missing=41002)
    secret = call.q_str("corpsecret", missing=41004)
    assert corp_id is not None
    assert secret is not None
    corp = state.find_corp(corp_id)
    kind = None if corp is None else corp.secret_kind(secret)
    if kind is None:
        state.rate.add(key, 3600, now)
        if corp is None:
            raise ApiError(40013)
        other = state.store.one(
            "SELECT 1 FROM corp WHERE app_secret = ? OR contact_secret = ? OR sync_secret = ?",
            (secret, secret, secret),
        )
        raise ApiError(40091 if other else 40001)
    assert corp is not None
    token, expires_in = state.issue_token(corp, kind)
    return {"access_token": token, "expires_in": expires_in}
