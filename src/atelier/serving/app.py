"""The scoring app: a plain ASGI app that hosts one entry script.

Routes::

    POST /score         run(data) on the request body → run()'s result as JSON
    GET  /healthz       200 while the process is up
    GET  /readyz        200 once init() succeeded, else 503
    GET  /metrics       Prometheus text (this app's own registry)
    GET  /swagger.json  OpenAPI 3.0, with /score's body derived from run()'s input schemas

Errors are problem documents (``{"type", "title", "status", "detail"}``); a failing
``run()`` answers 500 with a request id, and its traceback goes to the ``atelier.serving``
logger only. Every response carries ``x-request-id``.

Speed is the point of this module (it is the scoring hot path), so it is written against
ASGI directly, without a framework's routing and middleware layers, and ``run()`` is called
on the event loop's own thread: a replica scores one request at a time, as a worker of
Azure's inference server does, and more replicas give more parallelism. The timeout is
then enforced with ``SIGALRM``, which interrupts ``run()`` (a thread could only be
abandoned, still busy); where the app does not run on the main thread (an embedding
program's own thread), ``run()`` goes to a worker thread and is abandoned at the timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import signal
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

from atelier.core.errors import InputError
from atelier.serving.direct import DIRECT_SCOPE_KEY
from atelier.serving.entry import EntryScript, load_entry_script
from atelier.serving.metrics import CountedRequest, ScoringMetrics
from atelier.serving.openapi import openapi_document

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT_SECONDS",
    "ScoringApp",
    "bearer_matches",
    "create_app",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 60.0
_REQUEST_ID_HEADERS = (b"x-ms-request-id", b"x-request-id")
_JSON = b"application/json"
_PROBLEM = b"application/problem+json"
_DEPLOYMENT_HEADER = b"azureml-model-deployment"

logger = logging.getLogger("atelier.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: run() calls made off the main thread (see the module's docstring)
_RUN_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="atelier-run")


class _BodyTooLargeError(Exception):
    """The request body passed the size limit."""


class _RunTimeoutError(BaseException):
    """Raised inside run() by SIGALRM; a BaseException so ``except Exception`` in a
    scoring script does not swallow it."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _RunTimeoutError


def bearer_matches(headers: dict[bytes, bytes], known: Sequence[bytes], hashed: bool) -> bool:
    """Whether ``Authorization: Bearer <token>`` carries one of the ``known`` keys (with
    ``hashed``, ``known`` holds the keys' SHA-256 hex digests)."""
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    if scheme.lower() != b"bearer" or not token:
        return False
    given = token.strip()
    if hashed:
        given = hashlib.sha256(given).hexdigest().encode()
    # Compare with every key so the time taken does not say which one nearly matched.
    matches = [hmac.compare_digest(given, key) for key in known]
    return any(matches)


def problem_body(status: int, title: str, detail: str, request_id: str | None = None) -> bytes:
    """A problem document (RFC 9457) as bytes."""
    content: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request_id is not None:
        content["request_id"] = request_id
    return json.dumps(content).encode()


