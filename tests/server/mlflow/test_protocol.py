"""Search, refusals and path attacks, through the real client and raw HTTP."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from atelier.core.access import Role
from atelier.services import artifacts

from .conftest import Served

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402


def raw(
    url: str, method: str, path: str, body: bytes | None = None, token: str | None = None
) -> tuple[int, Any]:
    """Send ``path`` exactly as written (no client-side normalization of '..' or '%'),
    with ``token`` (default: the client's ``MLFLOW_TRACKING_TOKEN``; "" for none)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    secret = os.environ.get("MLFLOW_TRACKING_TOKEN", "") if token is None else token
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        connection.request(method, parts.path + path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


def _runs(count: int) -> list[str]:
    ids = []
    for index in range(count):
        with mlflow.start_run(run_name=f"trial-{index}") as active:
            mlflow.log_param("alpha", str(index % 2))
            mlflow.log_metric("rmse", 1.0 + index)
            mlflow.set_tag("team", "vision" if index < 2 else "speech")
            ids.append(active.info.run_id)
    return ids


def test_search_runs_filters_orders_and_pages(tracking: str) -> None:
    experiment_id = mlflow.set_experiment("search").experiment_id
    ids = _runs(4)
    client = mlflow.MlflowClient()

    def found(filter_string: str, order_by: list[str] | None = None) -> list[str]:
        runs = client.search_runs([experiment_id], filter_string, order_by=order_by)
        return [run.info.run_id for run in runs]

    assert found("metrics.rmse < 3") == [ids[1], ids[0]]
    assert found("metrics.rmse >= 2 and params.alpha = '1'") == [ids[3], ids[1]]
    assert found("tags.team = 'speech'", ["metrics.rmse ASC"]) == [ids[2], ids[3]]
    assert found("attributes.status = 'FINISHED'", ["metrics.rmse DESC"]) == ids[::-1]
    assert found("attributes.run_name LIKE 'trial-%' and tags.team != 'vision'") == [
        ids[3],
        ids[2],
    ]
    assert found("params.alpha IN ('0')", ["attributes.start_time ASC"]) == [ids[0], ids[2]]
    first = client.search_runs([experiment_id], max_results=3, order_by=["metrics.rmse ASC"])
    assert [r.info.run_id for r in first] == ids[:3]
    assert first.token
    rest = client.search_runs(
        [experiment_id], max_results=3, order_by=["metrics.rmse ASC"], page_token=first.token
    )
    assert [r.info.run_id for r in rest] == ids[3:]
    assert not rest.token
    frame = mlflow.search_runs([experiment_id], filter_string="metrics.rmse > 3.5")
    assert list(frame["run_id"]) == [ids[3]]

    with pytest.raises(MlflowException) as bad:
        client.search_runs([experiment_id], "metrics.rmse ~ 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unknown_run_is_resource_does_not_exist_404(tracking: str, mlflow_server: Served) -> None:
    with pytest.raises(MlflowException) as missing:
        mlflow.MlflowClient().get_run("no-such-run")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    status, payload = raw(
        mlflow_server.uri_for(tracking), "GET", "/api/2.0/mlflow/runs/get?run_id=no-such-run"
    )
    assert status == 404
    assert payload["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "no-such-run" in payload["message"]


def test_bad_parameters_are_400_and_store_nothing(tracking: str, mlflow_server: Served) -> None:
    mlflow.set_experiment("bad-input")
    with mlflow.start_run() as active:
        run_id = active.info.run_id
        mlflow.log_param("alpha", "0.5")
        with pytest.raises(MlflowException) as changed:
            mlflow.log_param("alpha", "0.7")
        assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
        assert changed.value.get_http_status_code() == 400
    url = mlflow_server.uri_for(tracking)
    batch = {
        "run_id": run_id,
        "metrics": [
            {"key": "ok", "value": 1.0, "timestamp": 1, "step": 0},
            {"key": "broken", "value": "not a number", "timestamp": 1, "step": 0},
        ],
    }
    status, payload = raw(url, "POST", "/api/2.0/mlflow/runs/log-batch", json.dumps(batch).encode())
    assert (status, payload["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, payload = raw(url, "POST", "/api/2.0/mlflow/runs/log-metric", b"{not json")
    assert (status, payload["error_code"]) == (400, "MALFORMED_REQUEST")
    status, payload = raw(url, "POST", "/api/2.0/mlflow/runs/create", b'{"experiment_id": "nope"}')
    assert (status, payload["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, payload = raw(url, "POST", "/api/2.0/mlflow/experiments/create", b'{"name": "  "}')
    assert (status, payload["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, payload = raw(url, "GET", "/api/2.0/mlflow/not-an-endpoint")
    assert (status, payload["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    run = mlflow.get_run(run_id)
    assert run.data.metrics == {}
    assert run.data.params == {"alpha": "0.5"}


def test_refused_writes_are_permission_denied_403(
    mlflow_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Reader's token reads and is refused every write; another workspace's Owner and
    a caller without a token are refused even reads."""
    workspace = mlflow_server.workspace()
    url = mlflow_server.uri_for(workspace)
    reader = mlflow_server.person(workspace, Role.READER)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader)
    mlflow.set_tracking_uri(url)
    try:
        with pytest.raises(MlflowException) as refused:
            mlflow.MlflowClient().create_experiment("not-allowed")
        assert refused.value.error_code == "PERMISSION_DENIED"
        status, payload = raw(url, "POST", "/api/2.0/mlflow/runs/create", b"{}")
        assert status == 403
        assert "Reader" in payload["message"]
        status, payload = raw(
            url, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x", b"x"
        )
        assert status == 403
        status, payload = raw(url, "POST", "/api/2.0/mlflow/experiments/search", b"{}")
        assert status == 200
        assert payload == {"experiments": []}
    finally:
        mlflow.set_tracking_uri(None)
    other = mlflow_server.workspace()
    stranger = mlflow_server.person(other, Role.OWNER)
    search = "/api/2.0/mlflow/experiments/search"
    status, payload = raw(url, "POST", search, b"{}", token=stranger)
    assert (status, payload["error_code"]) == (403, "PERMISSION_DENIED")
    status, payload = raw(url, "POST", search, b"{}", token="")
    assert (status, payload["error_code"]) == (401, "UNAUTHENTICATED")
    status, payload = raw(url, "POST", search, b"{}", token="atl_wrong")
    assert status == 401


ATTACKS = [
    "../../../../etc/passwd",
    "{exp}/{run}/artifacts/../../../escape.txt",
    "{exp}/{run}/artifacts/%2e%2e/%2e%2e/escape.txt",
    "{exp}/{run}/artifacts/%252e%252e/escape.txt",
    "{exp}/{run}/artifacts/..%5c..%5cescape.txt",
    "{exp}/{run}/artifacts/sub\\..\\..\\escape.txt",
    "/etc/passwd",
    "{exp}/{run}/artifacts//etc/passwd",
    "{exp}/{run}/artifacts/C:/Windows/escape.txt",
    "{exp}/{run}/artifacts/a/./b.txt",
    "{exp}/{run}/artifacts/x%00.txt",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_artifact_path_attacks_are_refused(
    tracking: str, mlflow_server: Served, tmp_path: Path, attack: str
) -> None:
    mlflow.set_experiment("attacks")
    with mlflow.start_run() as active:
        run_id, experiment_id = active.info.run_id, active.info.experiment_id
    url = mlflow_server.uri_for(tracking)
    path = attack.format(exp=experiment_id, run=run_id)
    for method, target, body in (
        ("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", b"evil"),
        ("GET", f"/api/2.0/mlflow-artifacts/artifacts/{path}", None),
        ("GET", f"/api/2.0/mlflow-artifacts/artifacts?path={path}", None),
    ):
        status, said = raw(url, method, target, body)
        assert status == 400, (method, target, said)
        assert said["error_code"] == "INVALID_PARAMETER_VALUE"
    with mlflow_server.database.session() as session:
        assert artifacts.list_files(session, tracking, run_id) == []
    assert not Path("/escape.txt").exists()


def test_files_of_another_experiment_path_are_not_found(
    tracking: str, mlflow_server: Served
) -> None:
    mlflow.set_experiment("owner")
    with mlflow.start_run() as active:
        mlflow.log_text("secret", "secret.txt")
    other = mlflow.set_experiment("other").experiment_id
    url = mlflow_server.uri_for(tracking)
    good = f"{active.info.experiment_id}/{active.info.run_id}/artifacts/secret.txt"
    status, body = raw(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{good}")
    assert (status, body) == (200, b"secret")
    wrong = f"{other}/{active.info.run_id}/artifacts/secret.txt"
    status, _ = raw(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{wrong}")
    assert status == 404
    elsewhere = mlflow_server.workspace()
    status, _ = raw(
        mlflow_server.uri_for(elsewhere), "GET", f"/api/2.0/mlflow-artifacts/artifacts/{good}"
    )
    assert status == 404


def test_a_uri_without_workspace_logs_to_the_default_workspace(mlflow_server: Served) -> None:
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        experiment_id = mlflow.set_experiment("default-ws").experiment_id
        with mlflow.start_run() as active:
            mlflow.log_metric("x", 1.0)
        assert mlflow.get_run(active.info.run_id).info.experiment_id == experiment_id
    finally:
        mlflow.set_tracking_uri(None)
    with mlflow_server.database.session() as session:
        from atelier.services import runs

        assert runs.get(session, mlflow_server.default_workspace, active.info.run_id).run_id


def test_large_file_round_trips_and_an_interrupted_upload_leaves_nothing(
    tracking: str, mlflow_server: Served, tmp_path: Path
) -> None:
    import hashlib
    import os
    import socket

    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # past the 8 MiB in-memory spool
    mlflow.set_experiment("large")
    with mlflow.start_run() as active:
        mlflow.log_artifact(str(big), artifact_path="model")
    back = mlflow.artifacts.download_artifacts(
        run_id=active.info.run_id, artifact_path="model/weights.bin", dst_path=str(tmp_path / "o")
    )
    digest = hashlib.sha256(Path(back).read_bytes()).hexdigest()
    assert digest == hashlib.sha256(big.read_bytes()).hexdigest()

    parts = urlsplit(mlflow_server.uri_for(tracking))
    target = (
        f"{parts.path}/api/2.0/mlflow-artifacts/artifacts/"
        f"{active.info.experiment_id}/{active.info.run_id}/artifacts/partial.bin"
    )
    with socket.create_connection((parts.hostname or "", parts.port or 80)) as sock:
        head = (
            f"PUT {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 1000000\r\n"
            f"Authorization: Bearer {mlflow_server.token}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"only a little")
    listed = mlflow.MlflowClient().list_artifacts(active.info.run_id)
    assert sorted(f.path for f in listed) == ["model"]
    status, _ = raw(mlflow_server.uri_for(tracking), "GET", target.split(parts.path, 1)[1])
    assert status == 404


def test_concurrent_writers_to_one_run_lose_nothing(tracking: str, mlflow_server: Served) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    mlflow.set_experiment("concurrent")
    with mlflow.start_run() as active:
        run_id = active.info.run_id
        url = mlflow_server.uri_for(tracking) + "/api/2.0/mlflow/runs/log-metric"

        def writer(worker: int) -> None:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {mlflow_server.token}"
                for step in range(25):
                    point = {
                        "run_id": run_id,
                        "key": "shared",
                        "value": float(worker),
                        "timestamp": 1,
                        "step": worker * 100 + step,
                    }
                    session.post(url, json=point, timeout=60).raise_for_status()
                    tag = {"run_id": run_id, "key": f"worker-{worker}", "value": str(step)}
                    session.post(url.replace("log-metric", "set-tag"), json=tag, timeout=60)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(writer, range(4)))
    history = mlflow.MlflowClient().get_metric_history(run_id, "shared")
    assert sorted(m.step for m in history) == sorted(
        w * 100 + s for w in range(4) for s in range(25)
    )
    tags = mlflow.get_run(run_id).data.tags
    assert all(tags[f"worker-{w}"] == "24" for w in range(4))


def test_a_model_cannot_be_registered_from_another_workspace(
    tracking: str, mlflow_server: Served
) -> None:
    mlflow.set_experiment("mine")
    with mlflow.start_run() as active:
        mlflow.log_text("weights", "model/weights.txt")
    other = mlflow_server.workspace()
    client = mlflow.MlflowClient(tracking_uri=mlflow_server.uri_for(other))
    for source in (
        f"runs:/{active.info.run_id}/model",
        f"mlflow-artifacts:/{active.info.experiment_id}/{active.info.run_id}/artifacts/model",
    ):
        with pytest.raises(MlflowException) as refused:
            client.create_model_version("stolen", source, run_id=active.info.run_id)
        assert refused.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    own = mlflow.MlflowClient().create_model_version(
        "kept", f"runs:/{active.info.run_id}/model", run_id=active.info.run_id
    )
    assert own.version == "1"


def test_a_failing_store_answers_500_without_details(
    tracking: str, mlflow_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.core.errors import StoreError
    from atelier.services import mlflow_tracking

    def broken(*args: object) -> None:
        raise StoreError("database error on postgresql://admin@db.internal/atelier: boom")

    monkeypatch.setattr(mlflow_tracking, "get_run", broken)
    status, payload = raw(
        mlflow_server.uri_for(tracking), "GET", "/api/2.0/mlflow/runs/get?run_id=x"
    )
    assert (status, payload["error_code"]) == (500, "INTERNAL_ERROR")
    assert "db.internal" not in payload["message"]
    assert "request id" in payload["message"]


def test_mlflow_workspace_header_selects_the_workspace(
    mlflow_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = mlflow_server.workspace()
    monkeypatch.setenv("MLFLOW_WORKSPACE", workspace)
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        mlflow.set_experiment("by-header")
        with mlflow.start_run() as active:
            mlflow.log_text("in the named workspace", "where.txt")
    finally:
        mlflow.set_tracking_uri(None)
    with mlflow_server.database.session() as session:
        from atelier.services import runs

        assert runs.get(session, workspace, active.info.run_id).experiment_name == "by-header"
        files = artifacts.list_files(session, workspace, active.info.run_id)
        assert [f.path for f in files] == ["where.txt"]
    clash = mlflow_server.uri_for(mlflow_server.workspace())
    parts = urlsplit(clash)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(
            "GET",
            parts.path + "/api/2.0/mlflow/experiments/search",
            headers={"X-MLflow-Workspace": workspace},
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
    finally:
        connection.close()
    assert (response.status, payload["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_workspaces_are_listed_to_whom_may_read_them(mlflow_server: Served) -> None:
    mine = mlflow_server.workspace()
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        assert mine in {w.name for w in mlflow.list_workspaces()}
        assert mlflow.get_workspace(mine).name == mine
        with pytest.raises(MlflowException) as absent:
            mlflow.get_workspace("absent-ws")
        assert absent.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    finally:
        mlflow.set_tracking_uri(None)
    readable = mlflow_server.workspace()
    reader = mlflow_server.person(readable, Role.READER)
    status, payload = raw(mlflow_server.url, "GET", "/api/3.0/mlflow/workspaces", token=reader)
    assert status == 200
    assert {w["name"] for w in payload["workspaces"]} == {readable}
    stranger = mlflow_server.person()
    status, payload = raw(mlflow_server.url, "GET", "/api/3.0/mlflow/workspaces", token=stranger)
    assert (status, payload) == (200, {"workspaces": []})
    status, payload = raw(mlflow_server.url, "GET", "/api/3.0/mlflow/workspaces", token="")
    assert status == 401
