"""R-SCOPE-1 (§十 1 「仅适用于您在中国大陆（…不含中国香港、澳门、台湾地区）使用本服务的情形」):
registration accepts +86 mobile numbers only.

Acceptance: +852, +853, +886 → rejected; +86 mobile → accepted."""

from __future__ import annotations

import httpx
import phonenumbers
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import SmsCode, User
from tests.account.conftest import Flows

OUTSIDE_THE_MAINLAND = {
    "+852": "+852 5123 4567",  # Hong Kong mobile
    "+853": "+853 6612 3456",  # Macao mobile
    "+886": "+886 912 345 678",  # Taiwan mobile
}


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize("phone", OUTSIDE_THE_MAINLAND.values(), ids=OUTSIDE_THE_MAINLAND.keys())
async def test_r_scope_1_hong_kong_macao_taiwan_numbers_are_rejected(
    flows: Flows, session: AsyncSession, phone: str
) -> None:
    number = phonenumbers.parse(phone)
    assert phonenumbers.is_valid_number(number)  # a real mobile there, refused only for its region
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    sent = await flows.client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 422
    assert code_of(sent) == "account.invalid_phone"
    registered = await flows.client.post("/api/v1/auth/register", json=flows.body("123456", phone=phone))
    assert registered.status_code == 422
    assert code_of(registered) == "account.invalid_phone"
    for model in (SmsCode, User):
        assert await session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize("phone", ["+86 139 1234 5678", "13912345678", "0086 139 1234 5678"])
async def test_r_scope_1_a_mainland_mobile_is_accepted(flows: Flows, phone: str) -> None:
    response = await flows.register(phone=phone)
    assert response.status_code == 201, response.text
    assert response.json()["phone_masked"] == "139****5678"
