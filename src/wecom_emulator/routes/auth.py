"""§3.3 auth/getuserinfo: the code comes from the web QR login page (``wecom_emulator.web``)."""

from __future__ import annotations

from typing import Any

from wecom_emulator import ids
from wecom_emulator.api import Call, endpoint
from wecom_emulator.errors import ApiError
from wecom_emulator.state import APP, EmulatorState


def issue_code(state: EmulatorState, corp_pk: int, userid: str) -> str:
    """A single-use login code valid for ``oauth_code_ttl`` seconds (5 minutes)."""
    code = ids.opaque(64)
    state.store.conn.execute(
        "INSERT INTO oauth_code (code, corp_pk, userid, expires_at) VALUES (?, ?, ?, ?)",
        (code, corp_pk, userid, state.clock.now() + state.settings.oauth_code_ttl),
    )
    return code


# A valid code is exempt from frequency limits (spec §14.2).
@endpoint("GET", "auth/getuserinfo", kinds=frozenset({APP}), frequency_exempt=True)
def getuserinfo(call: Call) -> dict[str, Any]:
    code = call.q_str("code", missing=41008)
    row = call.state.store.one("SELECT * FROM oauth_code WHERE code = ?", (code,))
    if (
        row is None
        or row["used"]
        or row["corp_pk"] != call.the_corp.pk
        or row["expires_at"] <= call.state.clock.now()
    ):
        raise ApiError(40029)
    call.db.execute("UPDATE oauth_code SET used = 1 WHERE code = ?", (code,))
    # Web login answers the userid only (no user_ticket), in or out of the app's scope.
    return {"userid": row["userid"]}