class ScoringApp:
    """The ASGI app of one entry script (build it with :func:`create_app`)."""

    def __init__(
        self,
        entry: EntryScript,
        model_dir: Path | None,
        keys: tuple[str, ...] | None,
        max_body_bytes: int,
        timeout_seconds: float,
    ) -> None:
        self.entry = entry
        self.model_dir = model_dir
        self.keys = tuple(key.encode() for key in keys or () if key)
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self.metrics = ScoringMetrics()
        self.ready = False
        self.document = openapi_document(
            entry, title=f"Scoring: {entry.path.name}", secured=bool(self.keys)
        )
        self.state = SimpleNamespace(scorer=self)  # as a Starlette app's ``app.state``
        self._alarm_installed = False
        # Requests on connections the endpoint's router handed over (see
        # atelier.serving.direct) are checked against the endpoint's key digests, and only
        # they are counted here when ``direct_only_metrics`` (the router counts the rest).
        self.direct_digests: tuple[bytes, ...] = ()
        self.direct_auth = True
        self.deployment: str | None = None
        self.direct_only_metrics = False
        #: where the replica's manager reads how many direct requests are in flight
        self.load: memoryview | None = None

    def configure_direct(self, settings: dict[str, Any]) -> None:
        """The endpoint's settings, from its router: key digests, auth, deployment name."""
        self.direct_digests = tuple(str(d).encode() for d in settings.get("key_digests") or ())
        self.direct_auth = bool(settings.get("auth_enabled", True))
        self.deployment = settings.get("deployment") or self.deployment
        if settings.get("max_body_bytes"):
            self.max_body_bytes = int(settings["max_body_bytes"])

    # --- ASGI -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers: dict[bytes, bytes] = dict(scope["headers"])
        request_id = next(
            (headers[name].decode("latin-1") for name in _REQUEST_ID_HEADERS if headers.get(name)),
            None,
        )
        request_id = (request_id or str(uuid.uuid4()))[:200]
        path, method = scope["path"], scope["method"]
        direct = scope.get(DIRECT_SCOPE_KEY, False)
        # requests on handed-over connections only, when the router counts the rest
        counted = (
            CountedRequest(self.metrics, path, method)
            if direct or not self.direct_only_metrics
            else None
        )
        if counted is not None:
            send = counted.sending(send)
        load = self.load if direct else None
        if load is not None:
            load[0] += 1
        status = 500
        try:
            try:
                status, content_type, content = await self._answer(
                    path, method, headers, receive, request_id, direct
                )
            finally:
                # no longer in flight once the answer is ready: counted until it was sent,
                # a replica stopped just as its client had the answer kept the count up,
                # looked busy for ever, and so was never taken for one missing its health
                # checks (the manager does not count a busy replica's misses)
                if load is not None:
                    load[0] -= 1
            response_headers = [
                (b"content-type", content_type),
                (b"content-length", str(len(content)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
            ]
            if status == 401:
                response_headers.append((b"www-authenticate", b"Bearer"))
            if direct and self.deployment:
                response_headers.append((_DEPLOYMENT_HEADER, self.deployment.encode("latin-1")))
            await send(
                {"type": "http.response.start", "status": status, "headers": response_headers}
            )
            await send({"type": "http.response.body", "body": content})
        finally:
            if counted is not None:
                counted.finish()

    async def _answer(
        self,
        path: str,
        method: str,
        headers: dict[bytes, bytes],
        receive: Receive,
        request_id: str,
        direct: bool,
    ) -> tuple[int, bytes, bytes]:
        """The status, content type and body of one request's answer."""
        if path == "/score" and method == "POST":
            return await self._score(headers, receive, request_id, direct)
        if method != "GET" or path not in _GETS:
            return 404, _PROBLEM, problem_body(404, "Not Found", f"no route {method} {path}")
        return _GETS[path](self)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Run the script's ``init()`` (once); a failure leaves the app not ready."""
        try:
            await asyncio.get_running_loop().run_in_executor(
                _RUN_THREADS, self.entry.call_init, self.model_dir
            )
        except Exception:
            logger.exception("init() of %s failed; /score answers 503", self.entry.path)
        else:
            self.ready = True
            logger.info("init() of %s succeeded; ready to score", self.entry.path)

    # --- /score -----------------------------------------------------------------------
    def _authorized(self, headers: dict[bytes, bytes], direct: bool = False) -> bool:
        if direct:
            if not self.direct_auth:
                return True
            known = self.direct_digests
        elif not self.keys:
            return True
        else:
            known = self.keys
        # the endpoint's keys are known by their SHA-256 digests only
        return bearer_matches(headers, known, hashed=direct)

    async def _body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _score(
        self, headers: dict[bytes, bytes], receive: Receive, request_id: str, direct: bool
    ) -> tuple[int, bytes, bytes]:
        if not self._authorized(headers, direct):
            detail = "send 'Authorization: Bearer <key>' with a key of this endpoint"
            if direct:
                detail += " (service.get_keys() or 'atelier endpoint keys')"
            return 401, _PROBLEM, problem_body(401, "Unauthorized", detail)
        if direct:
            requested = headers.get(_DEPLOYMENT_HEADER)
            if requested is not None and requested.decode("latin-1") != self.deployment:
                name = requested.decode("latin-1")
                detail = (
                    f"deployment {name!r} has no ready replica; check the endpoint's state and logs"
                )
                return 503, _PROBLEM, problem_body(503, "Service Unavailable", detail)
        if not self.ready:
            detail = "the model is not loaded: init() has not succeeded"
            return 503, _PROBLEM, problem_body(503, "Service Unavailable", detail)
        try:
            body = await self._body(headers, receive)
        except _BodyTooLargeError:
            detail = f"the request body is larger than {self.max_body_bytes} bytes"
            return 413, _PROBLEM, problem_body(413, "Payload Too Large", detail)
        try:
            args, kwargs = self.entry.arguments(body)
        except InputError as exc:
            return 400, _PROBLEM, problem_body(400, "Bad Request", exc.message)

        def call() -> bytes:
            return json.dumps(self.entry.run(*args, **kwargs), default=_jsonable).encode()

        try:
            content = await self._call_with_deadline(call)
        except (_RunTimeoutError, TimeoutError):
            self.metrics.errors.labels("timeout").inc()
            logger.warning(
                "run() took longer than %ss (request id %s)", self.timeout_seconds, request_id
            )
            detail = f"run() took longer than {self.timeout_seconds:g} seconds"
            return 504, _PROBLEM, problem_body(504, "Gateway Timeout", detail, request_id)
        except InputError as exc:  # run() itself may reject its input, as no-code scripts do
            return 400, _PROBLEM, problem_body(400, "Bad Request", exc.message, request_id)
        except Exception:
            self.metrics.errors.labels("run").inc()
            logger.exception("run() failed (request id %s)", request_id)
            detail = "run() failed; the server log has the details under this request id"
            return 500, _PROBLEM, problem_body(500, "Internal Server Error", detail, request_id)
        return 200, _JSON, content

    async def _call_with_deadline(self, call: Callable[[], bytes]) -> bytes:
        """``call()`` here, interrupted by SIGALRM at the timeout; off the main thread, in
        a worker thread that is abandoned at the timeout."""
        if threading.current_thread() is not threading.main_thread():
            future = asyncio.get_running_loop().run_in_executor(_RUN_THREADS, call)
            return await asyncio.wait_for(future, self.timeout_seconds)
        if not self._alarm_installed:
            signal.signal(signal.SIGALRM, _on_alarm)
            self._alarm_installed = True
        signal.setitimer(signal.ITIMER_REAL, self.timeout_seconds)
        try:
            return call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    # --- GET routes -------------------------------------------------------------------
    def healthz(self) -> tuple[int, bytes, bytes]:
        return 200, _JSON, b'{"status": "ok"}'

    def readyz(self) -> tuple[int, bytes, bytes]:
        if self.ready:
            return 200, _JSON, b'{"status": "ready"}'
        return 503, _JSON, b'{"status": "not ready"}'

    def metrics_text(self) -> tuple[int, bytes, bytes]:
        return 200, b"text/plain; version=0.0.4; charset=utf-8", self.metrics.render()

    def swagger(self) -> tuple[int, bytes, bytes]:
        return 200, _JSON, json.dumps(self.document).encode()


_GETS: dict[str, Callable[[ScoringApp], tuple[int, bytes, bytes]]] = {
    "/healthz": ScoringApp.healthz,
    "/readyz": ScoringApp.readyz,
    "/metrics": ScoringApp.metrics_text,
    "/swagger.json": ScoringApp.swagger,
}


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
) -> ScoringApp:
    """An ASGI app that scores requests with ``entry_script``.

    The script is imported now (raising
    :class:`~atelier.serving.entry.EntryScriptError` if it lacks ``init`` or ``run``);
    ``init()`` runs once when the app starts (its lifespan). With ``keys``, ``/score``
    needs ``Authorization: Bearer <key>`` with one of them (primary and secondary).
    """
    entry = load_entry_script(Path(entry_script), Path(source_directory))
    return ScoringApp(entry, model_dir, keys, max_body_bytes, timeout_seconds)
