"""Client input that once reached a 5xx, or got through where it must not: each refused with
the rule it broke (numbers past their range, over-long names, sparse tar members, booleans
as metric values, '#' in MLflow artifact paths, bodies past their limit), and runs of other
workspaces indistinguishable from absent ones."""

from __future__ import annotations

import io
import socket
import tarfile
from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import Team

TAR = {"Content-Type": "application/x-tar"}
HUGE = 99999999999999999999


@pytest.fixture
def team(shared_team: Team) -> Team:
    """The module's team: these checks make their own runs, users and tokens, and no
    refusal changes the team's members or workspace."""
    return shared_team


@pytest.fixture
def owner(team: Team) -> Iterator[httpx.Client]:
    with team.owner.client(team.url) as client:
        yield client


def _run(client: httpx.Client, workspace: str) -> str:
    answer = client.post(f"/api/v1/workspaces/{workspace}/experiments/rules/runs", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def _tar(name: str, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _sparse_tar(name: str, real_size: int) -> bytes:
    """A 2 KB tar whose one member (old GNU sparse format) unpacks to ``real_size`` bytes:
    one byte of data at the end, the rest a hole."""
    member = tarfile.TarInfo(name)
    member.type = tarfile.GNUTYPE_SPARSE
    member.size = 1
    header = bytearray(member.tobuf(format=tarfile.GNU_FORMAT))
    header[386:398] = b"%011o\0" % (real_size - 1)  # the sparse map: (offset, size)
    header[398:410] = b"%011o\0" % 1
    header[483:495] = b"%011o\0" % real_size  # the unpacked size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])  # the header checksum
    return bytes(header) + b"x" + b"\0" * 511 + b"\0" * 1024


def _tar_routes(team: Team, run_id: str) -> dict[str, str]:
    """The five routes that unpack a tar stream (the package route's files live under
    files/)."""
    ws = f"/api/v1/workspaces/{team.workspace}"
    return {
        "run files": f"{ws}/runs/{run_id}/files",
        "snapshot": f"{ws}/snapshots",
        "model": f"{ws}/models/rules-model/versions",
        "package": f"{ws}/packages?name=rules-image",
        "datastore": f"{ws}/datastores/workspaceblobstore/files",
    }


def test_sparse_tar_members_are_refused_on_every_tar_route(team: Team, owner: httpx.Client) -> None:
    run_id = _run(owner, team.workspace)
    body = _sparse_tar("files/big.bin", 100 * 1024 * 1024)
    assert len(body) <= 2048
    for route, path in _tar_routes(team, run_id).items():
        answer = owner.post(path, content=body, headers=TAR)
        assert answer.status_code == 400, (route, answer.status_code, answer.text[:300])
        assert "sparse" in answer.json()["detail"], route
    files = owner.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files").json()
    assert files["items"] == []


def test_a_name_over_255_bytes_is_refused_on_every_tar_route(
    team: Team, owner: httpx.Client
) -> None:
    run_id = _run(owner, team.workspace)
    body = _tar("files/" + "a" * 300 + "/f.txt")
    for route, path in _tar_routes(team, run_id).items():
        answer = owner.post(path, content=body, headers=TAR)
        assert answer.status_code == 400, (route, answer.status_code, answer.text[:300])
        assert "255 bytes" in answer.json()["detail"], route


def test_long_file_names_are_refused_with_the_rule(team: Team, owner: httpx.Client) -> None:
    ws = f"/api/v1/workspaces/{team.workspace}"
    run_id = _run(owner, team.workspace)
    long_name = "a" * 5000
    upload = owner.put(
        f"{ws}/runs/{run_id}/files/{long_name}",
        content=b"x",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 400, upload.text[:300]
    assert "too long" in upload.json()["detail"]
    assert owner.get(f"{ws}/runs/{run_id}/files").json()["items"] == []
    datastore = owner.get(f"{ws}/datastores/workspaceblobstore/files/{long_name}")
    assert datastore.status_code == 400, datastore.text[:300]
    assert "too long" in datastore.json()["detail"]


def test_numbers_past_their_range_are_refused_with_the_rule(
    team: Team, owner: httpx.Client
) -> None:
    ws = f"/api/v1/workspaces/{team.workspace}"
    run_id = _run(owner, team.workspace)
    for field in ("steps", "timestamps"):
        series = {"steps": [0], "values": [1.0], "timestamps": [1]}
        series[field] = [2**64]
        answer = owner.post(f"{ws}/runs/{run_id}/metrics/scalars", json={"series": {"m": series}})
        assert answer.status_code == 400, (field, answer.text[:300])
        assert "64-bit" in answer.json()["detail"]
    mlflow = f"/mlflow/{team.workspace}/api/2.0/mlflow/runs"
    point = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 2**70}
    single = owner.post(f"{mlflow}/log-metric", json=point)
    assert single.status_code == 400, single.text
    assert single.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    batch = {"run_id": run_id, "metrics": [{**point, "step": 0, "timestamp": -(2**70)}]}
    answer = owner.post(f"{mlflow}/log-batch", json=batch)
    assert answer.status_code == 400, answer.text
    stored = owner.get(f"{ws}/runs/{run_id}/metrics/history", params={"name": "m"})
    assert stored.status_code == 404  # nothing was stored
    model = owner.post(f"{ws}/models/big/versions", content=_tar("m.txt"), headers=TAR)
    assert model.status_code == 201, model.text
    environment = owner.post(f"{ws}/environments/big", json={"spec": {}})
    assert environment.status_code == 200, environment.text
    for answer in (
        owner.get(f"{ws}/models/big/versions/{HUGE}"),
        owner.get(f"{ws}/models/big/versions/{HUGE}/files"),
        owner.get(f"{ws}/environments/big", params={"version": str(HUGE)}),
    ):
        assert answer.status_code == 400, (answer.request.url, answer.text[:300])
        assert "from 1 to 2147483647" in answer.json()["detail"]
    mlflow_version = owner.get(
        f"/mlflow/{team.workspace}/api/2.0/mlflow/model-versions/get",
        params={"name": "big", "version": str(HUGE)},
    )
    assert mlflow_version.status_code == 400, mlflow_version.text
    assert "from 1 to 2147483647" in mlflow_version.json()["message"]


def test_booleans_are_not_metric_values_over_rest(team: Team, owner: httpx.Client) -> None:
    ws = f"/api/v1/workspaces/{team.workspace}"
    run_id = _run(owner, team.workspace)
    for values in ([True], [1.0, False]):
        series = {"steps": list(range(len(values))), "values": values, "timestamps": [1] * 2}
        series["timestamps"] = series["timestamps"][: len(values)]
        answer = owner.post(f"{ws}/runs/{run_id}/metrics/scalars", json={"series": {"m": series}})
        assert answer.status_code == 400, answer.text
        assert "bool" in answer.json()["detail"]
    stored = owner.get(f"{ws}/runs/{run_id}/metrics/history", params={"name": "m"})
    assert stored.status_code == 404  # nothing was stored
    numbers = {"steps": [0, 1], "values": [1, 2.5], "timestamps": [1, 2]}
    answer = owner.post(f"{ws}/runs/{run_id}/metrics/scalars", json={"series": {"m": numbers}})
    assert answer.status_code == 200, answer.text


def test_mlflow_artifact_paths_follow_the_rest_rule(team: Team, owner: httpx.Client) -> None:
    run_id = _run(owner, team.workspace)
    experiment = owner.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}").json()
    experiment_id = owner.get(
        f"/mlflow/{team.workspace}/api/2.0/mlflow/runs/get", params={"run_id": run_id}
    ).json()["run"]["info"]["experiment_id"]
    assert experiment["run_id"] == run_id
    root = f"/mlflow/{team.workspace}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}"
    for escaped in ("a%23b.txt", "a%3Fb.txt"):
        answer = owner.put(f"{root}/artifacts/{escaped}", content=b"x")
        assert answer.status_code == 400, (escaped, answer.text)
        assert "'#' or '?'" in answer.json()["message"]
    plain = owner.put(f"{root}/artifacts/plain.txt", content=b"x")
    assert plain.status_code == 200, plain.text
    files = owner.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files").json()
    assert [item["path"] for item in files["items"]] == ["plain.txt"]


def test_a_run_of_another_workspace_looks_exactly_like_an_absent_one(
    team: Team, owner: httpx.Client
) -> None:
    """Run ids are global: a stranger learns nothing from a run id beyond what a collision
    with any taken id tells (409, the same answer whoever holds the id)."""
    hidden = _run(owner, team.workspace)
    with team.stranger.client(team.url) as stranger:
        found = stranger.get(f"/api/v1/runs/{hidden}/workspace")
        absent = stranger.get("/api/v1/runs/no-such-run-at-all/workspace")
        assert found.status_code == absent.status_code == 404, (found.text, absent.text)
        assert found.json() == {
            **absent.json(),
            "detail": absent.json()["detail"].replace("no-such-run-at-all", hidden),
        }
        own_workspace = stranger.get("/api/v1/workspaces").json()
        names = [w["name"] for w in own_workspace.get("items", own_workspace)]
        mine = next(name for name in names if name != team.workspace)
        base = f"/api/v1/workspaces/{mine}/experiments/taken/runs"
        own_run = stranger.post(base, json={}).json()["run_id"]
        clash_foreign = stranger.post(base, json={"run_id": hidden})
        clash_own = stranger.post(base, json={"run_id": own_run})
    assert clash_foreign.status_code == clash_own.status_code == 409
    assert clash_foreign.json()["detail"] == clash_own.json()["detail"].replace(own_run, hidden)
    assert team.workspace not in clash_foreign.text


def test_json_bodies_past_the_limit_are_refused_while_streaming(
    team: Team, owner: httpx.Client
) -> None:
    limit = 8 * 1024 * 1024  # ATELIER_MAX_JSON_BYTES's default
    chunk = b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to check first
        yield b'{"name": "x"'
        for _ in range(limit // len(chunk) + 1):
            yield chunk
        yield b"}"

    json_type = {"Content-Type": "application/json"}
    rest = owner.post("/api/v1/workspaces", content=body(), headers=json_type)
    assert rest.status_code == 413, rest.text[:300]
    assert rest.json()["code"] == "payload_too_large"
    assert "ATELIER_MAX_JSON_BYTES" in rest.json()["detail"]
    mlflow = owner.post(
        f"/mlflow/{team.workspace}/api/2.0/mlflow/experiments/create",
        content=body(),
        headers=json_type,
    )
    assert mlflow.status_code == 413, mlflow.text[:300]
    assert mlflow.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_read(
    team: Team,
) -> None:
    """Only the headers are sent: the answer comes without the server waiting for the body."""
    url = httpx.URL(team.url)
    request = (
        f"POST /api/v1/workspaces HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {team.owner.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n{{"
    )
    with socket.create_connection((url.host, url.port or 80), timeout=20) as sock:
        sock.sendall(request.encode())
        answer = _read_response(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:300]
    assert "ATELIER_MAX_JSON_BYTES" in answer


def _read_response(sock: socket.socket) -> str:
    """One whole HTTP response: its head may arrive in a segment of its own."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")
