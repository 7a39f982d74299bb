"""The JSON API's one error envelope: its OpenAPI model, ``ApiError``, and the handlers.

Every 4xx and 5xx under ``/api/`` answers ``{"error": {"code", "message", "details", "hint",
"info"}}``: ``code`` a stable snake_case word (``not_found``, ``validation_failed``...),
``message`` what was wrong, ``details`` one entry per problem (``location`` and a readable
``message`` line such as ``"trigger.condition: invalid condition at ..."``), ``hint`` what to do,
``info`` machine-readable facts (``known`` keys on a 404, ``current_version`` on a 409).
``herald.app`` installs the handlers; other paths (pages, webhooks) keep FastAPI's answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import (
    http_exception_handler as default_http_handler,
)
from fastapi.exception_handlers import (
    request_validation_exception_handler as default_validation_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed (e.g. an empty body)",
    401: "Missing or wrong API token",
    403: "The token's user may not do this (their role lacks the permission)",
    404: "No such resource",
    409: "Conflict with the current state (e.g. a stale edit)",
    413: "The body is over the size limit",
    415: "The body's media type is not accepted",
    422: "The request is not valid: one entry in details per problem",
    500: "Internal error (the server log has the details)",
    503: "The database is unavailable",
}
_LOCATED = re.compile(r"^([\w.\-\[\]*]+): ")


class ErrorDetail(BaseModel):
    """One problem: where (dotted path, e.g. ``body.phones.0``) and a readable line."""

    location: str | None = Field(
        default=None, description="dotted path of the field, e.g. body.phones.0 or query.limit"
    )
    message: str = Field(description='the problem as one line, e.g. "priority: must be <= 100"')


class ErrorBody(BaseModel):
    code: str = Field(description="stable snake_case word: not_found, validation_failed, ...")
    message: str = Field(description="what was wrong")
    details: list[ErrorDetail] = Field(default_factory=list, description="one per problem")
    hint: str | None = Field(default=None, description="what to do about it")
    info: dict[str, Any] = Field(
        default_factory=dict,
        description="machine-readable facts, e.g. known keys (404), current_version (409)",
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer of the JSON API."""

    error: ErrorBody


def code_for(status: int) -> str:
    return CODES.get(status, "client_error" if status < 500 else "server_error")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or route: each status answered with the envelope."""
    return {
        s: {"model": ErrorResponse, "description": DESCRIPTIONS.get(s, code_for(s))}
        for s in statuses
    }


def detail_of(line: str, location: str | None = None) -> ErrorDetail:
    """A readable ``"field: problem"`` line as a detail, its location taken from the line."""
    if location is None:
        found = _LOCATED.match(line)
        location = found.group(1) if found else None
    return ErrorDetail(location=location, message=line)


def details_of_errors(
    errors: Iterable[Mapping[str, Any]], *, prefix: str = ""
) -> list[ErrorDetail]:
    """Pydantic's (or FastAPI's) errors as details: ``body.phones.0: phone '1' is not ...``."""
    out = []
    for error in errors:
        parts = [prefix] if prefix else []
        parts += [str(p) for p in error.get("loc", ())]
        where = ".".join(parts)
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        out.append(ErrorDetail(location=where or None, message=f"{where or 'body'}: {message}"))
    return out


class ApiError(Exception):
    """A request the JSON API turns down, rendered as the envelope (see the module docstring).

    ``details`` are readable lines (``"field: problem"``) or ``ErrorDetail``; keyword arguments
    beyond the named ones go into ``info``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Sequence[str | ErrorDetail] = (),
        hint: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **info: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint or None
        self.code = code or code_for(status)
        self.details = [d if isinstance(d, ErrorDetail) else detail_of(d) for d in details]
        self.headers = dict(headers or {})
        self.info = info

    @classmethod
    def invalid(cls, exc: ValidationError, message: str, *, prefix: str = "body") -> ApiError:
        """422 for a body checked in the route, one detail per problem."""
        return cls(422, message, details=details_of_errors(exc.errors(), prefix=prefix))

    def body(self) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorBody(
                code=self.code,
                message=self.message,
                details=self.details,
                hint=self.hint,
                info=self.info,
            )
        )

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body().model_dump(mode="json"), status_code=self.status, headers=self.headers
        )


def _in_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def api_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """HTTPException (raised by us, by FastAPI's security, or the router's 404/405)."""
    assert isinstance(exc, StarletteHTTPException)
    if not _in_api(request):
        return await default_http_handler(request, exc)
    detail: Any = exc.detail
    lines = [str(d) for d in detail] if isinstance(detail, list) else []
    message = str(detail) if not lines else "the request was refused"
    return ApiError(exc.status_code, message, details=lines, headers=exc.headers).response()


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """The request's parameters or body did not match the route: 422, one detail each."""
    assert isinstance(exc, RequestValidationError)
    if not _in_api(request):
        return await default_validation_handler(request, exc)
    return ApiError(
        422,
        "the request's parameters are not valid",
        details=details_of_errors(exc.errors()),
        hint="correct the parameters named in details and send the request again",
    ).response()


async def database_error_handler(request: Request, exc: Exception) -> Response:
    """The database cannot be reached (or is locked): 503, so clients retry later."""
    if not _in_api(request):
        raise exc
    logger.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return ApiError(
        503,
        "the database is unavailable",
        code="database_unavailable",
        hint="try again in a moment; if it persists, check the database server",
    ).response()


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Anything else: 500 with no traceback in the body; the traceback goes to the log."""
    if not _in_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return ApiError(
        500,
        "internal error while handling the request",
        hint="nothing was changed unless a later GET shows it; the server log has the details",
    ).response()


HANDLERS: dict[type[Exception], Any] = {
    ApiError: api_error_handler,
    StarletteHTTPException: http_error_handler,
    RequestValidationError: validation_error_handler,
    OperationalError: database_error_handler,
    Exception: unexpected_error_handler,
}
