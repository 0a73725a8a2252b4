"""R-ACC-1 (§一（二）4 「头像、用户名、企业 ID」; 5.1 「企业微信帐号、头像与性别」): these are used for display
and login only. Gender is stored only if WeCom returns it; no logic uses it.

Acceptance: F1 purposes ⊆ {display, login}; no query filters or groups on gender; no profile field
in SMS payloads."""

from __future__ import annotations

import ast
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import huike
from huike.account import repository as repo
from huike.account.models import AccountProfile
from huike.account.profile import remember_wecom_basics
from huike.account.sms import SMS_CATEGORIES, SmsMessage
from huike.models import Base
from huike.privacy.egress import EgressClient, EgressDenied
from huike.privacy.inventory import INFO_KEY
from tests.account.conftest import PHONE, Flows
from tests.account.test_r_otp_1_sms_codes import RecordingAliyun

# the §一（二）4 / 5.1 data of an account: name, avatar, corp id, WeCom account, gender
PROFILE_CATEGORIES = {
    "user.name",
    "user.account",
    "user.wecom.avatar",
    "user.wecom.gender",
    "user.wecom.corp_id",
    "user.wecom.account",
    "user.wecom.account.blind_index",
}
ACCOUNT_TABLES = ("users", "account_profiles")
ALLOWED_PURPOSES = {"account.display", "account.login"}
SRC = Path(huike.__file__).parent


def profile_columns() -> list[tuple[str, str, set[str]]]:
    """(table, column, effective purposes) of every account column holding §一（二）4 / 5.1 data."""
    found = []
    for name in ACCOUNT_TABLES:
        table = Base.metadata.tables[name]
        inventory = (
            table.info.get("huike.table_inventory")
            or next(m.class_ for m in Base.registry.mappers if m.local_table is table).__inventory__
        )
        for column in table.columns:
            field = column.info.get(INFO_KEY)
            if field is None or field.category not in PROFILE_CATEGORIES:
                continue
            purposes = field.purposes or inventory.purposes
            found.append((name, column.name, {p.code for p in purposes}))
    return found


def test_r_acc_1_f1_purposes_are_display_and_login_only() -> None:
    columns = profile_columns()
    assert {column for _, column, _ in columns} >= {
        "display_name",
        "avatar_file",
        "wecom_avatar_url",
        "wecom_gender",
        "wecom_corp_id",
        "wecom_userid",
        "wecom_userid_index",
    }
    wrong = [
        (table, column, purposes) for table, column, purposes in columns if not purposes <= ALLOWED_PURPOSES
    ]
    assert wrong == []


QUERY_METHODS = {
    "where",
    "filter",
    "filter_by",
    "group_by",
    "order_by",
    "having",
    "join",
    "distinct",
    "partition_by",
}


def _mentions_gender(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and "gender" in child.attr:
            return True
        if isinstance(child, ast.Name) and "gender" in child.id:
            return True
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and "gender" in child.value:
            return True
        if isinstance(child, ast.keyword) and child.arg and "gender" in child.arg:
            return True
    return False


def test_r_acc_1_no_query_filters_or_groups_on_gender() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
                and any(_mentions_gender(arg) for arg in [*node.args, *node.keywords])
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


async def test_r_acc_1_reading_the_profile_never_filters_or_groups_on_gender(
    flows: Flows, session: AsyncSession
) -> None:
    assert (await flows.register()).status_code == 201
    user = await repo.user_by_phone(session, "+86" + PHONE)
    assert user is not None
    tenant_id = (await repo.memberships_of(session, user.id))[0].tenant_id
    await remember_wecom_basics(session, tenant_id, user.id, avatar="https://wework.qpic.cn/a/0", gender="2")
    await session.commit()
    statements: list[str] = []
    engine = session.bind.engine.sync_engine  # type: ignore[union-attr]

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        body = (await flows.client.get("/api/v1/auth/profile")).json()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert body["wecom_gender"] == "2"  # shown
    assert statements
    for statement in statements:
        for clause in ("where", "group by", "order by", "having"):
            _, found, rest = statement.partition(clause)
            assert not (found and "gender" in rest), statement


async def test_r_acc_1_gender_is_stored_only_if_wecom_returns_it(flows: Flows, session: AsyncSession) -> None:
    assert (await flows.register()).status_code == 201
    user = await repo.user_by_phone(session, "+86" + PHONE)
    assert user is not None
    tenant_id = (await repo.memberships_of(session, user.id))[0].tenant_id
    for withheld in ("", "0"):
        await remember_wecom_basics(session, tenant_id, user.id, avatar="", gender=withheld)
        assert await session.scalar(select(func.count()).select_from(AccountProfile)) == 0
    await remember_wecom_basics(session, tenant_id, user.id, avatar="", gender="1")
    profile = (await session.execute(select(AccountProfile))).scalar_one()
    assert profile.wecom_gender == "1"
    await remember_wecom_basics(session, tenant_id, user.id, avatar="", gender="0")
    await session.refresh(profile)
    assert profile.wecom_gender is None  # withheld later: forgotten


def test_r_acc_1_no_profile_field_in_sms_payloads() -> None:
    assert {f.name for f in dataclasses.fields(SmsMessage)} == {"phone", "code", "purpose"}
    assert set(SMS_CATEGORIES) == {"user.contact.phone_number", "user.authorization.sms_code"}
    params = (
        RecordingAliyun()
        .provider()
        .request_params(
            SmsMessage("+8613800138000", "482913", "login"),
            nonce="n",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    assert {"PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"} <= set(params)
    assert not [
        key
        for key in params
        if any(word in key.lower() for word in ("name", "avatar", "gender", "corp", "user"))
        if key not in ("SignName",)
    ]


@pytest.mark.parametrize("category", sorted(PROFILE_CATEGORIES - {"user.wecom.account.blind_index"}))
def test_r_acc_1_the_sms_recipient_may_not_receive_profile_data(category: str) -> None:
    with pytest.raises(EgressDenied):
        EgressClient().check("aliyun_sms", "https://dysmsapi.aliyuncs.com/", [*SMS_CATEGORIES, category])
