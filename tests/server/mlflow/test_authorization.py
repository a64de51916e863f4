"""Every MLflow route asks ``authorize`` before doing anything, for the right access."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from atelier.server.mlflow import artifacts, registry, tracking, workspaces

from .conftest import Served
from .test_protocol import raw

#: POST routes that only read (MLflow sends searches as POST bodies)
READING_POSTS = {
    "/api/2.0/mlflow/experiments/search",
    "/api/2.0/mlflow/runs/search",
    "/api/2.0/mlflow/logged-models/search",
    "/api/2.0/mlflow/registered-models/search",
    "/api/2.0/mlflow/registered-models/get-latest-versions",
    "/api/2.0/mlflow/model-versions/search",
}
ROUTES = [
    (method, route.path)
    for router in (tracking.router, registry.router, artifacts.router, workspaces.router)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods)
]


def _expected_access(method: str, path: str) -> str:
    if method == "GET" or (method == "POST" and path in READING_POSTS):
        return "read"
    return "write"


@pytest.mark.parametrize("prefix", ["/mlflow/some-ws", ""])
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_is_refused_before_it_reads_anything(
    denying_server: Served, prefix: str, method: str, path: str
) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x", path)
    status, payload = raw(denying_server.url + prefix, method, concrete, b"{not even json")
    if path == workspaces.ROOT:
        assert (status, payload) == (200, {"workspaces": []})
        return
    assert status == 403, payload
    assert payload["error_code"] == "PERMISSION_DENIED"
    if path.startswith(workspaces.ROOT):
        assert payload["message"] == "denied read on x"  # the workspace the path names
        return
    workspace = "some-ws" if prefix else "no-default"
    assert payload["message"] == f"denied {_expected_access(method, path)} on {workspace}"


def test_the_route_table_is_what_the_client_needs() -> None:
    paths = {path for _, path in ROUTES}
    for needed in (
        "/api/2.0/mlflow/runs/log-metric",
        "/api/2.0/mlflow/runs/log-batch",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        "/api/2.0/mlflow-artifacts/artifacts/{path:path}",
    ):
        assert needed in paths


def test_an_unknown_endpoint_is_refused_too(denying_server: Served) -> None:
    status, payload = raw(denying_server.url, "GET", "/api/2.0/mlflow/no/such/thing")
    assert (status, payload["error_code"]) == (403, "PERMISSION_DENIED")
