"""The record of processing activities over the API (JSON and CSV, both languages, login required)
and the ``huike inventory`` command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import huike.models
from huike.cli import app as cli
from huike.privacy.ropa.service import csv_header, export

Base = huike.models.Base
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def _column(body: dict[str, object], table: str, column: str) -> dict[str, object]:
    tables = body["tables"]
    assert isinstance(tables, list)
    found = next(t for t in tables if t["table"] == table)
    return next(c for c in found["columns"] if c["column"] == column)


@pytest.mark.parametrize("path", ["/api/v1/privacy/inventory", "/api/v1/privacy/inventory.csv"])
async def test_inventory_needs_a_tenant_login(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.required"


async def test_inventory_json_in_chinese_by_default(logged_in: httpx.AsyncClient) -> None:
    response = await logged_in.get("/api/v1/privacy/inventory")
    assert response.status_code == 200
    body = response.json()
    assert body["locale"] == "zh-CN"
    assert "user.contact.phone_number" in body["encrypted_categories"]
    actor = _column(body, "audit_events", "actor_id")
    assert actor["category"] == "user.unique_id"
    assert actor["category_label"] == "用户内部标识"
    assert actor["personal"] is True
    assert actor["subject"] == "account_holder"
    assert actor["purposes"][0]["legal_basis"] == "legal_duty"
    secret = _column(body, "wecom_connections", "app_secret")
    assert secret["encrypted"] is True
    assert secret["personal"] is False
    inbox = next(t for t in body["tables"] if t["table"] == "wecom_inbox_events")
    assert inbox["owner_role"] == "customer"
    assert inbox["owner_label"] == "客户为个人信息处理者，平台为受托处理者"
    assert inbox["region"] == "cn-mainland"
    assert inbox["retention"] == {
        "trigger": "created",
        "days": 30,
        "action": "delete_row",
        "text": "创建后 30 天：删除记录",
    }
    assert any("payload.ExternalUserID" in path for path in inbox["subject_paths"])


async def test_inventory_json_in_english(logged_in: httpx.AsyncClient) -> None:
    body = (await logged_in.get("/api/v1/privacy/inventory", headers=EN)).json()
    assert body["locale"] == "en"
    assert _column(body, "audit_events", "actor_id")["category_label"] == "Internal user ID"
    tenants = next(t for t in body["tables"] if t["table"] == "tenants")
    assert tenants["owner_label"] == "The platform as handler"
    assert tenants["personal"] is False


@pytest.mark.parametrize(("headers", "locale"), [(ZH, "zh-CN"), (EN, "en")])
async def test_inventory_csv_opens_in_excel(
    logged_in: httpx.AsyncClient, headers: dict[str, str], locale: str
) -> None:
    response = await logged_in.get("/api/v1/privacy/inventory.csv", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="huike-inventory.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == csv_header("en" if locale == "en" else "zh-CN")
    columns = sum(len(table.columns) for table in Base.metadata.tables.values())
    assert len(rows) == 1 + columns
    secret_row = next(row for row in rows if row[:2] == ["wecom_connections", "app_secret"])
    assert secret_row[6] == ("yes" if locale == "en" else "是")
    if locale == "zh-CN":
        assert rows[0][:2] == ["数据表", "字段"]
        assert "保持登录状态" in next(row for row in rows if row[:2] == ["auth_sessions", "user_id"])[9]


def test_cli_exports_json_csv_and_markdown() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["inventory", "export", "--format", "json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["locale"] == "en"
    assert {t["table"] for t in body["tables"]} == set(Base.metadata.tables)

    result = runner.invoke(cli, ["inventory", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf" + "数据表,字段".encode())

    result = runner.invoke(cli, ["inventory", "export", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == export(Base, "md", "zh-CN")
    assert result.stdout.startswith("# 数据清单：个人信息处理活动记录")


def test_cli_writes_a_file(tmp_path: Path) -> None:

    target = tmp_path / "out" / "inventory.csv"
    result = CliRunner().invoke(cli, ["inventory", "export", "-f", "csv", "--lang", "en", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == export(Base, "csv", "en")


def test_cli_refuses_an_unknown_format() -> None:
    result = CliRunner().invoke(cli, ["inventory", "export", "--format", "xlsx"])
    assert result.exit_code == 2
