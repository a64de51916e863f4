"""Every MLflow route asks the server's ``authorize_workspace`` before doing anything,
for the right access: the MLflow part of the role matrix (the REST role matrix in
tests/server/test_roles.py walks the ``/api/v1`` routes, whose rules are declared; the
MLflow routes authorize inside, so they are walked here, with real tokens)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from atelier.core.access import Role
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


@pytest.fixture(scope="module")
def people(mlflow_server: Served) -> dict[str, str]:
    """A workspace and a token per kind of caller."""
    workspace = mlflow_server.workspace()
    other = mlflow_server.workspace()
    return {
        "workspace": workspace,
        "anonymous": "",
        "stranger": mlflow_server.person(other, Role.OWNER),
        "reader": mlflow_server.person(workspace, Role.READER),
        "contributor": mlflow_server.person(workspace, Role.CONTRIBUTOR),
    }


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_role_matrix_of_the_mlflow_routes(
    mlflow_server: Served, people: dict[str, str], method: str, path: str
) -> None:
    """anonymous → 401; another workspace's Owner → 403; a Reader reads but is refused
    writes; a Contributor passes authorization. Bodies are garbage: a refusal must come
    before anything is read."""
    workspace = people["workspace"]
    concrete = re.sub(r"\{[^}]+\}", workspace if "workspace" in path else "x", path)
    base = mlflow_server.uri_for(workspace)
    access = _expected_access(method, path)
    for who in ("anonymous", "stranger", "reader", "contributor"):
        status, payload = raw(base, method, concrete, b"{not even json", token=people[who])
        where = f"{method} {path} as {who}: {status} {payload}"
        if path == workspaces.ROOT and who != "anonymous":
            assert status == 200, where
            continue
        if who == "anonymous":
            assert status == 401, where
        elif who == "stranger" or (who == "reader" and access == "write"):
            assert status == 403, where
            assert payload["error_code"] == "PERMISSION_DENIED", where
            if who == "reader":
                assert "write access" in payload["message"], where
        else:
            assert status not in (401, 403) and status < 500, where


def test_the_route_table_is_what_the_client_needs() -> None:
    paths = {path for _, path in ROUTES}
    for needed in (
        "/api/2.0/mlflow/runs/log-metric",
        "/api/2.0/mlflow/runs/log-batch",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        "/api/2.0/mlflow-artifacts/artifacts/{path:path}",
    ):
        assert needed in paths


def test_an_unknown_endpoint_is_refused_too(mlflow_server: Served, people: dict[str, str]) -> None:
    url = mlflow_server.uri_for(people["workspace"])
    status, payload = raw(url, "GET", "/api/2.0/mlflow/no/such/thing", token=people["stranger"])
    assert (status, payload["error_code"]) == (403, "PERMISSION_DENIED")
    status, payload = raw(url, "GET", "/api/2.0/mlflow/no/such/thing", token=people["reader"])
    assert (status, payload["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
