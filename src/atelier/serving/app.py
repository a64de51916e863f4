"""The scoring app: an ASGI app (Starlette) that hosts one entry script.

Routes::

    POST /score         run(data) on the request body → run()'s result as JSON
    GET  /healthz       200 while the process is up
    GET  /readyz        200 once init() succeeded, else 503
    GET  /metrics       Prometheus text (this app's own registry)
    GET  /swagger.json  OpenAPI 3.0, with /score's body derived from run()'s input schemas

Errors are problem documents (``{"type", "title", "status", "detail"}``); a failing
``run()`` answers 500 with a request id, and its traceback goes to the ``atelier.serving``
logger only. Every response carries ``x-request-id``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atelier.serving.entry import EntryScript, InputError, load_entry_script
from atelier.serving.metrics import ScoringMetrics
from atelier.serving.openapi import openapi_document

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_TIMEOUT_SECONDS", "create_app"]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 60.0
REQUEST_ID_HEADERS = ("x-ms-request-id", "x-request-id")

logger = logging.getLogger("atelier.serving")

#: run() calls happen on these threads (as many as anyio's default), off the event loop;
#: a plain executor costs less per request than anyio's worker threads
_RUN_THREADS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="atelier-run")


class _BodyTooLargeError(Exception):
    """The request body passed the size limit."""


def problem(status: int, title: str, detail: str, request_id: str | None = None) -> JSONResponse:
    """A ``application/problem+json`` response (RFC 9457)."""
    content: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request_id is not None:
        content["request_id"] = request_id
    return JSONResponse(content, status_code=status, media_type="application/problem+json")


class _RequestContext:
    """Gives each request an id and records its metrics; a pure ASGI middleware."""

    def __init__(self, app: ASGIApp, metrics: ScoringMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value for key, value in scope["headers"]}
        request_id = next(
            (headers[name].decode("latin-1") for name in REQUEST_ID_HEADERS if headers.get(name)),
            str(uuid.uuid4()),
        )[:200]
        scope.setdefault("state", {})["request_id"] = request_id
        path = ScoringMetrics.path_label(scope["path"])
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()


class _Scorer:
    """The state and handlers of one scoring app."""

    def __init__(
        self,
        entry: EntryScript,
        model_dir: Path | None,
        keys: tuple[str, ...] | None,
        max_body_bytes: int,
        timeout_seconds: float,
        metrics: ScoringMetrics,
    ) -> None:
        self.entry = entry
        self.model_dir = model_dir
        self.keys = tuple(key.encode() for key in keys or () if key)
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self.metrics = metrics
        self.ready = False
        self.document = openapi_document(
            entry, title=f"Scoring: {entry.path.name}", secured=bool(self.keys)
        )

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            await anyio.to_thread.run_sync(self.entry.call_init, self.model_dir)
        except Exception:
            logger.exception("init() of %s failed; /score answers 503", self.entry.path)
        else:
            self.ready = True
            logger.info("init() of %s succeeded; ready to score", self.entry.path)
        yield

    def _authorized(self, request: Request) -> bool:
        if not self.keys:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        given = token.strip().encode()
        # Compare with every key so the time taken does not say which one nearly matched.
        matches = [hmac.compare_digest(given, key) for key in self.keys]
        return any(matches)

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLargeError
            chunks.append(chunk)
        return b"".join(chunks)

    async def score(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        if not self._authorized(request):
            response = problem(
                401,
                "Unauthorized",
                "send 'Authorization: Bearer <key>' with a key of this endpoint",
            )
            response.headers["www-authenticate"] = "Bearer"
            return response
        if not self.ready:
            return problem(
                503, "Service Unavailable", "the model is not loaded: init() has not succeeded"
            )
        try:
            body = await self._body(request)
        except _BodyTooLargeError:
            return problem(
                413,
                "Payload Too Large",
                f"the request body is larger than {self.max_body_bytes} bytes",
            )
        try:
            args, kwargs = self.entry.arguments(body)
        except InputError as exc:
            return problem(400, "Bad Request", exc.message)

        def call() -> bytes:
            return json.dumps(self.entry.run(*args, **kwargs), default=_jsonable).encode()

        try:
            future = asyncio.get_running_loop().run_in_executor(_RUN_THREADS, call)
            content = await asyncio.wait_for(future, self.timeout_seconds)
        except TimeoutError:
            self.metrics.errors.labels("timeout").inc()
            logger.warning(
                "run() took longer than %ss (request id %s)", self.timeout_seconds, request_id
            )
            return problem(
                504,
                "Gateway Timeout",
                f"run() took longer than {self.timeout_seconds:g} seconds",
                request_id,
            )
        except InputError as exc:  # run() itself may reject its input, as no-code scripts do
            return problem(400, "Bad Request", exc.message, request_id)
        except Exception:
            self.metrics.errors.labels("run").inc()
            logger.exception("run() failed (request id %s)", request_id)
            return problem(
                500,
                "Internal Server Error",
                "run() failed; the server log has the details under this request id",
                request_id,
            )
        return Response(content, media_type="application/json")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    async def metrics_text(self, request: Request) -> Response:
        return Response(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def swagger(self, request: Request) -> Response:
        return JSONResponse(self.document)


def _jsonable(value: Any) -> Any:
    """NumPy arrays and scalars (anything with ``tolist``) as plain Python values."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"run() returned a {type(value).__name__}, which is not JSON serializable")


def create_app(
    entry_script: Path,
    source_directory: Path,
    model_dir: Path | None = None,
    keys: tuple[str, ...] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Starlette:
    """An ASGI app that scores requests with ``entry_script``.

    The script is imported now (raising
    :class:`~atelier.serving.entry.EntryScriptError` if it lacks ``init`` or ``run``);
    ``init()`` runs once when the app starts (its lifespan). With ``keys``, ``/score``
    needs ``Authorization: Bearer <key>`` with one of them (primary and secondary).
    """
    entry = load_entry_script(Path(entry_script), Path(source_directory))
    metrics = ScoringMetrics()
    scorer = _Scorer(entry, model_dir, keys, max_body_bytes, timeout_seconds, metrics)
    app = Starlette(
        routes=[
            Route("/score", scorer.score, methods=["POST"]),
            Route("/healthz", scorer.healthz, methods=["GET"]),
            Route("/readyz", scorer.readyz, methods=["GET"]),
            Route("/metrics", scorer.metrics_text, methods=["GET"]),
            Route("/swagger.json", scorer.swagger, methods=["GET"]),
        ],
        lifespan=scorer.lifespan,
    )
    app.add_middleware(_RequestContext, metrics=metrics)
    app.state.scorer = scorer
    return app
