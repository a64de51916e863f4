"""A running MLflow endpoint for the real ``mlflow`` client: the REAL workspace server
(``create_app``, its Gate and its roles) served by uvicorn on a loopback port.

``make_mlflow_app`` is the one place that builds the app; ``Served`` carries an admin
token (what the ``mlflow`` client sends via ``MLFLOW_TRACKING_TOKEN``) and makes users
with a role in a workspace for the refusal tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from atelier import Workspace
from atelier.core.access import Role
from atelier.server.app import create_app
from atelier.server.config import ServerSettings
from atelier.services import members, users, workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.helpers.server import serve

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def make_mlflow_app(
    home: Path, database_url: str, blob_url: str, default_workspace: str
) -> tuple[FastAPI, str]:
    """The server under test and an admin token; ``default_workspace`` exists, as the
    server's default MLflow workspace must."""
    settings = ServerSettings(
        home=home,
        database_url=database_url,
        blob_url=blob_url,
        mlflow_default_workspace=default_workspace,
    )
    app = create_app(settings)
    database: Database = app.state.database
    database.ensure_schema()
    admin = f"admin-{uuid.uuid4().hex[:8]}"
    with database.session() as session:
        users.create_user(session, admin, is_admin=True)
        token = users.create_token(session, admin, "mlflow tests").secret
        workspaces.create(session, default_workspace, exist_ok=True)
    return app, token


@dataclass
class Served:
    url: str
    database: Database
    blobs: BlobStore
    default_workspace: str
    token: str  # a server admin's

    def workspace(self) -> str:
        """A new workspace; its tracking URI is ``uri_for(name)``."""
        name = f"ws-{uuid.uuid4().hex[:10]}"
        with self.database.session() as session:
            workspaces.create(session, name)
        return name

    def person(self, workspace: str | None = None, role: Role | None = None) -> str:
        """The token of a new user, with ``role`` in ``workspace`` (none: a stranger)."""
        name = f"user-{uuid.uuid4().hex[:10]}"
        with self.database.session() as session:
            user = users.create_user(session, name)
            if workspace is not None and role is not None:
                members.set_member(session, workspace, user.name, role)
            return users.create_token(session, name, "mlflow tests").secret

    def uri_for(self, workspace: str) -> str:
        return f"{self.url}/mlflow/{workspace}"


def _database_url(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    """A database of its own: the server has its own admin and users, so it must not
    share the session's PostgreSQL database with the ``server`` fixture's server."""
    if kind == "postgresql":
        url = _create_postgres_database("atelier_mlflow")
        request.addfinalizer(lambda: _drop_postgres_database(url))
        return url
    return f"sqlite:///{tmp / 'mlflow.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def mlflow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The workspace server over SQLite or PostgreSQL; its admin token is the client's."""
    tmp = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    default = f"default-{uuid.uuid4().hex[:8]}"
    database_url = _database_url(request.param, tmp, request)
    app, token = make_mlflow_app(tmp / "home", database_url, str(tmp / "blobs"), default)
    for url in serve(app):
        yield Served(url, app.state.database, app.state.blobs, default, token)


@pytest.fixture
def tracking(mlflow_server: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh workspace set as the mlflow client's tracking URI; yields its name."""
    import mlflow

    workspace = mlflow_server.workspace()
    uri = mlflow_server.uri_for(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", mlflow_server.token)
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


@pytest.fixture(autouse=True)
def _no_requirement_inference(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlflow finds a logged model's pip requirements by loading the model in a new
    interpreter (5-20 s a model here). What it finds is the client's business, not the
    server's: the tests take the flavor's default requirements, as mlflow does itself when
    that inference fails."""
    import mlflow.models

    def defaults(_model_uri: str, _flavor: str, fallback: list[str] | None = None, **_: Any) -> Any:
        return fallback or []

    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", defaults)


@pytest.fixture(autouse=True)
def _client_token(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests on ``mlflow_server`` call it as its admin unless they say otherwise."""
    if "mlflow_server" in request.fixturenames:
        served: Served = request.getfixturevalue("mlflow_server")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", served.token)
