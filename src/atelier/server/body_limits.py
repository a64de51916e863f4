"""Bounds on request bodies the server reads whole: JSON is refused with 413 past its limit,
before it is parsed and while it streams in.

``ATELIER_MAX_JSON_BYTES`` (default 8 MiB) bounds every body that is not a streamed upload;
metric batches (REST ``/metrics/scalars`` and ``/metrics/documents``, MLflow
``runs/log-batch``) have their own, larger ``ATELIER_MAX_METRIC_BATCH_BYTES`` (default
64 MiB, a few times the SDK's largest batch). Streamed uploads (``application/x-tar``,
``application/octet-stream``, MLflow artifact PUTs) are bounded by
``ATELIER_MAX_UPLOAD_BYTES`` where they are read (``server/streams.py``).

A declared ``Content-Length`` over the limit is refused before the body is read; a chunked
body is counted as it arrives and refused at the first chunk past the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

from atelier.server.config import ServerSettings
from atelier.server.gate import ASGIApp, Message, Receive, Scope, Send
from atelier.server.problems import problem

#: body types that routes stream instead of reading whole
STREAMED_TYPES = frozenset({"application/x-tar", "application/octet-stream"})
#: MLflow artifact uploads carry the file's own type (often application/json)
_STREAMED_PATH = "/mlflow-artifacts/artifacts/"
_METRIC_BATCH_SUFFIXES = ("/metrics/scalars", "/metrics/documents", "/runs/log-batch")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class BodyLimits:
    """Pure ASGI: wraps ``receive`` of the requests it bounds, nothing else."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.json_limit = settings.max_json_bytes
        self.batch_limit = settings.max_metric_batch_bytes

    def _limit(self, scope: Scope) -> tuple[int, str] | None:
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        path: str = scope["path"]
        if content_type in STREAMED_TYPES or _STREAMED_PATH in path:
            return None
        if path.endswith(_METRIC_BATCH_SUFFIXES):
            return self.batch_limit, "ATELIER_MAX_METRIC_BATCH_BYTES"
        return self.json_limit, "ATELIER_MAX_JSON_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._limit(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        limit, setting = found
        detail = (
            f"the request body is larger than the {limit}-byte limit ({setting}); send less "
            "per request (split a batch), or raise the limit on the server"
        )
        declared = _header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            answer = problem(413, "Request body too large", detail, "payload_too_large")
            await answer(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)
