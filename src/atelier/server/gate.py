"""What every request passes through before and after its route: Host and cross-site
checks, Prometheus counters, and the audit log of state-changing calls.

A pure ASGI middleware (no per-request task or body buffering), so it costs microseconds
and never holds an upload in memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.concurrency import run_in_threadpool

from atelier.core.access import Principal
from atelier.server.config import ServerSettings
from atelier.server.problems import problem
from atelier.services import audit
from atelier.store.database import Database

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: bodies a browser cannot send cross-site without a CORS preflight, plus the upload types
BODY_TYPES = frozenset(
    {"application/json", "application/x-tar", "application/octet-stream", "multipart/form-data"}
)


class ServerMetrics:
    """Request counters and latency of one app, in the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "atelier_http_requests",
            "HTTP requests answered, by route, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "atelier_http_request_duration_seconds",
            "Time to answer, by route.",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


#: headers only browsers send (fetch metadata); a request with any of them is a browser's
_BROWSER_HEADERS = (b"origin", b"sec-fetch-site", b"sec-fetch-mode", b"cookie")


def _is_browser(scope: Scope) -> bool:
    """Whether the content-type rule applies: to every request that may come from a
    browser. Exempt are only token-bearing, non-browser file uploads: a PUT with an
    ``Authorization: Bearer`` header (which a cross-site page cannot send without a CORS
    preflight this server never grants) and none of the headers browsers add. That is
    how the ``mlflow`` client uploads artifacts: a PUT with the file's own type
    (``text/plain``, ``image/png`` ...). POST, PATCH and DELETE keep the rule."""
    if scope["method"] != "PUT":
        return True
    bearer = (_header(scope, b"authorization") or "").lower().startswith("bearer ")
    return not bearer or any(_header(scope, name) is not None for name in _BROWSER_HEADERS)


class Gate:
    def __init__(
        self, app: ASGIApp, settings: ServerSettings, database: Database, metrics: ServerMetrics
    ) -> None:
        self.app = app
        self.hosts = {h.lower() for h in settings.allowed_hosts}
        self.origins = {o.rstrip("/").lower() for o in settings.allowed_origins}
        self.database = database
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            if method not in SAFE_METHODS:
                await self._audit(scope, route, status)

    def _refusal(self, scope: Scope) -> Any:
        host = (_header(scope, b"host") or "").lower()
        name = urlsplit(f"//{host}").hostname or ""
        if "*" not in self.hosts and name not in self.hosts and host not in self.hosts:
            return problem(
                400,
                "Host not allowed",
                f"this server does not answer to host {host!r}; add it to "
                "ATELIER_ALLOWED_HOSTS if it is one of the server's names",
                "host_not_allowed",
            )
        if scope["method"] in SAFE_METHODS:
            return None
        origin = _header(scope, b"origin")
        if origin is not None and not self._same_site(origin, host):
            return problem(
                403,
                "Cross-site request refused",
                f"requests that change state from origin {origin!r} are refused; add it to "
                "ATELIER_ALLOWED_ORIGINS if it is your own web front end",
                "cross_site_refused",
            )
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        has_body = _header(scope, b"transfer-encoding") is not None or (
            (_header(scope, b"content-length") or "0") != "0"
        )
        if (content_type or has_body) and content_type not in BODY_TYPES and _is_browser(scope):
            return problem(
                415,
                "Unsupported media type",
                f"a request that changes state must send application/json (or "
                f"application/x-tar / application/octet-stream for uploads), not "
                f"{content_type or 'a body without a Content-Type'!r}",
                "unsupported_media_type",
            )
        return None

    def _same_site(self, origin: str, host: str) -> bool:
        clean = origin.rstrip("/").lower()
        if clean in self.origins:
            return True
        parts = urlsplit(clean)
        return parts.scheme in ("http", "https") and parts.netloc == host

    async def _audit(self, scope: Scope, route: str, status: int) -> None:
        principal: Principal | None = scope.get("state", {}).get("principal")
        if principal is None:
            return
        params = scope.get("path_params", {})
        action = f"{scope['method']} {route}"
        await run_in_threadpool(self._write_audit, principal, action, params, scope["path"], status)

    def _write_audit(
        self, principal: Principal, action: str, params: dict[str, Any], path: str, status: int
    ) -> None:
        actor = principal.user_name if principal.run_id is None else f"{principal.user_name}/run"
        try:
            with self.database.session() as session:
                audit.record(
                    session,
                    actor,
                    action,
                    workspace_name=params.get("workspace"),
                    target=path,
                    status=status,
                )
        except Exception:
            logging.getLogger("atelier.server").exception("could not write the audit log")
