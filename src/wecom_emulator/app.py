"""The emulator as an ASGI app: ``/cgi-bin/...`` like qyapi.weixin.qq.com, the web login page, and
the ``/_emulator`` control API. Mountable inside another app (no lifespan needed)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from wecom_emulator import routes  # noqa: F401 - importing registers the endpoints
from wecom_emulator.api import FileResult, dispatch
from wecom_emulator.page import page
from wecom_emulator.state import EmulatorState
from wecom_emulator.web import control, login


def create_app(state: EmulatorState, *, auto_deliver: bool = False) -> FastAPI:
    """``auto_deliver``: send callbacks in the background as soon as they are queued (a served
    emulator). Off, callbacks wait for ``await state.deliveries.drain()`` (tests)."""
    app = FastAPI(title="WeCom emulator", docs_url="/_emulator/docs", openapi_url="/_emulator/openapi.json")
    app.state.emulator = state
    state.deliveries.auto_deliver = auto_deliver

    @app.api_route("/cgi-bin/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def cgi_bin(path: str, request: Request) -> Response:
        raw = await request.body()
        client_ip = request.client.host if request.client else "127.0.0.1"
        content_type = request.headers.get("content-type", "")
        body = dispatch(state, request.method, path, request.query_params, raw, client_ip, content_type)
        if isinstance(body, FileResult):  # media/get: the file itself
            disposition = f"attachment; filename*=UTF-8''{quote(body.filename)}"
            return Response(
                body.content,
                media_type=body.content_type,
                headers={"Content-disposition": disposition},
            )
        # WeCom answers every call, failures included, with HTTP 200 and a JSON body
        return JSONResponse(body, status_code=200)

    app.include_router(login)
    app.include_router(page)  # before control: /_emulator/scenarios (GET) is the page's
    app.include_router(control)
    return app
