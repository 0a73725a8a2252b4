"""The error model: every failure the API returns is ``{"error": {"code", "message", "details"}}``
with a stable code and a message in the caller's language (docs/adr/0004-error-model.md)."""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from huike.core.i18n import translate, translate_field

log = structlog.get_logger(__name__)


class AppError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, **details: Any) -> None:
        super().__init__(self.code)
        self.details = details

    def message(self) -> str:
        return translate(self.code, **self.details)


class BadRequest(AppError):
    status_code = 400
    code = "validation_error"


class Unauthorized(AppError):
    status_code = 401
    code = "auth.required"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    """Missing and not-yours look the same: never leak that a foreign id exists."""

    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "request.too_large"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(BaseModel):
    """Shape of every error the API returns."""

    error: ErrorBody


def error_response(status: int, code: str, details: dict[str, Any] | None = None) -> JSONResponse:
    details = details or {}
    body = {"error": {"code": code, "message": translate(code, **details), "details": details}}
    return JSONResponse(body, status_code=status)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries so the generated client knows the error shape."""
    return {status: {"model": ErrorResponse} for status in statuses}


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request.too_large"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        malformed = False
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                malformed = True
            loc = [str(part) for part in err.get("loc", ())]
            fields.append(
                {
                    "location": loc,
                    "type": err.get("type", ""),
                    "message": translate_field(err.get("type", ""), str(err.get("msg", ""))),
                }
            )
        if malformed:
            return error_response(400, "request.malformed_json", {"fields": fields})
        return error_response(422, "validation_error", {"fields": fields})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if isinstance(cause, AppError):  # e.g. the body cap tripped while FastAPI read the body
            return error_response(cause.status_code, cause.code, cause.details)
        code = _HTTP_CODES.get(
            exc.status_code, "validation_error" if exc.status_code < 500 else "internal_error"
        )
        return error_response(exc.status_code, code)

    @app.exception_handler(Exception)
    async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.unhandled_error", error_type=type(exc).__name__)
        return error_response(500, "internal_error")
