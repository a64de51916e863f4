"""The one table from errors to HTTP answers: JSON problem bodies, never a traceback.

Every answer that is not a success is ``{"type","title","status","detail","code"}``
(RFC 9457 problem details plus Atelier's stable ``code``), so clients branch on ``code``
and people read ``detail``, which says what was wrong and what to do.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atelier.core import errors

logger = logging.getLogger("atelier.server")

#: error class -> (HTTP status, title); the most specific class listed wins
STATUS_OF: dict[type[errors.AtelierError], tuple[int, str]] = {
    errors.ValidationError: (400, "Bad request"),
    errors.UnauthenticatedError: (401, "Unauthenticated"),
    errors.PermissionDeniedError: (403, "Forbidden"),
    errors.NotFoundError: (404, "Not found"),
    errors.AlreadyExistsError: (409, "Already exists"),
    errors.InvalidStateError: (409, "Invalid state"),
    errors.ConflictError: (409, "Conflict"),
    errors.RunFailedError: (409, "Run failed"),
    errors.ComputeTargetException: (400, "Compute target error"),
    errors.StoreError: (503, "Database unavailable"),
    errors.StorageError: (503, "Blob storage unavailable"),
    errors.AtelierError: (400, "Request failed"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


def wire_code(exc: errors.AtelierError) -> str:
    """The ``code`` a problem body carries: the error's own when ``ERRORS_BY_CODE`` knows
    it, else its nearest listed ancestor's, so a client can always rebuild the class."""
    for cls in type(exc).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and errors.ERRORS_BY_CODE.get(code) is cls:
            return code
    return errors.AtelierError.code


def status_of(exc: errors.AtelierError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500, "Internal error"


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://atelier.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


async def _atelier_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.AtelierError)
    status, title = status_of(exc)
    return problem(status, title, exc.message or str(exc), wire_code(exc))


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        found.append(f"{where}: {error.get('msg', 'invalid')}")
    detail = "the request does not match the API: " + "; ".join(found)
    return problem(
        422, "Invalid request", detail + "; see /docs for the expected shape", "validation_error"
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = str(exc.detail) if exc.detail else "the request was refused"
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such API route; see /docs for the routes this server has"
    return problem(exc.status_code, detail.split(";")[0][:80], detail, code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # the traceback goes to the server's log, never to the client
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "Internal error",
        "the server failed on this request; its log has the details, retry or report it",
        "internal_error",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.AtelierError, _atelier_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
