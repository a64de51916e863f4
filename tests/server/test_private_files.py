"""Other local users read nothing of a workspace: whatever the umask, the server's home holds
only files of mode 0600 and folders of mode 0700 (database, WAL, blobs, snapshots, logs),
and an embedded home is created 0700 with the same files inside."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from tests.conftest import unique
from tests.helpers import web
from tests.helpers.server import start_server, stop_server


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default umask, under which files are created world-readable."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _readable_by_others(root: Path, skip: set[Path]) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        if path in skip or path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root)}: {oct(mode)}")
    return found


def _tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("database", ["sqlite"])
def test_the_server_home_is_private_to_its_user(
    tmp_path: Path, open_umask: None, database: str
) -> None:
    home = tmp_path / "server-home"
    server = start_server(home, None)  # the test harness makes the home and its log
    try:
        with web.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}
        ) as client:
            ws = f"/api/v1/workspaces/{unique('private')}"
            assert client.post("/api/v1/workspaces", json={"name": ws.rsplit("/", 1)[1]})
            run_id = client.post(f"{ws}/experiments/private/runs", json={}).json()["run_id"]
            batch = {"series": {"loss": {"steps": [0], "values": [1.0], "timestamps": [1]}}}
            assert client.post(f"{ws}/runs/{run_id}/metrics/scalars", json=batch).is_success
            uploaded = client.put(
                f"{ws}/runs/{run_id}/files/outputs/secret.txt",
                content=b"secret",
                headers={"Content-Type": "application/octet-stream"},
            )
            assert uploaded.status_code == 201, uploaded.text
            snapshot = client.post(
                f"{ws}/snapshots",
                content=_tar("train.py", b"print(1)"),
                headers={"Content-Type": "application/x-tar"},
            )
            assert snapshot.status_code == 201, snapshot.text
    finally:
        stop_server(server)
    assert (home / "atelier.db").exists()
    assert any((home / "blobs" / "objects").rglob("*"))
    assert _readable_by_others(home, skip={home, home / "server.log"}) == []


def test_an_embedded_home_is_created_private(home: Path, open_umask: None) -> None:
    # Atelier itself must create the home: the fixture's migrated SQLite template made it first
    shutil.rmtree(home, ignore_errors=True)
    reset_backends()
    ws = Workspace.create(unique("private"))
    run = Experiment(ws, "private").start_logging()
    run.log("loss", 1.0)
    source = home.parent / "outputs.txt"
    source.write_text("secret")
    run.upload_file("outputs/secret.txt", str(source))
    run.complete()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    database = home / "atelier.db"
    if database.exists():  # SQLite: the database and its WAL and shared-memory files
        for path in (database, home / "atelier.db-wal", home / "atelier.db-shm"):
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    blobs = list((home / "blobs").rglob("*"))
    assert any(path.is_file() for path in blobs)
    for path in blobs:
        expected = 0o600 if path.is_file() else 0o700
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
