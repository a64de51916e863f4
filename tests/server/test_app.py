"""The server as a client sees it: probes, OpenAPI, problem bodies, CLI init and start."""

from __future__ import annotations

from typing import Any

import pytest

from atelier.core.settings import Settings
from atelier.server.app import create_app, route_table
from tests.helpers import web
from tests.helpers.mlflow_routes import is_mlflow_path
from tests.server.conftest import Team


def test_probes_and_metrics_answer(server: Any) -> None:
    assert web.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert web.get(f"{server.url}/readyz").json() == {"status": "ready"}
    metrics = web.get(f"{server.url}/metrics")
    assert metrics.status_code == 200
    assert "atelier_http_requests_total" in metrics.text


def test_openapi_document_and_docs_are_served(server: Any) -> None:
    document = web.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/workspaces/{workspace}/runs/{run_id}" in document["paths"]
    docs = web.get(f"{server.url}/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_errors_are_problem_bodies_without_tracebacks(team: Team) -> None:
    with team.owner.client(team.url) as client:
        missing = client.get(f"/api/v1/workspaces/{team.workspace}/runs/no-such-run")
        bad = client.post("/api/v1/workspaces", json={"name": "bad name!"})
        shape = client.post("/api/v1/workspaces", json={"nom": 1})
        route = client.get("/api/v1/nothing-here")
    for answer, status, code in (
        (missing, 404, "not_found"),
        (bad, 400, "validation_error"),
        (shape, 422, "validation_error"),
        (route, 404, "not_found"),
    ):
        body = answer.json()
        assert answer.status_code == status, answer.text
        assert set(body) >= {"type", "title", "status", "detail", "code"}
        assert body["status"] == status
        assert body["code"] == code
        assert "Traceback" not in answer.text
        assert body["detail"]
    assert "invalid workspace name" in bad.json()["detail"]


def test_every_route_has_an_authorization_rule(tmp_path: Any) -> None:
    """A route added without a rule fails here (and so fails the suite)."""
    app = create_app(Settings(home=tmp_path))
    table = route_table(app)
    assert len(table) > 50
    missing = [(m, p) for m, p, rule in table if rule is None and not is_mlflow_path(p)]
    assert not missing, missing
    # the MLflow routes authorize inside (tests/server/mlflow/test_authorization.py walks
    # each of them with real tokens); every one of them is an MlflowRoute
    mlflow = [p for _, p, _ in table if is_mlflow_path(p)]
    assert len(mlflow) > 50


@pytest.mark.parametrize("database", ["sqlite"])
def test_server_init_refuses_a_second_time(server: Any) -> None:
    import subprocess
    import sys

    from tests.helpers.server import _environment

    again = subprocess.run(
        [sys.executable, "-m", "atelier.cli.main", "server", "init"],
        capture_output=True,
        text=True,
        env=_environment(server.home, server.database_url or None),
        timeout=60,
        check=False,
    )
    assert again.returncode == 4
    assert "already initialized" in again.stderr


def test_listings_are_paginated(team: Team) -> None:
    with team.owner.client(team.url) as client:
        base = f"/api/v1/workspaces/{team.workspace}/experiments"
        for index in range(5):
            assert client.put(f"{base}/paged-{index}").status_code == 200
        names: list[str] = []
        pages = 0
        params: dict[str, str | int] = {"limit": 2}
        while True:
            body = client.get(base, params=params).json()
            pages += 1
            names.extend(item["name"] for item in body["items"])
            if not body["next_page_token"]:
                break
            params["page_token"] = body["next_page_token"]
        assert pages == 3
        assert names == [f"paged-{index}" for index in range(5)]
        forged = client.get(base, params={"page_token": "abc"})
        assert forged.status_code == 400
        assert "page_token" in forged.json()["detail"]
        too_many = client.get(base, params={"limit": 100_000})
        assert too_many.status_code == 422


@pytest.mark.parametrize("database", ["sqlite"])
def test_authorize_workspace_for_routers_outside_the_route_table(team: Team) -> None:
    """What the MLflow router calls: the same tokens and roles, workspace given by name."""
    import asyncio

    from fastapi import Request

    from atelier.core.errors import PermissionDeniedError, UnauthenticatedError
    from atelier.server.auth import authorize_workspace
    from atelier.store.database import Database

    database = Database(team.server_database_url)

    class State:
        pass

    class App:
        state = State()

    App.state.database = database  # type: ignore[attr-defined]

    def request(token: str | None) -> Request:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        scope = {"type": "http", "headers": headers, "query_string": b"", "app": App()}
        return Request(scope)

    def call(token: str | None, access: str, run_id: str | None = None) -> None:
        asyncio.run(authorize_workspace(request(token), team.workspace, access, run_id=run_id))

    call(team.reader.token, "read")
    call(team.contributor.token, "write")
    with pytest.raises(PermissionDeniedError, match="Contributor"):
        call(team.reader.token, "write")
    with pytest.raises(PermissionDeniedError):
        call(team.stranger.token, "read")
    with pytest.raises(UnauthenticatedError):
        call(None, "read")
    with team.owner.client(team.url) as client:
        base = f"/api/v1/workspaces/{team.workspace}"
        run_id = client.post(f"{base}/experiments/mlflow/runs", json={}).json()["run_id"]
        run_token = client.post(f"{base}/runs/{run_id}/token").json()["token"]
    call(run_token, "write", run_id=run_id)
    with pytest.raises(PermissionDeniedError, match="only on run"):
        call(run_token, "write")  # no run named: a run token reaches nothing else
    database.dispose()
