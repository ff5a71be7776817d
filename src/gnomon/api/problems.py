"""Errors as JSON with a stable ``code``: ``{"code": ..., "message": ..., "field": ...}``.

=================== ====== ===========================================================
code                status when
=================== ====== ===========================================================
invalid_spec        422    a schedule, action, policy or id that gnomon refuses
invalid_request     422    a body or parameter of the wrong shape (``field`` names it)
unauthorized        401    no token, an unknown token or a revoked one
forbidden           403    the token's scope is too small, a CSRF check failed, or
                           :mod:`gnomon.api.origin` refused the Host or Origin
not_found           404    no such job, run, workflow or route
method_not_allowed  405    the route exists, not with that method
conflict            409    a job with that id exists
too_large           413    the request body is larger than ``GNOMON_MAX_BODY_BYTES``
rate_limited        429    too many requests; ``Retry-After`` says when to come back
unavailable         503    the database cannot be reached
=================== ====== ===========================================================
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gnomon.errors import (
    Conflict,
    GnomonError,
    InvalidAction,
    InvalidPolicy,
    InvalidSpec,
    InvalidTrigger,
    NotFound,
    StoreUnavailable,
)
from gnomon.redaction import redact_text

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    """Every error the API returns."""

    code: str = Field(examples=["invalid_spec"])
    message: str = Field(examples=["when: cannot read schedule 'every blue moon'"])
    field: str | None = Field(default=None, description="The input field at fault, when one is.")


class ApiError(Exception):
    """An error response: raise it from a route or dependency."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


_DESCRIPTIONS = {
    401: "No token, or an unknown or revoked one (`unauthorized`).",
    403: "The token's scope does not allow this, or the request's Host or Origin is refused "
    "(`forbidden`).",
    404: "No such resource (`not_found`).",
    409: "Conflicts with what is stored (`conflict`).",
    413: "The request body is too large (`too_large`).",
    422: "Invalid schedule, action, policy or request (`invalid_spec`, `invalid_request`).",
    429: "Too many requests (`rate_limited`); see `Retry-After`.",
    503: "The database cannot be reached (`unavailable`).",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error responses a route may give."""
    return {s: {"model": ErrorOut, "description": _DESCRIPTIONS[s]} for s in statuses}


def _body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": redact_text(message), "field": field}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    """An :class:`ErrorOut` response, for middleware that answers before the routes."""
    return JSONResponse(_body(code, message, field), status_code=status)


def _spec_field(exc: InvalidSpec) -> str | None:
    if isinstance(exc, InvalidTrigger):
        return "when"
    if isinstance(exc, InvalidAction):
        return "action"
    if isinstance(exc, InvalidPolicy):
        return "policy"
    return None


def gnomon_error_response(exc: GnomonError) -> JSONResponse:
    """The JSON response for a :class:`GnomonError` raised by the services."""
    if isinstance(exc, InvalidSpec):
        field = _spec_field(exc)
        message = f"{field}: {exc}" if field else str(exc)
        return JSONResponse(_body("invalid_spec", message, field), status_code=422)
    if isinstance(exc, NotFound):
        return JSONResponse(_body("not_found", str(exc)), status_code=404)
    if isinstance(exc, Conflict):
        return JSONResponse(_body("conflict", str(exc)), status_code=409)
    if isinstance(exc, StoreUnavailable):
        return JSONResponse(_body("unavailable", str(exc)), status_code=503)
    log.error("unexpected gnomon error: %s", exc)
    return JSONResponse(_body("error", str(exc)), status_code=500)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    parts, first = [], None
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        first = first or field
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request", first


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an :class:`ErrorOut` body."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message, exc.field), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(GnomonError)
    async def _gnomon(_: Request, exc: GnomonError) -> JSONResponse:
        return gnomon_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _validation_message(exc)
        return JSONResponse(_body("invalid_request", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "error")
        message = "no such route" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(
            _body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )
