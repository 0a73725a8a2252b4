"""Serves the built console: real files as they are, every other page path as index.html so deep
links work; unknown API paths keep the JSON error body."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from huike.core.errors import error_response

_API_PREFIXES = ("api/", "healthz", "readyz", "metrics", "privacy/", "wecom/")

_MISSING = """<!doctype html><meta charset="utf-8"><title>汇客 Huike</title>
<p>控制台尚未构建：请运行 <code>make run</code>。</p>
<p>The console is not built yet: run <code>make run</code>.</p>"""


def mount_console(app: FastAPI, dist: Path) -> None:
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def console(path: str) -> Response:
        if path.startswith(_API_PREFIXES):
            return error_response(404, "not_found")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_MISSING, status_code=503)
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                headers = (
                    {"Cache-Control": "public, max-age=31536000, immutable"}
                    if path.startswith("assets/")
                    else {}
                )
                return FileResponse(candidate, headers=headers)
            if "." in path.rsplit("/", 1)[-1]:
                return error_response(404, "not_found")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
