"""Everything the emulator knows: the database, the clock, limits and switches, and the callback
delivery queue. One ``EmulatorState`` serves any number of corps."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from wecom_emulator import ids, timeline
from wecom_emulator.callbacks import DeliveryQueue
from wecom_emulator.clock import Clock
from wecom_emulator.limits import Faults, RateLimiter
from wecom_emulator.store import Store

# Which secret issued a token (spec §0.2): the self-built app's, the 客户联系 system app's, or the
# 通讯录同步 (contact-sync) one.
APP, CONTACT, SYNC = "app", "contact", "sync"


@dataclass
class Settings:
    """Limits and switches. Frequency limits are off unless set (WeCom's documented defaults are
    10,000/minute and 150,000/hour per corp and API, spec §14.2)."""

    token_ttl: int = 7200
    oauth_code_ttl: int = 300
    welcome_code_ttl: int = 20
    per_api_per_minute: int | None = None
    per_api_per_hour: int | None = None
    # Many wrong-secret gettoken calls from one IP block it for an hour (spec §1; the count is a
    # WeCom staff answer, not documented policy).
    gettoken_failures_per_hour: int | None = 2000
    # §6: API-created contact ways and join ways together; temporary ones per day
    contact_way_quota: int = 500_000
    temp_contact_ways_per_day: int = 100_000
    # §6.3 join ways: a group is full at this many members (auto_create_room then opens a new one)
    group_member_cap: int = 500
    # §7.2
    group_welcome_templates: int = 100
    # §8.1 receive cap per customer (and per group): "month" = as many as the month has days (the
    # current default), "week" = 7 per natural week, "day" = 1 per day. ``mass_cap_count`` overrides
    # the number (e.g. period "month" with 4 is the oldest documented rule).
    mass_cap_period: str = "month"
    mass_cap_count: int | None = None
    # §8.1 41063: for this many seconds after add_msg_template, its task and results are "being
    # dispatched". Off (0) by default so frozen-clock callers do not have to move time.
    mass_dispatch_seconds: int = 0
    remind_per_day: int = 3
    # §10: takeover happens this long after transfer_customer; on-job quota per customer and group
    transfer_delay: int = 24 * 3600
    onjob_transfers: int = 2
    onjob_transfer_days: int = 90
    group_transfers_per_day: int = 300
    # a member's customer cap (transfer status 4 / customer_limit_exceed); None = no cap
    member_customer_cap: int | None = None
    # §11: add_moment_task jobs finish this many seconds after creation; creates per minute
    moment_job_seconds: int = 3
    moment_tasks_per_minute: int = 10
    media_ttl: int = 3 * 24 * 3600


@dataclass(frozen=True)
class Corp:
    pk: int
    corp_id: str
    name: str
    agent_id: int
    app_secret: str
    contact_secret: str
    sync_secret: str
    app_in_contact_apps: bool
    contact_secret_enabled: bool
    legacy_sensitive_fields: bool
    oauth_domain: str
    callback_url: str | None
    callback_token: str | None
    callback_aes_key: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Corp:
        return cls(
            pk=row["pk"],
            corp_id=row["corp_id"],
            name=row["name"],
            agent_id=row["agent_id"],
            app_secret=row["app_secret"],
            contact_secret=row["contact_secret"],
            sync_secret=row["sync_secret"],
            app_in_contact_apps=bool(row["app_in_contact_apps"]),
            contact_secret_enabled=bool(row["contact_secret_enabled"]),
            legacy_sensitive_fields=bool(row["legacy_sensitive_fields"]),
            oauth_domain=row["oauth_domain"],
            callback_url=row["callback_url"],
            callback_token=row["callback_token"],
            callback_aes_key=row["callback_aes_key"],
        )

    def secret_kind(self, secret: str) -> str | None:
        for kind, value in ((APP, self.app_secret), (CONTACT, self.contact_secret), (SYNC, self.sync_secret)):
            if secret == value:
                return kind
        return None


@dataclass
class EmulatorState:
    """The emulator's whole state. ``path`` is a SQLite file, or ``:memory:``."""

    path: str = ":memory:"
    clock: Clock = field(default_factory=lambda: Clock(frozen=True))
    settings: Settings = field(default_factory=Settings)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.store = Store(self.path)
        self.faults = Faults()
        self.rate = RateLimiter()
        self.deliveries = DeliveryQueue(self)
        # corp_pk -> {tag_id: (group_name, tag_name)} of live corp tags; dropped on any tag change
        self.tag_cache: dict[int, dict[str, tuple[str, str]]] = {}
        # welcome messages accepted by send_welcome_msg, for tests and the scenario API to inspect
        self.welcome_messages: list[dict[str, Any]] = []

    # -- corps --------------------------------------------------------------------------------

    def create_corp(
        self,
        corp_id: str | None = None,
        *,
        name: str = "汇客演示企业",
        agent_id: int = 1000002,
        app_secret: str | None = None,
        contact_secret: str | None = None,
        sync_secret: str | None = None,
        oauth_domain: str = "",
        **flags: Any,
    ) -> Corp:
        """A corp with its three secrets; secrets not given are generated."""
        corp_id = corp_id or ids.corp_id(self.rng)
        allowed = {"app_in_contact_apps", "contact_secret_enabled", "legacy_sensitive_fields"}
        if set(flags) - allowed:
            raise TypeError(f"unknown corp flags: {sorted(set(flags) - allowed)}")
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO corp (corp_id, name, agent_id, app_secret, contact_secret, sync_secret,"
                " oauth_domain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    corp_id,
                    name,
                    agent_id,
                    app_secret or ids.secret(self.rng),
                    contact_secret or ids.secret(self.rng),
                    sync_secret or ids.secret(self.rng),
                    oauth_domain,
                ),
            )
            for flag, value in flags.items():
                conn.execute(f"UPDATE corp SET {flag} = ? WHERE corp_id = ?", (int(bool(value)), corp_id))  # noqa: S608
        return self.corp(corp_id)

    def corp(self, corp_id: str) -> Corp:
        found = self.find_corp(corp_id)
        if found is None:
            raise KeyError(corp_id)
        return found

    def find_corp(self, corp_id: str) -> Corp | None:
        row = self.store.one("SELECT * FROM corp WHERE corp_id = ?", (corp_id,))
        return None if row is None else Corp.from_row(row)

    def corp_by_pk(self, pk: int) -> Corp:
        row = self.store.one("SELECT * FROM corp WHERE pk = ?", (pk,))
        if row is None:
            raise KeyError(pk)
        return Corp.from_row(row)

    def set_corp_flags(self, corp_id: str, **flags: bool) -> Corp:
        allowed = {"app_in_contact_apps", "contact_secret_enabled", "legacy_sensitive_fields"}
        for flag, value in flags.items():
            if flag not in allowed:
                raise TypeError(flag)
            self.store.conn.execute(f"UPDATE corp SET {flag} = ? WHERE corp_id = ?", (int(value), corp_id))  # noqa: S608
        return self.corp(corp_id)

    # -- tokens ---------------------------------------------------------------------------------

    def issue_token(self, corp: Corp, kind: str) -> tuple[str, int]:
        """The app's current token with its remaining lifetime, or a new one (spec §1: the same
        token is returned while it is valid)."""
        now = self.clock.now()
        row = self.store.one(
            "SELECT token, expires_at FROM token WHERE corp_pk = ? AND kind = ? AND revoked = 0"
            " AND expires_at > ? ORDER BY expires_at DESC LIMIT 1",
            (corp.pk, kind, now),
        )
        if row is not None:
            return row["token"], int(row["expires_at"] - now)
        token = ids.opaque(96, self.rng)
        ttl = self.settings.token_ttl
        self.store.conn.execute(
            "INSERT INTO token (token, corp_pk, kind, expires_at) VALUES (?, ?, ?, ?)",
            (token, corp.pk, kind, now + ttl),
        )
        return token, ttl

    def revoke_tokens(self, corp_id: str | None = None, kind: str | None = None) -> int:
        """Revoke tokens early, as WeCom may (then 40014 until the client fetches a new one)."""
        sql = "UPDATE token SET revoked = 1 WHERE revoked = 0 AND expires_at > ?"
        params: list[Any] = [self.clock.now()]
        if corp_id is not None:
            sql += " AND corp_pk = ?"
            params.append(self.corp(corp_id).pk)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return self.store.conn.execute(sql, params).rowcount

    def settle(self) -> None:
        """Apply whatever the clock has reached (transfer takeovers, moment jobs ...). Called before
        every API call, scenario and delivery run, so time-driven results appear when time passes."""
        timeline.settle(self)

    def close(self) -> None:
        self.store.close()
