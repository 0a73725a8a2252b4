"""Walks every route of the OpenAPI document as a member whose role grants nothing but the web console
app (without it every route of a session answers ``permission.console_not_allowed``: see
test_console_app_per_request.py): each route answers
403 ``permission.denied`` or is on ALLOWED, with the reason any member (or anyone) may call it. A new
route fails this test until it declares ``require(...)`` (huike.permission.deps) or is allow-listed
here with a reason; the same walk as an admin finds only the creator's own routes refused (mirrors
tests/tenancy/test_isolation.py)."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job
from huike.tenant.models import Tenant

AUTH_PREFIX = "/api/v1/auth/"
AUTH_REASON = (
    "authentication and the caller's own account: login, registration, the current user, their "
    "sessions and profile; outside roles (a user needs them to get in and to end their sessions)"
)

ALLOWED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public: liveness probe",
    ("GET", "/readyz"): "public: readiness probe",
    ("GET", "/api/v1/meta"): "public: version and build flags the login page shows",
    (
        "GET",
        "/api/v1/dev/sms-codes/latest",
    ): "no session: the development banner's SMS code, 404 in production",
    ("GET", "/wecom/callback/{callback_key}"): "WeCom's signed URL verification, no session",
    ("GET", "/api/v1/privacy/policy"): "public: the current privacy policy",
    ("GET", "/api/v1/privacy/policy/versions"): "public: the policy's versions",
    ("GET", "/api/v1/privacy/policy/versions/{version}"): "public: one policy version",
    ("GET", "/api/v1/privacy/third-parties"): "public: the third-party list",
    ("GET", "/api/v1/privacy/consents"): "the caller's own consent history (PIPL: always visible to them)",
    ("POST", "/api/v1/privacy/consents"): "the caller accepts the policy for themselves (the policy gate)",
    ("POST", "/api/v1/privacy/consents/withdraw"): "the caller withdraws their own consent (PIPL art. 15)",
    ("GET", "/api/v1/calendar/status"): "statutory holiday calendar: public reference data, no tenant data",
    ("GET", "/api/v1/calendar/deadline"): "statutory working-day deadlines: reference data",
    ("GET", "/api/v1/calendar/years/{year}"): "a year's statutory holidays: reference data",
    ("GET", "/api/v1/permissions/me"): "the caller's own role and permissions, so the console hides the rest",
    (
        "GET",
        "/api/v1/permissions/catalog",
    ): "the static permission catalogue (labels), the same for every tenant",
    ("GET", "/api/v1/jobs"): "the jobs the caller started (everyone's need jobs.manage: tested below)",
    (
        "GET",
        "/api/v1/jobs/{job_id}",
    ): "jobs the caller started (others' are 404 without jobs.manage: tested below)",
    (
        "POST",
        "/api/v1/jobs/{job_id}/retry",
    ): "jobs the caller started (others' are 404 without jobs.manage: tested below)",
    ("GET", "/api/v1/alerts"): "the caller's own alerts (lost customers of their own follow relations)",
    ("POST", "/api/v1/alerts/read-all"): "marks the caller's own alerts read",
    ("POST", "/api/v1/alerts/{alert_id}/read"): "marks one of the caller's own alerts read",
}
CREATOR_ONLY_ROUTES = {("PUT", "/api/v1/calendar/years/{year}")}

PARAM = re.compile(r"{([a-z_]+)}")
SAMPLE = {"year": "2027", "version": "2023-02-22", "callback_key": "x" * 32, "role": "admin"}


def operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in sorted(ops)
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def allowed(method: str, path: str) -> bool:
    return path.startswith(AUTH_PREFIX) or (method, path) in ALLOWED


def concrete(path: str, values: dict[str, str] | None = None) -> str:
    for name in PARAM.findall(path):
        value = (values or {}).get(name) or SAMPLE.get(name) or str(uuid.uuid4())
        path = path.replace("{" + name + "}", value)
    return path


async def call(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return await client.request(method, path, json=body)


def denial(response: httpx.Response) -> str | None:
    if response.status_code != 403:
        return None
    code = response.json().get("error", {}).get("code")
    return str(code) if code else None


async def test_every_route_is_denied_or_allow_listed(
    app: FastAPI, nobody: tuple[httpx.AsyncClient, uuid.UUID]
) -> None:
    client, _ = nobody
    routes = operations(app)
    assert len(routes) > 40, "the walk would prove little"
    stale = sorted(key for key in ALLOWED if key not in routes)
    assert not stale, f"allow-listed routes that no longer exist: {stale}"
    assert all(reason.strip() for reason in ALLOWED.values())
    unclassified = []
    for method, path in routes:
        if allowed(method, path):
            continue
        response = await call(client, method, concrete(path))
        if denial(response) != "permission.denied":
            unclassified.append((method, path, response.status_code, response.text[:200]))
    assert not unclassified, (
        "routes a member without permissions could call: declare require(...) or add them to ALLOWED "
        f"with a reason: {unclassified}"
    )


async def test_allow_listed_reads_are_not_refused(
    app: FastAPI, nobody: tuple[httpx.AsyncClient, uuid.UUID]
) -> None:
    client, _ = nobody
    for method, path in ALLOWED:
        if method != "GET" or "{job_id}" in path:
            continue
        params = {"received": "2026-01-26"} if path.endswith("/deadline") else None
        response = await client.get(concrete(path), params=params)
        assert denial(response) is None, (path, response.text)
    me = (await client.get("/api/v1/permissions/me")).json()
    assert (me["permissions"], me["apps"], me["data_scope"]) == ([], ["app.console"], "self")


async def test_own_jobs_only(
    app: FastAPI, nobody: tuple[httpx.AsyncClient, uuid.UUID], session: AsyncSession, tenant: Tenant
) -> None:
    client, user_id = nobody
    tenant_id = await session.scalar(select(Tenant.id).where(Tenant.id == tenant.id))
    mine = Job(tenant_id=tenant_id, kind="test.walk", status="succeeded", created_by=user_id)
    theirs = Job(tenant_id=tenant_id, kind="test.walk", status="failed", created_by=uuid.uuid4())
    session.add_all([mine, theirs])
    await session.commit()
    mine_id, theirs_id = mine.id, theirs.id  # a refused request expires loaded objects
    assert (await client.get(f"/api/v1/jobs/{mine_id}")).status_code == 200
    assert (await client.post(f"/api/v1/jobs/{mine_id}/retry")).json()["error"]["code"] == "job.not_retryable"
    listed = (await client.get("/api/v1/jobs")).json()["items"]
    assert [job["id"] for job in listed] == [str(mine_id)]
    # another person's job is like a missing one: nothing says it exists
    for response in (
        await client.get(f"/api/v1/jobs/{theirs_id}"),
        await client.post(f"/api/v1/jobs/{theirs_id}/retry"),
        await client.get(f"/api/v1/jobs/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_an_admin_is_refused_only_the_creators_routes(
    app: FastAPI, logged_in: httpx.AsyncClient
) -> None:
    refused = []
    for method, path in operations(app):
        if path.startswith(AUTH_PREFIX):
            continue
        response = await call(logged_in, method, concrete(path))
        if denial(response) == "permission.denied":
            refused.append((method, path))
            assert response.json()["error"]["details"]["permission"] == "calendar.manage"
    assert set(refused) == CREATOR_ONLY_ROUTES


async def test_the_denial_names_the_permission_in_both_languages(
    nobody: tuple[httpx.AsyncClient, uuid.UUID],
) -> None:
    client, _ = nobody
    zh = await client.get("/api/v1/audit-events")
    en = await client.get("/api/v1/audit-events", headers={"Accept-Language": "en"})
    assert zh.json()["error"]["details"] == {"permission": "audit.view"}
    assert "audit.view" in zh.json()["error"]["message"]
    assert en.json()["error"]["message"].startswith("You do not have the permission")
    either = (await client.get("/api/v1/tag-groups")).json()["error"]["details"]
    assert either == {"permission": "customers.view", "any_of": ["customers.view", "tags.manage"]}
