"""A running MLflow endpoint for the real ``mlflow`` client: uvicorn on a loopback port.

``make_mlflow_app`` is the one place that builds the app; the workspace server replaces
it with its own ``create_app`` when the branches meet.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI, Request

from atelier import Workspace
from atelier.core.errors import PermissionDeniedError
from atelier.server.mlflow_api import Authorize, mount_mlflow
from atelier.services import workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


async def allow_all(request: Request, workspace: str, access: str) -> None:
    """Every caller may do everything (the server branch brings real roles)."""


async def read_only(request: Request, workspace: str, access: str) -> None:
    """Readers only: every write is refused as the server refuses a Reader's write."""
    if access != "read":
        raise PermissionDeniedError(
            f"you have the Reader role in workspace {workspace!r}; writing needs Contributor"
        )


async def deny_all(request: Request, workspace: str, access: str) -> None:
    """Nobody may do anything; the message names the access the route asked for."""
    raise PermissionDeniedError(f"denied {access} on {workspace}")


def make_mlflow_app(
    database_url: str, blob_url: str, default_workspace: str, authorize: Authorize = allow_all
) -> FastAPI:
    """The app under test: the MLflow routes over one database and blob store."""
    app = FastAPI()
    app.state.database = Database(database_url)
    app.state.blobs = BlobStore(blob_url)
    app.state.mlflow_default_workspace = default_workspace
    mount_mlflow(app, authorize)
    return app


@dataclass
class Served:
    url: str
    database: Database
    blobs: BlobStore
    default_workspace: str

    def workspace(self) -> str:
        """A new workspace; its tracking URI is ``uri_for(name)``."""
        name = f"ws-{uuid.uuid4().hex[:10]}"
        with self.database.session() as session:
            workspaces.create(session, name)
        return name

    def uri_for(self, workspace: str) -> str:
        return f"{self.url}/mlflow/{workspace}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port until the generator ends."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.database.dispose()


def _database_url(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if kind == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp / 'mlflow.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def mlflow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The MLflow endpoint over SQLite or PostgreSQL, with allow-all authorization."""
    tmp = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    default = f"default-{uuid.uuid4().hex[:8]}"
    app = make_mlflow_app(_database_url(request.param, tmp, request), str(tmp / "blobs"), default)
    for url in serve(app):
        yield Served(url, app.state.database, app.state.blobs, default)


@pytest.fixture(scope="session")
def read_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An endpoint whose authorize lets only reads through (SQLite)."""
    tmp = tmp_path_factory.mktemp("mlflow-read-only")
    app = make_mlflow_app(f"sqlite:///{tmp / 'ro.db'}", str(tmp / "blobs"), "ro-default", read_only)
    for url in serve(app):
        yield Served(url, app.state.database, app.state.blobs, "ro-default")


@pytest.fixture(scope="session")
def denying_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An endpoint whose authorize refuses everything (SQLite)."""
    tmp = tmp_path_factory.mktemp("mlflow-deny")
    app = make_mlflow_app(f"sqlite:///{tmp / 'no.db'}", str(tmp / "blobs"), "no-default", deny_all)
    for url in serve(app):
        yield Served(url, app.state.database, app.state.blobs, "no-default")


@pytest.fixture
def tracking(mlflow_server: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh workspace set as the mlflow client's tracking URI; yields its name."""
    import mlflow

    workspace = mlflow_server.workspace()
    uri = mlflow_server.uri_for(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    # the client remembers the last set_experiment process-wide; each test starts afresh
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    mlflow.set_tracking_uri(uri)
    yield workspace
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def sdk(
    tracking: str, mlflow_server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """The test's workspace through Atelier's own SDK, over the server's database and blobs."""
    from atelier.client.registry import reset_backends

    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "sdk-home"))
    monkeypatch.setenv("ATELIER_DATABASE_URL", mlflow_server.database.url)
    monkeypatch.setenv("ATELIER_BLOB_URL", mlflow_server.blobs.url)
    reset_backends()
    yield Workspace.get(tracking)
    reset_backends()


#: Warnings the mlflow client raises about its own internals, not about what we serve.
MLFLOW_CLIENT_WARNINGS = [
    pytest.mark.filterwarnings("ignore:.*type hint is inferred as AnyType:UserWarning"),
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            for mark in MLFLOW_CLIENT_WARNINGS:
                item.add_marker(mark)
