"""The endpoint's router: an ASGI app that owns the endpoint's port.

Routes::

    POST /score         checked against the endpoint's keys, then proxied to a replica
    GET  /healthz       200 while the router is up
    GET  /readyz        200 when a deployment that takes traffic has a ready replica
    GET  /metrics       Prometheus text: the endpoint's requests, latency, in-flight
    GET  /swagger.json  a replica's OpenAPI document

A request goes to a deployment by the traffic split, or to the one named in the
``azureml-model-deployment`` header (as Azure ML's online endpoints do), then to that
deployment's replica with the fewest requests in flight, over a pool of keep-alive
connections (:mod:`atelier.serving.upstream`). A replica that dies while handling a
request makes the router answer 502 with a message saying so (the manager restarts it).

The router checks keys by their SHA-256 digests: it never holds the keys themselves.

Why an HTTP router and not a raw TCP proxy: measured in front of one replica with
bench/loadgen.py (1 row, concurrency 1 and 8), this router and a plain asyncio TCP
proxy on uvloop were within the machine's noise of each other (about 400-950 against
430-1350 req/s), while only an HTTP-aware router can split traffic per request, count
requests in flight per replica, check keys and answer a clear 502. Its first version used
httpx to reach the replicas and saturated at about 240 req/s at concurrency 32; the raw
keep-alive client in :mod:`atelier.serving.upstream` removed that bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from atelier.serving.app import bearer_matches
from atelier.serving.collector import ModelDataCollector
from atelier.serving.manager import EndpointManager
from atelier.serving.metrics import CountedRequest, ScoringMetrics
from atelier.serving.upstream import UpstreamError

__all__ = ["Router"]

logger = logging.getLogger("atelier.serving.router")

DEPLOYMENT_HEADER = b"azureml-model-deployment"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_FORWARDED = (b"content-type", b"x-request-id", b"x-ms-request-id")


class _TooLargeError(Exception):
    pass


class Router:
    """The ASGI app; ``on_startup``/``on_shutdown`` start and stop the manager."""

    def __init__(self, manager: EndpointManager) -> None:
        self.manager = manager
        self.metrics = ScoringMetrics()
        self.collector = ModelDataCollector(
            manager.reporting, manager.workspace, manager.name, manager.say
        )
        self._collecting: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        counted = CountedRequest(self.metrics, path, method)
        send = counted.sending(send)
        try:
            if path == "/score" and method == "POST":
                await self._score(scope, receive, send)
            elif path == "/healthz" and method == "GET":
                await _json(send, 200, {"status": "ok"})
            elif path == "/readyz" and method == "GET":
                ready = self.manager.ready()
                await _json(
                    send, 200 if ready else 503, {"status": "ready" if ready else "not ready"}
                )
            elif path == "/metrics" and method == "GET":
                await _send(
                    send, 200, self.metrics.render(), b"text/plain; version=0.0.4; charset=utf-8"
                )
            elif path == "/swagger.json" and method == "GET":
                await self._swagger(send)
            else:
                await _problem(send, 404, "Not Found", f"no route {method} {path}")
        finally:
            counted.finish()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.manager.start()
                except Exception as exc:
                    logger.exception("the endpoint manager could not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self._collecting = asyncio.ensure_future(self.collector.run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._collecting is not None:
                    self._collecting.cancel()
                await self.collector.flush()
                await self.manager.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        if not self.manager.auth_enabled:
            return True
        known = [digest.encode() for digest in self.manager.key_digests]
        return bearer_matches(headers, known, hashed=True)

    async def _score(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        if not self._authorized(headers):
            await _problem(
                send,
                401,
                "Unauthorized",
                "send 'Authorization: Bearer <key>' with a key of this endpoint "
                "(service.get_keys() or 'atelier endpoint keys')",
                extra=[(b"www-authenticate", b"Bearer")],
            )
            return
        limit = int(self.manager.config.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES)
        try:
            body = await _read_body(receive, headers, limit)
        except _TooLargeError:
            await _problem(
                send, 413, "Payload Too Large", f"the request body is larger than {limit} bytes"
            )
            return
        requested = headers.get(DEPLOYMENT_HEADER)
        name = requested.decode("latin-1") if requested else None
        deployment, replica = self.manager.route(name, random.random())
        if replica is None or deployment is None:
            detail = f"deployment {name!r} has no ready replica" if name else "no replica is ready"
            await _problem(
                send, 503, "Service Unavailable", f"{detail}; check the endpoint's state and logs"
            )
            return
        request_id = (
            headers.get(b"x-request-id") or headers.get(b"x-ms-request-id") or b""
        ).decode("latin-1")[:200] or str(uuid.uuid4())
        forward = {
            "Content-Type": headers.get(b"content-type", b"application/json").decode("latin-1"),
            "x-request-id": request_id,
        }
        replica.in_flight += 1
        try:
            response = await replica.client.request("POST", "/score", body, forward)
        except UpstreamError as exc:
            self.metrics.errors.labels("replica").inc()
            logger.warning("replica %s failed a request: %r", replica.label, exc)
            await _problem(
                send,
                502,
                "Bad Gateway",
                f"the replica handling this request stopped ({exc}); it is being "
                "restarted: retry the request",
                request_id=request_id,
            )
            return
        finally:
            replica.in_flight -= 1
        content = response.body
        if deployment.spec.get("collect_model_data"):
            self.collector.add(deployment.name, request_id, response.status, body, content)
        await _send(
            send,
            response.status,
            content,
            response.content_type,
            extra=[
                (b"x-request-id", request_id.encode("latin-1")),
                (b"azureml-model-deployment", deployment.name.encode("latin-1")),
            ],
        )

    async def _swagger(self, send: Send) -> None:
        replica = self.manager.any_replica()
        if replica is None:
            await _problem(send, 503, "Service Unavailable", "no replica is ready")
            return
        try:
            response = await replica.client.request("GET", "/swagger.json")
        except UpstreamError:
            await _problem(send, 502, "Bad Gateway", "the replica did not answer; retry")
            return
        await _send(send, response.status, response.body, b"application/json")


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, document: dict[str, Any]) -> None:
    await _send(send, status, json.dumps(document).encode(), b"application/json")


async def _problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    request_id: str | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    document: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    document["detail"] = detail
    if request_id is not None:
        document["request_id"] = request_id
    await _send(send, status, json.dumps(document).encode(), b"application/problem+json", extra)
