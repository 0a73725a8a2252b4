"""Bad input gets a 4xx with the error body, in the caller's language, and writes nothing."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.routing import SessionDep, make_router
from huike.core.schemas import Schema
from huike.tenant.models import Tenant
from tests.support import add_probe_router


class TenantIn(Schema):
    name: str
    seats: int


probe = make_router(prefix="/api/v1/_probe", tag="probe")


@probe.post("/tenants")
async def create_probe_tenant(session: SessionDep, body: TenantIn) -> dict[str, str]:
    row = Tenant(name=body.name)
    session.add(row)
    await session.flush()
    return {"id": str(row.id)}


@pytest_asyncio.fixture
async def probe_client(app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    add_probe_router(app, probe)
    return client


async def tenant_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Tenant))).scalar_one()


class TestBadInput:
    async def test_malformed_json_is_400_with_code(
        self, probe_client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        before = await tenant_count(session)
        response = await probe_client.post(
            "/api/v1/_probe/tenants", content=b'{"name": "x", ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "request.malformed_json"
        assert response.json()["error"]["message"] == "请求体不是合法的 JSON。"
        assert await tenant_count(session) == before

    async def test_wrong_type_names_the_field(self, probe_client: httpx.AsyncClient) -> None:
        response = await probe_client.post(
            "/api/v1/_probe/tenants", json={"name": "x", "seats": "many"}, headers={"accept-language": "en"}
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"] == "The request is invalid. Please check it and try again."
        assert error["details"]["fields"] == [
            {"location": ["body", "seats"], "type": "int_parsing", "message": "Must be an integer."}
        ]

    async def test_unknown_field_is_refused(
        self, probe_client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        before = await tenant_count(session)
        response = await probe_client.post(
            "/api/v1/_probe/tenants", json={"name": "x", "seats": 1, "admin": True}
        )
        assert response.status_code == 422
        fields = response.json()["error"]["details"]["fields"]
        assert fields == [
            {"location": ["body", "admin"], "type": "extra_forbidden", "message": "不允许的字段。"}
        ]
        assert await tenant_count(session) == before

    async def test_oversized_body_declared(self, probe_client: httpx.AsyncClient) -> None:
        body = b'{"name": "' + b"x" * (70 * 1024) + b'", "seats": 1}'
        response = await probe_client.post(
            "/api/v1/_probe/tenants", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request.too_large"
        assert response.json()["error"]["details"] == {"limit": 64 * 1024}

    async def test_oversized_body_streamed_without_length(
        self, probe_client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        before = await tenant_count(session)

        async def chunks():  # type: ignore[no-untyped-def]
            yield b'{"name": "'
            for _ in range(80):
                yield b"x" * 1024
            yield b'", "seats": 1}'

        response = await probe_client.post(
            "/api/v1/_probe/tenants", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request.too_large"
        assert await tenant_count(session) == before

    async def test_good_input_is_written(
        self, probe_client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        before = await tenant_count(session)
        response = await probe_client.post("/api/v1/_probe/tenants", json={"name": "好公司", "seats": 3})
        assert response.status_code == 200
        assert await tenant_count(session) == before + 1

    async def test_unknown_api_path_is_json_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/nothing-here", headers={"accept-language": "en-US,en;q=0.9"})
        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "not_found", "message": "The requested resource does not exist.", "details": {}}
        }

    async def test_wrong_method_is_405(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/healthz")
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            (None, "请先登录。"),
            ("en", "Please log in first."),
            ("fr-FR,en;q=0.5", "Please log in first."),
            ("en;q=0.3,zh-CN;q=0.8", "请先登录。"),
        ],
    )
    async def test_language_follows_accept_language(
        self, client: httpx.AsyncClient, header: str | None, message: str
    ) -> None:
        headers = {"accept-language": header} if header else {}
        response = await client.get("/api/v1/jobs", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == {"code": "auth.required", "message": message, "details": {}}
