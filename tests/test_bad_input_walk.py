"""Walks every documented operation with bad input — malformed JSON, a JSON array instead of an object,
an unknown field, a wrong-typed path id, an oversized body — as a logged-in admin. Every answer must be
a 4xx with the error body: never a 500, never a success. New routes are covered without anyone
remembering to add them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

PARAM = re.compile(r"{([a-z_]+)}")
SKIP = {
    # public pages and probes: no body, no ids to get wrong
    "/healthz",
    "/readyz",
}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in app.openapi()["paths"].items():
        if path in SKIP:
            continue
        for method, operation in methods.items():
            found.append((method.upper(), path, operation))
    return found


def fill(path: str, value: str) -> str:
    return PARAM.sub(value, path)


def assert_error_body(response: httpx.Response, context: object) -> None:
    assert 400 <= response.status_code < 500, (context, response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"}, (context, body)
    assert body["error"]["code"], (context, body)
    assert body["error"]["message"], (context, body)


async def test_bodies_that_are_not_what_the_route_expects(app: FastAPI, logged_in: httpx.AsyncClient) -> None:
    walked = 0
    for method, path, operation in operations(app):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"].get("content", {})
        if "application/json" not in content:
            continue
        url = fill(path, str(uuid.uuid4()))
        bad_bodies: list[tuple[str, bytes]] = [
            ("malformed", b'{"unterminated": '),
            ("array", b"[]"),
            ("unknown field", b'{"definitely_not_a_field": 1}'),
            ("wrong types", b'{"name": {"nested": [1, 2]}, "phone": 13800138000, "limit": "many"}'),
        ]
        for label, body in bad_bodies:
            response = await logged_in.request(
                method, url, content=body, headers={"content-type": "application/json"}
            )
            # a missing resource may legitimately answer 404 before the body is read
            assert_error_body(response, (method, path, label))
            walked += 1
    assert walked > 20, "the walk found too few operations with bodies to prove anything"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1' OR '1'='1", "%00"])
async def test_ids_that_are_not_ids(app: FastAPI, logged_in: httpx.AsyncClient, bad_id: str) -> None:
    for method, path, _ in operations(app):
        params = PARAM.findall(path)
        if not any(p.endswith("_id") for p in params):
            continue
        url = fill(path, bad_id)
        response = await logged_in.request(
            method, url, json={} if method in {"POST", "PUT", "PATCH"} else None
        )
        assert_error_body(response, (method, path, bad_id))


async def test_oversized_bodies_are_refused_everywhere(app: FastAPI, logged_in: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (70 * 1024) + b'"}'
    for method, path, operation in operations(app):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue  # file uploads have their own, larger cap
        response = await logged_in.request(
            method, fill(path, str(uuid.uuid4())), content=big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, (method, path, response.status_code)
