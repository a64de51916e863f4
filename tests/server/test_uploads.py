"""Uploads stream and are all-or-nothing: a cut-off upload (client gone, or server killed)
leaves no file named and no object in the blob store; concurrent writers lose nothing."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.server import start_server, stop_server
from tests.server.conftest import Person, Team


def _objects(blob_root: Path) -> set[Path]:
    return {p for p in (blob_root / "objects").rglob("*") if p.is_file()}


def _start_upload(url: str, path: str, token: str, total: int, sent: int) -> socket.socket:
    """Send the headers and ``sent`` of ``total`` body bytes, then stop (socket left open)."""
    parsed = httpx.URL(url)
    sock = socket.create_connection((parsed.host, parsed.port))
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {total}\r\n\r\n"
    )
    sock.sendall(head.encode() + os.urandom(sent))
    return sock


def _wait_for(predicate: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _new_run(client: httpx.Client, workspace: str) -> str:
    answer = client.post(f"/api/v1/workspaces/{workspace}/experiments/up/runs", json={})
    return str(answer.json()["run_id"])


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_client_that_goes_away_mid_upload_leaves_nothing(server: Any, team: Team) -> None:
    blob_root = server.home / "blobs"
    with team.owner.client(team.url) as client:
        run_id = _new_run(client, team.workspace)
        before = _objects(blob_root)
        path = f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files/big.bin"
        sock = _start_upload(team.url, path, team.owner.token, 8 * 1024 * 1024, 2 * 1024 * 1024)
        assert _wait_for(lambda: any((blob_root / "tmp").iterdir()))  # it was streaming
        sock.close()
        assert _wait_for(lambda: not any((blob_root / "tmp").iterdir()))
        assert _objects(blob_root) == before
        listing = client.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files")
        assert listing.json()["items"] == []


@pytest.mark.slow  # starts and kills a server
def test_killing_the_server_mid_upload_leaves_no_visible_file(
    tmp_path: Path, sqlite_template: Path
) -> None:
    # the migrated template: the schema's migrations are not what this test is about
    server = start_server(tmp_path / "home", None, template=sqlite_template)
    try:
        admin = Person("admin", server.admin_token)
        with admin.client(server.url) as client:
            assert client.post("/api/v1/workspaces", json={"name": "killed"}).status_code == 201
            run_id = _new_run(client, "killed")
        blob_root = server.home / "blobs"
        before = _objects(blob_root)
        path = f"/api/v1/workspaces/killed/runs/{run_id}/files/big.bin"
        sock = _start_upload(server.url, path, server.admin_token, 8 * 1024 * 1024, 1024 * 1024)
        assert _wait_for(lambda: any((blob_root / "tmp").iterdir()))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        sock.close()
    finally:
        stop_server(server)
    again = start_server(tmp_path / "home", None, initialize=False)
    try:
        with Person("admin", server.admin_token).client(again.url) as client:
            listing = client.get(f"/api/v1/workspaces/killed/runs/{run_id}/files")
            assert listing.status_code == 200, listing.text
            assert listing.json()["items"] == []
        assert _objects(blob_root) == before  # the partial bytes never got a name
    finally:
        stop_server(again)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_clients_logging_to_one_run_lose_nothing(team: Team) -> None:
    with team.owner.client(team.url) as client:
        run_id = _new_run(client, team.workspace)
    base = f"/api/v1/workspaces/{team.workspace}/runs/{run_id}"
    errors: list[str] = []

    def writer(offset: int) -> None:
        with team.contributor.client(team.url) as client:
            for batch in range(20):
                steps = list(range(offset + batch * 50, offset + batch * 50 + 50))
                body = {
                    "series": {
                        "shared": {"steps": steps, "values": [1.0] * 50, "timestamps": steps}
                    }
                }
                answer = client.post(f"{base}/metrics/scalars", json=body)
                if answer.status_code != 200:
                    errors.append(answer.text)
                tag = client.patch(base, json={"tags": {f"writer{offset}-{batch}": "x"}})
                if tag.status_code != 204:
                    errors.append(tag.text)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in (0, 100_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with team.reader.client(team.url) as client:
        history = client.get(f"{base}/metrics/history", params={"name": "shared"}).json()
        run = client.get(base).json()
    assert sorted(history["steps"]) == list(range(1000)) + list(range(100_000, 101_000))
    assert len([key for key in run["tags"] if key.startswith("writer")]) == 40


@pytest.mark.parametrize("database", ["sqlite"])
def test_many_refused_large_uploads_are_answered_and_the_server_keeps_serving(team: Team) -> None:
    """More refused large uploads than the server has worker threads: each is answered
    409 and the server still serves (no thread waits for good on an abandoned body)."""
    body = b"x" * (2 * 1024 * 1024)
    with team.owner.client(team.url) as client:
        run_id = _new_run(client, team.workspace)
        url = f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files/taken.bin"
        octet = {"Content-Type": "application/octet-stream"}
        assert client.put(url, content=b"first", headers=octet).status_code == 201
        for _ in range(45):  # the thread pool has 40 threads
            try:
                answer = client.put(url, content=body, headers=octet, timeout=10)
            except (httpx.WriteError, httpx.RemoteProtocolError):
                continue  # the server may answer 409 and close before the body is sent
            assert answer.status_code == 409, answer.text
        assert client.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}").status_code == 200
