"""One endpoint's page: state, deployments and traffic, scoring URI, keys revealed on
request, request counts and latency read from the endpoint's own ``/metrics``, and a test
box that sends a JSON request to the endpoint and shows its answer.

The endpoint listens on the server host's loopback (as its scoring URI says), so the
Studio's server makes both calls on the page's behalf: the browser talks only to the
Studio (its Content-Security-Policy allows nothing else). The test call carries the
endpoint's primary key, so it is a Contributor's action, like revealing the keys.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from atelier.core.errors import ValidationError
from atelier.core.tls_context import ssl_context
from atelier.server.auth import READ, WRITE
from atelier.server.routes._common import secret_box
from atelier.services import endpoint_records, endpoints
from atelier.serving.metrics import summarize
from atelier.studio.context import database_of, may
from atelier.studio.render import page
from atelier.studio.security import SECURITY_HEADERS, page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

ENDPOINT = "/workspaces/{workspace}/endpoints/{name}"
HOST = "127.0.0.1"
#: how long the page waits for the endpoint's /metrics, and a test request for its answer
METRICS_TIMEOUT_S = 1.0
TEST_TIMEOUT_S = 60.0
#: how much of a test answer comes back to the page
ANSWER_CHARS = 64 * 1024
DEPLOYMENT_HEADER = "azureml-model-deployment"


class TestRequest(BaseModel):
    """What the test box sends: the request body (JSON text) and, optionally, the
    deployment to send it to (else the traffic split picks)."""

    body: str = Field(max_length=1024 * 1024)
    deployment: str | None = Field(default=None, max_length=32)


def endpoint_metrics(port: int) -> dict[str, Any]:
    """The endpoint's request counts and latency, or ``{"error": why}`` if it does not
    answer (stopped, still starting)."""
    try:
        answer = httpx.get(
            f"http://{HOST}:{port}/metrics", timeout=METRICS_TIMEOUT_S, verify=ssl_context()
        )
    except httpx.HTTPError as exc:
        return {"error": f"the endpoint does not answer on port {port} ({type(exc).__name__})"}
    if answer.status_code != 200:
        return {"error": f"the endpoint's /metrics answered {answer.status_code}"}
    try:
        return summarize(answer.text)
    except (ValueError, LookupError, TypeError) as exc:  # not Prometheus text
        return {"error": f"the endpoint's /metrics could not be read ({type(exc).__name__})"}


@router.get(ENDPOINT, dependencies=page_guard(READ), response_class=HTMLResponse)
def endpoint_page(workspace: str, name: str, request: Request) -> HTMLResponse:
    """One endpoint with its deployments, metrics and (for a Contributor) the test box."""
    with database_of(request).session() as session:
        record = endpoint_records.get(session, workspace, name)
    return page(
        request,
        "endpoint.html",
        workspace=workspace,
        e=record,
        host=HOST,
        metrics=endpoint_metrics(record.port),
        may=may(request, workspace),
    )


@router.get(f"{ENDPOINT}/metrics", dependencies=page_guard(READ))
def endpoint_metrics_json(workspace: str, name: str, request: Request) -> JSONResponse:
    """The endpoint's request counts and latency as JSON (the page's refresh)."""
    with database_of(request).session() as session:
        record = endpoint_records.get(session, workspace, name)
    return JSONResponse(endpoint_metrics(record.port), headers=SECURITY_HEADERS)


@router.post(f"{ENDPOINT}/test", dependencies=page_guard(WRITE))
def test_endpoint(workspace: str, name: str, sent: TestRequest, request: Request) -> JSONResponse:
    """Send ``sent.body`` to the endpoint's scoring URI with its primary key; answer the
    status, the time it took and what the endpoint said."""
    box = secret_box(request)
    with database_of(request).session() as session:
        record = endpoint_records.get(session, workspace, name)
        primary = endpoints.open_keys(session, box, workspace, name)[0]
    try:
        json.loads(sent.body)
    except ValueError as exc:
        raise ValidationError(f"the request body is not JSON: {exc}") from exc
    if sent.deployment and record.deployment(sent.deployment) is None:
        known = ", ".join(d.name for d in record.deployments) or "none"
        raise ValidationError(
            f"endpoint {name!r} has no deployment {sent.deployment!r} (it has: {known})"
        )
    headers = {"Content-Type": "application/json"}
    if record.auth_enabled:
        headers["Authorization"] = f"Bearer {primary}"
    if sent.deployment:
        headers[DEPLOYMENT_HEADER] = sent.deployment
    started = time.perf_counter()
    try:
        answer = httpx.post(
            f"http://{HOST}:{record.port}/score",
            content=sent.body.encode(),
            headers=headers,
            timeout=TEST_TIMEOUT_S,
            verify=ssl_context(),
        )
    except httpx.HTTPError as exc:
        body = {
            "status": None,
            "error": f"the endpoint did not answer on port {record.port} ({type(exc).__name__})",
        }
        return JSONResponse(body, headers=SECURITY_HEADERS)
    elapsed_ms = (time.perf_counter() - started) * 1000
    text = answer.text
    result = {
        "status": answer.status_code,
        "elapsed_ms": round(elapsed_ms, 1),
        "content_type": answer.headers.get("content-type", ""),
        "body": text[:ANSWER_CHARS],
        "truncated": len(text) > ANSWER_CHARS,
    }
    return JSONResponse(result, headers=SECURITY_HEADERS)
