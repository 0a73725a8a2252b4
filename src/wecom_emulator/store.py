"""The emulator's own SQLite database (a file, or ``:memory:``).

Plain ``sqlite3`` on purpose: seeding a million customers needs ``executemany`` without an ORM in
the way, and the emulator is a single process whose handlers never await inside a transaction, so
one connection is enough. Rows reference each other by integer keys (``corp_pk``, ``member_pk``,
``customer_pk``) to keep a seeded million-customer file small."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS corp (
    pk INTEGER PRIMARY KEY,
    corp_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    agent_id INTEGER NOT NULL,
    app_secret TEXT NOT NULL,
    contact_secret TEXT NOT NULL,
    sync_secret TEXT NOT NULL,
    -- the self-built app is listed in 客户联系 → 可调用接口的应用 (else 48002 on customer APIs)
    app_in_contact_apps INTEGER NOT NULL DEFAULT 1,
    -- corps that used the 客户联系 system secret before 2023-12-01 may still do so
    contact_secret_enabled INTEGER NOT NULL DEFAULT 1,
    -- apps created before 2022-06-20 still get avatar/gender/mobile/email from user/get
    legacy_sensitive_fields INTEGER NOT NULL DEFAULT 0,
    oauth_domain TEXT NOT NULL DEFAULT '',
    callback_url TEXT,
    callback_token TEXT,
    callback_aes_key TEXT
);
CREATE TABLE IF NOT EXISTS department (
    corp_pk INTEGER NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT '',
    parentid INTEGER NOT NULL,
    ord INTEGER NOT NULL DEFAULT 0,
    leaders TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (corp_pk, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS member (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    userid TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL,
    departments TEXT NOT NULL,          -- JSON [int]
    main_department INTEGER NOT NULL,
    position TEXT NOT NULL DEFAULT '',
    mobile TEXT NOT NULL DEFAULT '',
    gender TEXT NOT NULL DEFAULT '0',
    email TEXT NOT NULL DEFAULT '',
    avatar TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 1,  -- 1 active, 2 disabled, 4 not activated, 5 quit
    visible INTEGER NOT NULL DEFAULT 1, -- inside the self-built app's visibility scope
    customer_contact INTEGER NOT NULL DEFAULT 1, -- has the customer-contact feature
    UNIQUE (corp_pk, userid)
);
CREATE TABLE IF NOT EXISTS customer (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    external_userid TEXT NOT NULL,
    name TEXT NOT NULL,
    avatar TEXT NOT NULL DEFAULT '',
    type INTEGER NOT NULL DEFAULT 1,
    gender INTEGER NOT NULL DEFAULT 0,
    unionid TEXT,
    position TEXT,
    corp_name TEXT,
    corp_full_name TEXT,
    UNIQUE (corp_pk, external_userid)
);
CREATE TABLE IF NOT EXISTS follow (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    customer_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,
    remark TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    createtime INTEGER NOT NULL,
    tag_ids TEXT NOT NULL DEFAULT '',   -- comma-separated corp tag ids; dead ones filtered on read
    remark_corp_name TEXT NOT NULL DEFAULT '',
    remark_mobiles TEXT NOT NULL DEFAULT '[]',
    add_way INTEGER NOT NULL DEFAULT 0,
    oper_userid TEXT NOT NULL DEFAULT '',
    state TEXT,
    customer_deleted INTEGER NOT NULL DEFAULT 0, -- the customer deleted the member (one-way remains)
    UNIQUE (customer_pk, member_pk)
);
CREATE INDEX IF NOT EXISTS follow_by_member ON follow (member_pk, pk);
CREATE TABLE IF NOT EXISTS tag_group (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    name TEXT NOT NULL,
    ord INTEGER NOT NULL DEFAULT 0,
    create_time INTEGER NOT NULL,
    creator TEXT NOT NULL,              -- 'admin' (console), 'app' (self-built app), 'contact'
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, group_id)
);
CREATE TABLE IF NOT EXISTS tag (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    tag_id TEXT NOT NULL,
    group_pk INTEGER NOT NULL,
    name TEXT NOT NULL,
    ord INTEGER NOT NULL DEFAULT 0,
    create_time INTEGER NOT NULL,
    creator TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, tag_id)
);
CREATE TABLE IF NOT EXISTS groupchat (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    chat_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    owner_pk INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    notice TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 0,  -- 0 normal, 1 owner resigned, 2 inheriting, 3 inherited
    admins TEXT NOT NULL DEFAULT '[]',  -- JSON [userid]
    member_version TEXT NOT NULL,
    UNIQUE (corp_pk, chat_id)
);
CREATE INDEX IF NOT EXISTS groupchat_by_owner ON groupchat (owner_pk, pk);
CREATE TABLE IF NOT EXISTS groupchat_member (
    pk INTEGER PRIMARY KEY,
    chat_pk INTEGER NOT NULL,
    userid TEXT NOT NULL,               -- member userid or external_userid
    type INTEGER NOT NULL,              -- 1 member, 2 external
    unionid TEXT,
    join_time INTEGER NOT NULL,
    join_scene INTEGER NOT NULL,
    invitor TEXT,
    group_nickname TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    state TEXT,
    UNIQUE (chat_pk, userid)
);
CREATE TABLE IF NOT EXISTS token (
    token TEXT PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- 'app', 'contact' or 'sync': which secret issued it
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS oauth_code (
    code TEXT PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    userid TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS welcome_code (
    code TEXT PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    userid TEXT NOT NULL,
    external_userid TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
-- when a member resigned (status 5); seeded resigned members get one too
CREATE TABLE IF NOT EXISTS resignation (
    member_pk INTEGER PRIMARY KEY,
    dimission_time INTEGER NOT NULL
);
-- what happened when, for the statistics: 'add' (new customer), 'customer_deleted' (the customer
-- deleted or blocked the member), 'member_deleted'
CREATE TABLE IF NOT EXISTS activity (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_by_member ON activity (member_pk, at);
-- 「联系我」 configs (spec §6.1); JSON columns hold lists and the conclusions object
CREATE TABLE IF NOT EXISTS contact_way (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    config_id TEXT NOT NULL,
    type INTEGER NOT NULL,
    scene INTEGER NOT NULL,
    style INTEGER,
    remark TEXT NOT NULL DEFAULT '',
    skip_verify INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT '',
    users TEXT NOT NULL DEFAULT '[]',
    parties TEXT NOT NULL DEFAULT '[]',
    is_temp INTEGER NOT NULL DEFAULT 0,
    expires_in INTEGER,
    chat_expires_in INTEGER,
    unionid TEXT,
    conclusions TEXT,
    qr_code TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,     -- a temporary QR code works once
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, config_id)
);
CREATE INDEX IF NOT EXISTS contact_way_by_time ON contact_way (corp_pk, created_at, pk);
-- 「加入群聊」 configs (spec §6.3); they share the 500k quota with contact ways
CREATE TABLE IF NOT EXISTS join_way (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    config_id TEXT NOT NULL,
    scene INTEGER NOT NULL,
    remark TEXT NOT NULL DEFAULT '',
    auto_create_room INTEGER NOT NULL DEFAULT 1,
    room_base_name TEXT NOT NULL DEFAULT '',
    room_base_id INTEGER NOT NULL DEFAULT 1,
    rooms_made INTEGER NOT NULL DEFAULT 0,
    chat_ids TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT '',
    qr_code TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, config_id)
);
CREATE TABLE IF NOT EXISTS group_welcome_template (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    template_id TEXT NOT NULL,
    body TEXT NOT NULL,                 -- JSON {text?, image?|link?|miniprogram?|file?|video?}
    creator TEXT NOT NULL,
    notify INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, template_id)
);
-- temporary media (3 days) and attachments; the bytes live here
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    type TEXT NOT NULL,                 -- image, voice, video, file
    attachment_type INTEGER,            -- upload_attachment: 1 moments, 2 product album
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
-- mass messages (spec §8): the message, one task per sending member, one row per recipient
CREATE TABLE IF NOT EXISTS groupmsg (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    msgid TEXT NOT NULL,
    chat_type TEXT NOT NULL,            -- single, group
    creator TEXT,                       -- absent for API-created messages
    create_type INTEGER NOT NULL,       -- 0 corp, 1 personal
    body TEXT NOT NULL,                 -- JSON {text?, attachments}
    allow_select INTEGER NOT NULL DEFAULT 0,
    chat_ids TEXT,                      -- group messages: JSON chat_id_list, NULL = owners pick
    create_time INTEGER NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, msgid)
);
CREATE INDEX IF NOT EXISTS groupmsg_by_time ON groupmsg (corp_pk, create_time, pk);
CREATE TABLE IF NOT EXISTS groupmsg_task (
    pk INTEGER PRIMARY KEY,
    msg_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,  -- 0 not sent, 2 sent
    send_time INTEGER,
    UNIQUE (msg_pk, member_pk)
);
CREATE TABLE IF NOT EXISTS groupmsg_send (
    pk INTEGER PRIMARY KEY,
    msg_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,
    target TEXT NOT NULL,               -- external_userid (single) or chat_id (group)
    status INTEGER NOT NULL DEFAULT 0,  -- 0 not sent, 1 sent, 2 not a friend, 3 receive cap reached
    send_time INTEGER
);
CREATE INDEX IF NOT EXISTS groupmsg_send_by_task ON groupmsg_send (msg_pk, member_pk, pk);
CREATE INDEX IF NOT EXISTS groupmsg_send_by_target ON groupmsg_send (target, status, send_time);
CREATE TABLE IF NOT EXISTS groupmsg_remind (
    msg_pk INTEGER NOT NULL,
    at INTEGER NOT NULL
);
-- customer transfers (spec §10): takeover happens at takeover_at unless refused
CREATE TABLE IF NOT EXISTS transfer (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- onjob, resigned
    handover_pk INTEGER NOT NULL,
    takeover_pk INTEGER NOT NULL,
    customer_pk INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 2,  -- 1 done, 2 waiting, 3 refused, 4 takeover at the cap
    created_at INTEGER NOT NULL,
    takeover_at INTEGER NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0, -- the customer refused during the wait (on-job only)
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS transfer_by_pair ON transfer (handover_pk, takeover_pk, pk);
CREATE INDEX IF NOT EXISTS transfer_by_customer ON transfer (customer_pk, created_at);
CREATE INDEX IF NOT EXISTS transfer_due ON transfer (status, takeover_at);
CREATE TABLE IF NOT EXISTS chat_transfer (
    pk INTEGER PRIMARY KEY,
    chat_pk INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- onjob, resigned
    from_pk INTEGER NOT NULL,
    to_pk INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_transfer_by_chat ON chat_transfer (chat_pk, at);
CREATE INDEX IF NOT EXISTS chat_transfer_by_owner ON chat_transfer (from_pk, at);
-- moments (spec §11): an add_moment_task job becomes a moment when its time comes
CREATE TABLE IF NOT EXISTS moment_job (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    jobid TEXT NOT NULL UNIQUE,
    request TEXT NOT NULL,              -- JSON: the checked request
    created_at INTEGER NOT NULL,
    done_at INTEGER NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    result TEXT                         -- JSON result once finished
);
CREATE INDEX IF NOT EXISTS moment_job_due ON moment_job (finished, done_at);
CREATE TABLE IF NOT EXISTS moment (
    pk INTEGER PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    moment_id TEXT NOT NULL,
    creator TEXT,                       -- absent for API-created moments
    create_type INTEGER NOT NULL,       -- 0 corp, 1 personal
    visible_type INTEGER NOT NULL,      -- 0 partial (by tags), 1 public
    body TEXT NOT NULL,                 -- JSON {text, image|video|link}
    tag_ids TEXT NOT NULL DEFAULT '[]',
    create_time INTEGER NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    UNIQUE (corp_pk, moment_id)
);
CREATE INDEX IF NOT EXISTS moment_by_time ON moment (corp_pk, create_time, pk);
CREATE TABLE IF NOT EXISTS moment_task (
    pk INTEGER PRIMARY KEY,
    moment_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,
    publish_status INTEGER NOT NULL DEFAULT 0,
    publish_time INTEGER,
    UNIQUE (moment_pk, member_pk)
);
CREATE TABLE IF NOT EXISTS moment_interaction (
    pk INTEGER PRIMARY KEY,
    moment_pk INTEGER NOT NULL,
    member_pk INTEGER NOT NULL,         -- whose post of the moment
    who TEXT NOT NULL,                  -- external_userid or member userid
    who_type INTEGER NOT NULL,          -- 1 member, 2 customer
    kind TEXT NOT NULL,                 -- like, comment
    content TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS moment_interaction_by_post ON moment_interaction (moment_pk, member_pk, pk);
-- opengid (mini-program group id) of a customer group, made when a mini-program first asks
CREATE TABLE IF NOT EXISTS opengid (
    opengid TEXT PRIMARY KEY,
    corp_pk INTEGER NOT NULL,
    chat_pk INTEGER NOT NULL UNIQUE
);
"""


class Store:
    """One SQLite connection with the emulator's schema."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        # check_same_thread=False: uvicorn may build the app in one thread and serve in another;
        # access is still serialised because handlers never yield inside a transaction.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.conn.in_transaction:  # nested: the outer transaction commits
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.conn.close()
