"""Errors on Studio pages: a browser gets an HTML page that says what happened and links
back (or, unauthenticated, the sign-in page); a script gets the server's JSON problem."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from atelier.core import errors
from atelier.core.errors import FilterSyntaxError
from atelier.server import problems
from atelier.studio.render import page
from atelier.studio.security import COOKIE, SECURITY_HEADERS

#: paths that are never Studio pages, whatever the Accept header says
_API_PREFIXES = ("/api/", "/mlflow/", "/docs", "/openapi", "/healthz", "/readyz", "/metrics")


def wants_page(request: Request) -> bool:
    """A browser's request for a Studio page (not an API call, not a script)."""
    if request.url.path.startswith(_API_PREFIXES) and not request.url.path.endswith("/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _signin(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = "&expired=1" if request.cookies.get(COOKIE) else ""
    answer = RedirectResponse(f"/signin?next={quote(target, safe='')}{expired}", 303)
    answer.headers.update(SECURITY_HEADERS)
    if expired:
        answer.delete_cookie(COOKIE, path="/")
    return answer


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    workspace = request.path_params.get("workspace") if request.path_params else None
    return page(
        request,
        "error.html",
        status_code=status,
        title=title,
        detail=detail,
        back=f"/workspaces/{quote(str(workspace))}" if workspace else "/",
    )


async def _atelier_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AtelierError)
    status, title = problems.status_of(exc)
    if not wants_page(request):
        return problems.problem(status, title, exc.message or str(exc), problems.wire_code(exc))
    if isinstance(exc, errors.UnauthenticatedError):
        return _signin(request)
    if isinstance(exc, FilterSyntaxError):
        title = "The filter does not parse"
    return _error_page(request, status, title, exc.message or str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if wants_page(request) and exc.status_code == 404:
        return _error_page(request, 404, "Not found", "there is no page at this address")
    return await problems._http_error(request, exc)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_page(request):
        found = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        return _error_page(request, 400, "Bad request", found)
    return await problems._request_invalid(request, exc)


def install(app: FastAPI) -> None:
    """Replace the server's error handlers by ones that draw pages for browsers."""
    handlers: dict[Any, Any] = {
        errors.AtelierError: _atelier_error,
        StarletteHTTPException: _http_error,
        RequestValidationError: _invalid,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
