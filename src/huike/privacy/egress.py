"""The egress register (F2) and the one outbound HTTP client.

Every third party Huike sends data to is a :class:`Recipient` in :data:`REGISTER`, with what it
receives, in which scene, for which purpose, how, where, and under which rules. :class:`EgressClient`
is the only code that opens outbound HTTP connections (a test forbids ``httpx``, ``requests`` and
``urllib`` imports elsewhere in ``huike``): it refuses a host that no recipient declares, a recipient
outside the mainland, and a data category the recipient may not receive, and it records each transfer
(recipient, ground, categories, number of subjects — never values).

Flows of the customer's own data to the customer's own WeCom corp (客户使用数据, the platform acting as
entrusted processor) are registered too, but only platform-owned flows appear in the public
third-party table of the privacy policy (section 三（一）2).
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from huike.core.db import Base, utcnow
from huike.core.errors import AppError
from huike.core.i18n import register_messages
from huike.privacy.inventory import Erasure, Owner, Purpose, Retention, Subject, TableInventory, describe

log = structlog.get_logger(__name__)

TRANSFERS = Counter("huike_egress_transfers_total", "Outbound transfers", ["recipient", "outcome"])

MAINLAND = "cn-mainland"


class Role(StrEnum):
    sdk = "sdk"  # 共享 / 接入的第三方
    entrusted_processor = "entrusted_processor"  # 委托处理
    affiliate = "affiliate"
    authority = "authority"
    customer_instructed = "customer_instructed"  # the customer's own corp, on the customer's instruction


@dataclass(frozen=True)
class Flow:
    """One kind of transfer to a recipient."""

    categories: tuple[str, ...]
    shared_zh: str
    shared_en: str
    scene_zh: str
    scene_en: str
    purpose_zh: str
    purpose_en: str
    owner: Owner = Owner.platform

    @property
    def public(self) -> bool:
        return self.owner == Owner.platform


@dataclass(frozen=True)
class Recipient:
    key: str
    product_zh: str
    product_en: str
    entity_zh: str
    entity_en: str
    role: Role
    hosts: tuple[str, ...]
    flows: tuple[Flow, ...]
    policy_url: str
    transfer_zh: str = "HTTPS 加密传输"
    transfer_en: str = "HTTPS (TLS encrypted)"
    region: str = MAINLAND
    contract_ref: str = ""
    published_in: str = "2023-02-22"

    def allows(self, category: str) -> bool:
        return any(_category_matches(category, allowed) for flow in self.flows for allowed in flow.categories)


def _category_matches(category: str, allowed: str) -> bool:
    if allowed.endswith(".*"):
        return category == allowed[:-2] or category.startswith(allowed[:-1])
    return category == allowed


REGISTER: dict[str, Recipient] = {
    recipient.key: recipient
    for recipient in (
        Recipient(
            key="wecom",
            product_zh="企业微信",
            product_en="WeCom",
            entity_zh="深圳市腾讯计算机系统有限公司",
            entity_en="Shenzhen Tencent Computer Systems Co., Ltd.",
            role=Role.sdk,
            hosts=("qyapi.weixin.qq.com", "open.work.weixin.qq.com", "login.work.weixin.qq.com"),
            policy_url="https://work.weixin.qq.com/nl/privacy",
            flows=(
                Flow(
                    categories=("user.wecom.account", "user.wecom.name", "user.wecom.avatar"),
                    shared_zh="企微名称、企微头像",
                    shared_en="WeCom name and avatar",
                    scene_zh="用户授权登录",
                    scene_en="Sign-in authorised by the user",
                    purpose_zh="用户授权登录",
                    purpose_en="Sign-in authorised by the user",
                ),
                Flow(
                    categories=("customer_data.*", "system.wecom_credentials"),
                    shared_zh="客户使用数据（如外部联系人备注、标签、群发内容）",
                    shared_en="Customer data (e.g. contact remarks, tags, mass-message content)",
                    scene_zh="客户在其企业微信中使用 SCRM 功能",
                    scene_en="The customer uses SCRM functions in its own WeCom corp",
                    purpose_zh="按客户指示处理客户使用数据",
                    purpose_en="Processing customer data on the customer's instructions",
                    owner=Owner.customer,
                ),
            ),
        ),
        Recipient(
            key="aliyun_sms",
            product_zh="阿里云",
            product_en="Alibaba Cloud",
            entity_zh="阿里云计算有限公司",
            entity_en="Alibaba Cloud Computing Co., Ltd.",
            role=Role.sdk,
            hosts=("dysmsapi.aliyuncs.com",),
            policy_url=(
                "https://terms.aliyun.com/legal-agreement/terms/suit_bu1_alibaba_communication/"
                "suit_bu1_alibaba_communication201802011702_87839.html"
            ),
            flows=(
                Flow(
                    categories=("user.contact.phone_number", "user.authorization.sms_code"),
                    shared_zh="手机号码",
                    shared_en="Mobile phone number",
                    scene_zh="短信验证码",
                    scene_en="SMS verification code",
                    purpose_zh="登录",
                    purpose_en="Sign-in",
                ),
            ),
        ),
        Recipient(
            key="aliyun_kms",
            product_zh="阿里云密钥管理服务",
            product_en="Alibaba Cloud Key Management Service",
            entity_zh="阿里云计算有限公司",
            entity_en="Alibaba Cloud Computing Co., Ltd.",
            role=Role.entrusted_processor,
            hosts=("kms.*.aliyuncs.com", "kms-vpc.*.aliyuncs.com"),
            policy_url="https://terms.aliyun.com/legal-agreement/terms/suit_bu1_ali_cloud/suit_bu1_ali_cloud201710240919_10839.html",
            flows=(
                Flow(
                    categories=("system.key_material",),
                    shared_zh="加密密钥（不含个人信息）",
                    shared_en="Encryption keys (no personal information)",
                    scene_zh="数据加密",
                    scene_en="Data encryption",
                    purpose_zh="保护存储的个人信息",
                    purpose_en="Protecting stored personal information",
                    owner=Owner.customer,
                ),
            ),
            published_in="",
        ),
    )
}


class EgressDenied(AppError):
    """A transfer the register does not allow. A configuration or programming error, never user input."""

    status_code = 500
    code = "egress.denied"


class EgressUnavailable(AppError):
    """The recipient could not be reached (connect error or timeout)."""

    status_code = 502
    code = "egress.unavailable"


register_messages(
    {
        "egress.denied": (
            "该数据传输未在第三方登记表中登记，已被拒绝。",
            "This transfer is not in the register and was refused.",
        ),
        "egress.unavailable": (
            "第三方服务暂时无法访问，请稍后重试。",
            "A third-party service is unreachable. Please retry later.",
        ),
    }
)


class EgressRecord(Base):
    """One transfer: to whom, on what ground, which categories, how many subjects. Never values."""

    __tablename__ = "egress_records"
    __inventory__ = TableInventory(
        subject=Subject.none,
        owner=Owner.platform,
        purposes=(
            Purpose(
                "accountability.transfers",
            ),
        ),
        retention=Retention("created", 365, Erasure.delete_row),
        erasure=Erasure.delete_row,
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    recipient: Mapped[str] = mapped_column(String(50), info=describe("system.egress.recipient"))
    ground: Mapped[str] = mapped_column(String(100), info=describe("system.egress.ground"))
    categories: Mapped[dict[str, Any]] = mapped_column(info=describe("system.egress.categories"))
    subject_count: Mapped[int] = mapped_column(Integer, info=describe("system.egress.count"))
    status_code: Mapped[int | None] = mapped_column(Integer, info=describe("system.egress.status"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _host_allowed(host: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


@dataclass
class EgressClient:
    """The one outbound HTTP client. ``extra_hosts`` lets a deployment point a recipient elsewhere
    (the WeCom emulator on loopback in embedded mode and in tests)."""

    register: Mapping[str, Recipient] = field(default_factory=lambda: REGISTER)
    extra_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 10.0
    _http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self.transport,
                timeout=httpx.Timeout(self.timeout, connect=min(5.0, self.timeout)),
                follow_redirects=False,
                event_hooks={"request": [self._guard]},
            )
        return self._http

    def _all_hosts(self) -> list[str]:
        hosts = [host for recipient in self.register.values() for host in recipient.hosts]
        return hosts + [host for extra in self.extra_hosts.values() for host in extra]

    async def _guard(self, request: httpx.Request) -> None:
        # defence in depth: nothing leaves for a host that no recipient declares
        if not _host_allowed(request.url.host, self._all_hosts()):
            TRANSFERS.labels(recipient="unregistered", outcome="denied").inc()
            log.warning("egress.denied", reason="unregistered_host", host=request.url.host)
            raise EgressDenied(reason="unregistered_host", host=request.url.host)

    def check(self, recipient_key: str, url: str, categories: Sequence[str]) -> Recipient:
        """Raise EgressDenied unless the register allows this transfer."""
        recipient = self.register.get(recipient_key)
        host = urlsplit(url).hostname or ""
        reason: str | None = None
        if recipient is None:
            reason = "unknown_recipient"
        elif recipient.region != MAINLAND:
            reason = "outside_mainland"
        elif not _host_allowed(host, recipient.hosts + tuple(self.extra_hosts.get(recipient_key, ()))):
            reason = "host_not_declared"
        else:
            refused = [c for c in categories if not recipient.allows(c)]
            if refused:
                reason = "category_not_allowed"
        if reason is not None:
            TRANSFERS.labels(recipient=recipient_key, outcome="denied").inc()
            log.warning(
                "egress.denied",
                recipient=recipient_key,
                reason=reason,
                host=host,
                categories=list(categories),
            )
            raise EgressDenied(recipient=recipient_key, reason=reason)
        assert recipient is not None
        return recipient

    async def request(
        self,
        recipient_key: str,
        method: str,
        url: str,
        *,
        categories: Sequence[str],
        ground: str,
        subjects: int = 0,
        session: AsyncSession | None = None,
        tenant_id: uuid.UUID | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request to a registered recipient and record the transfer (without values)."""
        self.check(recipient_key, url, categories)
        try:
            response = await self._client().request(method, url, **kwargs)
        except httpx.TransportError as exc:
            TRANSFERS.labels(recipient=recipient_key, outcome="unreachable").inc()
            log.warning("egress.unreachable", recipient=recipient_key, error_type=type(exc).__name__)
            raise EgressUnavailable(recipient=recipient_key) from exc
        TRANSFERS.labels(recipient=recipient_key, outcome="sent").inc()
        log.debug(
            "egress.transfer",
            recipient=recipient_key,
            ground=ground,
            categories=list(categories),
            subjects=subjects,
        )
        if session is not None and subjects > 0:
            session.add(
                EgressRecord(
                    tenant_id=tenant_id,
                    recipient=recipient_key,
                    ground=ground,
                    categories={"categories": sorted(set(categories))},
                    subject_count=subjects,
                    status_code=response.status_code,
                )
            )
        return response

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def public_third_parties(register: Mapping[str, Recipient] = REGISTER) -> list[dict[str, str]]:
    """The rows of the policy's third-party table (section 三（一）2), zh-CN and English."""
    rows = []
    for recipient in register.values():
        for flow in recipient.flows:
            if not flow.public:
                continue
            rows.append(
                {
                    "product_zh": recipient.product_zh,
                    "product_en": recipient.product_en,
                    "entity_zh": recipient.entity_zh,
                    "entity_en": recipient.entity_en,
                    "shared_zh": flow.shared_zh,
                    "shared_en": flow.shared_en,
                    "scene_zh": flow.scene_zh,
                    "scene_en": flow.scene_en,
                    "purpose_zh": flow.purpose_zh,
                    "purpose_en": flow.purpose_en,
                    "transfer_zh": recipient.transfer_zh,
                    "transfer_en": recipient.transfer_en,
                    "region": recipient.region,
                    "policy_url": recipient.policy_url,
                }
            )
    return rows
