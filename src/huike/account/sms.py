"""Sending SMS codes: a provider interface, Aliyun's SendSms, and a console provider for embedded mode.

**Aliyun.** The SendSms RPC (API version 2017-05-25) called directly and signed with Aliyun's
documented RPC signature (v1: HMAC-SHA1 over the canonicalised query), through the egress client
only (recipient ``aliyun_sms``, categories phone number + SMS code). We do not use the
alibabacloud-dysmsapi20170525 SDK: it opens its own HTTP connections, which would bypass the egress
register, the one outbound client (F2). The request carries PhoneNumbers, SignName, TemplateCode and
TemplateParam ``{"code"}`` besides the protocol's own parameters, and nothing else (R-OTP-1).

**Console.** For embedded mode and development: outside production it logs the code as a
``dev_sms_code`` event (under a key log hygiene leaves alone) and keeps the last code per phone for
the development banner (``GET /api/v1/dev/sms-codes/latest``). In production it logs the code under
``sms_code``, which log hygiene masks, and keeps nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.errors import SmsSendFailed
from huike.config import Settings
from huike.core.db import utcnow
from huike.privacy.egress import EgressClient, EgressUnavailable

log = structlog.get_logger(__name__)

SMS_CATEGORIES = ("user.contact.phone_number", "user.authorization.sms_code")
ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
ALIYUN_API_VERSION = "2017-05-25"


def mask_phone(phone_e164: str) -> str:
    """``138****8000`` (R-RT-3 masked form), from an E.164 mainland number."""
    national = phone_e164.removeprefix("+86")
    return f"{national[:3]}****{national[-4:]}"


@dataclass(frozen=True, slots=True)
class SmsMessage:
    phone: str  # E.164
    code: str
    purpose: str


class SmsProvider(Protocol):
    name: str

    async def send(self, message: SmsMessage, *, session: AsyncSession | None = None) -> None:
        """Deliver the code or raise :class:`SmsSendFailed`."""


@dataclass(frozen=True, slots=True)
class DevCode:
    phone_masked: str
    code: str
    purpose: str
    sent_at: datetime


@dataclass
class ConsoleSmsProvider:
    production: bool = False
    name: str = "console"
    latest: dict[str, DevCode] = field(default_factory=dict)

    async def send(self, message: SmsMessage, *, session: AsyncSession | None = None) -> None:
        masked = mask_phone(message.phone)
        if self.production:
            log.warning(
                "sms.console_delivery", phone_masked=masked, purpose=message.purpose, sms_code=message.code
            )
            return
        self.latest[message.phone] = DevCode(masked, message.code, message.purpose, utcnow())
        log.warning("dev_sms_code", phone_masked=masked, purpose=message.purpose, dev_value=message.code)

    def latest_for(self, phone_e164: str) -> DevCode | None:
        return None if self.production else self.latest.get(phone_e164)


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's RPC signature defines it."""
    return quote(value, safe="~")


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class AliyunSmsProvider:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    egress: EgressClient
    endpoint: str = ALIYUN_ENDPOINT
    region_id: str = "cn-hangzhou"
    name: str = "aliyun"

    def request_params(self, message: SmsMessage, *, nonce: str, timestamp: datetime) -> dict[str, str]:
        params = {
            # the protocol's own parameters
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "Timestamp": timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_API_VERSION,
            # the message: these four and nothing else (R-OTP-1)
            "PhoneNumbers": message.phone.removeprefix("+86"),
            "SignName": self.sign_name,
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": message.code}, separators=(",", ":")),
        }
        params["Signature"] = rpc_signature(self.access_key_secret, "POST", params)
        return params

    async def send(self, message: SmsMessage, *, session: AsyncSession | None = None) -> None:
        params = self.request_params(message, nonce=uuid.uuid4().hex, timestamp=utcnow())
        try:
            response = await self.egress.request(
                "aliyun_sms",
                "POST",
                self.endpoint,
                categories=SMS_CATEGORIES,
                ground="account.sms_code",
                subjects=1,
                session=session,
                data=params,
            )
        except EgressUnavailable as exc:
            log.warning("sms.send_failed", provider=self.name, reason="unreachable")
            raise SmsSendFailed(reason="unreachable") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        result = str(payload.get("Code", "")) if isinstance(payload, dict) else ""
        if response.status_code != 200 or result != "OK":
            log.warning("sms.send_failed", provider=self.name, status=response.status_code, result=result)
            raise SmsSendFailed(reason="provider", provider_code=result[:64])
        log.info("sms.sent", provider=self.name, purpose=message.purpose)

    async def aclose(self) -> None:
        await self.egress.aclose()


def provider_from_settings(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "aliyun":
        secret = settings.aliyun_sms_access_key_secret
        return AliyunSmsProvider(
            access_key_id=settings.aliyun_sms_access_key_id or "",
            access_key_secret=secret.get_secret_value() if secret else "",
            sign_name=settings.aliyun_sms_sign_name or "",
            template_code=settings.aliyun_sms_template_code or "",
            egress=EgressClient(),
            endpoint=settings.aliyun_sms_endpoint,
        )
    return ConsoleSmsProvider(production=settings.env == "production")
