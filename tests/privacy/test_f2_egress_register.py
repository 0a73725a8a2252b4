"""The egress register (F2): one outbound client that refuses what the register does not declare."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.privacy.egress import (
    REGISTER,
    EgressClient,
    EgressDenied,
    EgressRecord,
    EgressUnavailable,
    public_third_parties,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "huike"


def echo_transport() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errcode": 0})

    return httpx.MockTransport(handler), seen


class TestEgressClient:
    async def test_registered_transfer_is_sent_and_recorded_without_values(
        self, session: AsyncSession
    ) -> None:
        transport, seen = echo_transport()
        client = EgressClient(transport=transport)
        response = await client.request(
            "aliyun_sms",
            "POST",
            "https://dysmsapi.aliyuncs.com/",
            categories=["user.contact.phone_number", "user.authorization.sms_code"],
            ground="account.login",
            subjects=1,
            session=session,
            data={"PhoneNumbers": "13800138000"},
        )
        assert response.status_code == 200
        assert len(seen) == 1
        await session.flush()
        record = (await session.execute(select(EgressRecord))).scalars().one()
        assert (record.recipient, record.ground, record.subject_count) == ("aliyun_sms", "account.login", 1)
        assert "13800138000" not in repr(record.__dict__)
        await client.aclose()

    @pytest.mark.parametrize(
        ("recipient", "url", "categories", "reason"),
        [
            ("nobody", "https://example.com/", [], "unknown_recipient"),
            ("wecom", "https://evil.example.com/cgi-bin/gettoken", [], "host_not_declared"),
            (
                "aliyun_sms",
                "https://dysmsapi.aliyuncs.com/",
                ["customer_data.external_contact.remark"],
                "category_not_allowed",
            ),
            (
                "wecom",
                "https://qyapi.weixin.qq.com/cgi-bin/x",
                ["user.contact.phone_number"],
                "category_not_allowed",
            ),
        ],
    )
    async def test_refuses_what_the_register_does_not_declare(
        self, recipient: str, url: str, categories: list[str], reason: str
    ) -> None:
        transport, seen = echo_transport()
        client = EgressClient(transport=transport)
        with pytest.raises(EgressDenied) as denied:
            await client.request(recipient, "GET", url, categories=categories, ground="test")
        assert denied.value.details["reason"] == reason
        assert seen == []

    async def test_customer_data_may_go_to_the_customers_own_corp(self) -> None:
        transport, seen = echo_transport()
        client = EgressClient(transport=transport)
        await client.request(
            "wecom",
            "POST",
            "https://qyapi.weixin.qq.com/cgi-bin/externalcontact/remark",
            categories=["customer_data.external_contact.remark"],
            ground="scrm.remark",
        )
        assert len(seen) == 1

    async def test_extra_hosts_point_a_recipient_at_the_emulator(self) -> None:
        transport, seen = echo_transport()
        client = EgressClient(transport=transport, extra_hosts={"wecom": ("127.0.0.1",)})
        await client.request(
            "wecom", "GET", "http://127.0.0.1:8000/cgi-bin/gettoken", categories=[], ground="t"
        )
        assert len(seen) == 1
        with pytest.raises(EgressDenied):
            await client.request("aliyun_sms", "GET", "http://127.0.0.1:8000/", categories=[], ground="t")

    async def test_unreachable_recipient_is_a_typed_error(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        client = EgressClient(transport=httpx.MockTransport(refuse))
        with pytest.raises(EgressUnavailable):
            await client.request(
                "wecom", "GET", "https://qyapi.weixin.qq.com/cgi-bin/gettoken", categories=[], ground="t"
            )

    def test_every_recipient_is_in_the_mainland_and_fully_described(self) -> None:
        for recipient in REGISTER.values():
            assert recipient.region == "cn-mainland"
            assert recipient.policy_url.startswith("https://")
            assert all((recipient.entity_zh, recipient.entity_en, recipient.hosts, recipient.flows))
            for flow in recipient.flows:
                assert all((flow.categories, flow.shared_zh, flow.scene_zh, flow.purpose_zh))


def test_public_table_matches_the_policy_snapshot() -> None:
    rows = public_third_parties()
    assert [
        (r["product_zh"], r["entity_zh"], r["shared_zh"], r["scene_zh"], r["purpose_zh"]) for r in rows
    ] == [
        ("企业微信", "深圳市腾讯计算机系统有限公司", "企微名称、企微头像", "用户授权登录", "用户授权登录"),
        ("阿里云", "阿里云计算有限公司", "手机号码", "短信验证码", "登录"),
    ]


def test_no_outbound_http_outside_the_egress_client() -> None:
    """A lint: httpx, requests, urllib.request, aiohttp and http.client are imported only by egress.py."""
    banned = {"httpx", "requests", "urllib.request", "urllib3", "aiohttp", "http.client"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "egress.py" and path.parent.name == "privacy":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(SRC)}: {name}"
                for name in names
                if name in banned or name.split(".")[0] in banned - {"urllib", "http"}
            ]
    assert offenders == []
