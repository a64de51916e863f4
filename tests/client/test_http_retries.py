"""The HTTP backend over a connection that loses answers (a real proxy on loopback that
resets the connection after the server answered): idempotent requests are sent again,
run creation finds the run its lost answer made, and nothing is stored twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atelier.client.http import transport
from atelier.client.http.backend import HttpBackend
from atelier.core.errors import StoreError
from atelier.core.records import RunQuery
from atelier.core.status import RunStatus
from tests.conftest import unique
from tests.helpers import web
from tests.helpers.dropping_proxy import DroppingProxy, dropping_proxy
from tests.helpers.server import free_port


@pytest.fixture
def lossy(sqlite_server: Any) -> Iterator[tuple[DroppingProxy, HttpBackend, str]]:
    """A proxy before the session's server, a backend through it, and a new workspace."""
    with dropping_proxy(sqlite_server.url) as proxy:
        backend = HttpBackend(proxy.url, sqlite_server.admin_token)
        workspace = unique("retries")
        backend.workspaces.create(workspace, description="", location="", tags={}, exist_ok=False)
        try:
            yield proxy, backend, workspace
        finally:
            backend.close()


def test_a_run_created_once_when_its_answer_is_lost(
    lossy: tuple[DroppingProxy, HttpBackend, str],
) -> None:
    proxy, backend, workspace = lossy
    proxy.drop(f"POST /api/v1/workspaces/{workspace}/experiments/lost/runs ".encode())
    run = backend.runs.create(workspace, "lost", display_name="once")
    assert proxy.dropped == 1  # the first answer never arrived; the retry found the run
    found = backend.runs.list(workspace, "lost", RunQuery())
    assert [r.run_id for r in found] == [run.run_id]
    assert found[0].display_name == "once"


def test_a_status_change_whose_answer_is_lost_is_not_left_running(
    lossy: tuple[DroppingProxy, HttpBackend, str],
) -> None:
    proxy, backend, workspace = lossy
    run = backend.runs.create(workspace, "ending")
    proxy.drop(f"POST /api/v1/workspaces/{workspace}/runs/{run.run_id}/status ".encode())
    ended = backend.runs.transition(workspace, run.run_id, RunStatus.COMPLETED)
    assert proxy.dropped == 1
    assert ended.status == RunStatus.COMPLETED
    assert backend.runs.get(workspace, run.run_id).status == RunStatus.COMPLETED


def test_a_metric_batch_whose_answer_is_lost_is_not_sent_twice(
    lossy: tuple[DroppingProxy, HttpBackend, str],
) -> None:
    proxy, backend, workspace = lossy
    run = backend.runs.create(workspace, "points")
    proxy.drop(f"POST /api/v1/workspaces/{workspace}/runs/{run.run_id}/metrics/scalars ".encode())
    with pytest.raises(StoreError, match="cannot reach the Atelier server"):
        backend.metrics.log_scalars(workspace, run.run_id, {"loss": ([0, 1], [0.5, 0.25], [1, 2])})
    assert proxy.dropped == 1
    # the server stored the batch once; the client said it could not know
    assert backend.metrics.history(workspace, run.run_id, "loss")["steps"] == [0, 1]


def test_request_ids_replay_their_run_and_are_checked(sqlite_server: Any) -> None:
    headers = {"Authorization": f"Bearer {sqlite_server.admin_token}"}
    with web.Client(base_url=f"{sqlite_server.url}/api/v1", headers=headers) as client:
        workspace = unique("requests")
        assert client.post("/workspaces", json={"name": workspace}).status_code == 201
        runs = f"/workspaces/{workspace}/experiments/e/runs"
        first = client.post(runs, json={"request_id": "req-1"})
        again = client.post(runs, json={"request_id": "req-1"})
        elsewhere = client.post(
            f"/workspaces/{workspace}/experiments/other/runs", json={"request_id": "req-1"}
        )
        bad = client.post(runs, json={"request_id": "no spaces!"})
        listed = client.post(f"/workspaces/{workspace}/runs/search", json={"experiment": "e"})
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.json()["run_id"] == first.json()["run_id"]
    assert elsewhere.status_code == 409 and "request id" in elsewhere.json()["detail"]
    assert bad.status_code == 400 and "invalid request id" in bad.json()["detail"]
    assert [r["run_id"] for r in listed.json()["items"]] == [first.json()["run_id"]]


def test_a_server_that_never_answers_is_reported_after_bounded_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport, "RETRY_PAUSES", (0.01, 0.01))
    backend = HttpBackend(f"http://127.0.0.1:{free_port()}", "token")
    try:
        with pytest.raises(StoreError, match="cannot reach the Atelier server"):
            backend.runs.get("ws", "run")
    finally:
        backend.close()
