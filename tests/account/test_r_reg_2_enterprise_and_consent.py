"""R-REG-2 (§一（一）1a 「企业名称」, 1c 「企业/组织名称、行业类型」「已获得这类客户的充分授权」): registration
creates the tenant from the enterprise name; the industry comes from a fixed list; the registrant
states that the company authorised them and accepts the policy, stored with the policy version.

Acceptance: no enterprise name → 400 and no tenant is created; no authorisation statement → 400; an
industry outside the list → 400; the consent row holds the current zh-CN hash."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account.models import Membership, Registration, SalesLead, User
from huike.account.service import INDUSTRY_CODES
from huike.privacy.policy.models import PolicyAcceptance, PolicyVersion
from huike.tenant.models import Tenant
from tests.account.conftest import Flows


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def counts(session: AsyncSession) -> tuple[int, ...]:
    found = []
    for model in (Tenant, User, Membership, PolicyAcceptance, Registration, SalesLead):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


async def register_without(flows: Flows, field: str, **changes: object) -> httpx.Response:
    code = await flows.code()
    body = flows.body(code, **changes)
    body.pop(field, None)
    return await flows.client.post("/api/v1/auth/register", json=body)


async def test_r_reg_2_tenant_is_named_after_the_enterprise(flows: Flows, session: AsyncSession) -> None:
    response = await flows.register(company_name="  杭州  汇客测试有限公司 ")
    assert response.status_code == 201, response.text
    tenant = (await session.execute(select(Tenant))).scalar_one()
    assert tenant.name == "杭州 汇客测试有限公司"
    assert response.json()["tenant"] == {"id": str(tenant.id), "name": tenant.name}


@pytest.mark.parametrize("company_name", ["", "   ", None], ids=["empty", "blank", "missing"])
async def test_r_reg_2_no_enterprise_name_is_400_and_creates_no_tenant(
    flows: Flows, session: AsyncSession, company_name: str | None
) -> None:
    if company_name is None:
        response = await register_without(flows, "company_name")
    else:
        response = await flows.register(company_name=company_name)
    assert response.status_code == 400, response.text
    assert code_of(response) == "account.company_name_required"
    assert await counts(session) == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("given", [False, None], ids=["false", "missing"])
async def test_r_reg_2_no_authorisation_statement_is_400(
    flows: Flows, session: AsyncSession, given: bool | None
) -> None:
    if given is None:
        response = await register_without(flows, "company_authorised")
    else:
        response = await flows.register(company_authorised=given)
    assert response.status_code == 400, response.text
    assert code_of(response) == "account.company_authorisation_required"
    assert await counts(session) == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("industry", ["mining", "", "RETAIL"])
async def test_r_reg_2_industry_outside_the_list_is_400(
    flows: Flows, session: AsyncSession, industry: str
) -> None:
    assert industry not in INDUSTRY_CODES
    response = await flows.register(industry=industry)
    assert response.status_code == 400, response.text
    assert code_of(response) == "account.unknown_industry"
    assert await counts(session) == (0, 0, 0, 0, 0, 0)


async def test_r_reg_2_the_industry_list_is_fixed_and_published(flows: Flows) -> None:
    listed = (await flows.client.get("/api/v1/auth/industries")).json()["items"]
    assert {item["code"] for item in listed} == INDUSTRY_CODES
    assert all(item["zh"] and item["en"] for item in listed)


async def test_r_reg_2_consent_row_holds_the_current_zh_cn_hash(flows: Flows, session: AsyncSession) -> None:
    response = await flows.register()
    assert response.status_code == 201, response.text
    current = (
        await session.execute(select(PolicyVersion).where(PolicyVersion.version == flows.version))
    ).scalar_one()
    acceptance = (await session.execute(select(PolicyAcceptance))).scalar_one()
    assert acceptance.version == flows.version
    assert acceptance.policy_hash == current.text_hash
    assert acceptance.policy_hash == hashlib.sha256(current.text_zh.encode()).hexdigest()
    assert str(acceptance.subject_id) == response.json()["user_id"]
    registration = (await session.execute(select(Registration))).scalar_one()
    assert (registration.company_authorised, registration.adult_or_guardian) == (True, True)
    assert registration.policy_version == flows.version
    assert registration.industry == "retail"


async def test_r_reg_2_consent_through_the_english_page_holds_the_zh_cn_hash(
    flows: Flows, session: AsyncSession
) -> None:
    flows.client.headers["accept-language"] = "en"
    response = await flows.register()
    assert response.status_code == 201, response.text
    current = (
        await session.execute(select(PolicyVersion).where(PolicyVersion.version == flows.version))
    ).scalar_one()
    acceptance = (await session.execute(select(PolicyAcceptance))).scalar_one()
    assert acceptance.policy_hash == hashlib.sha256(current.text_zh.encode()).hexdigest()
