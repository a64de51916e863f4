"""The two backends the client contract suite runs on, made once per module: embedded over
a SQLite home of its own, and HTTP against the session's real server on loopback (the
SQLite one that ``tests/conftest.py``'s ``server`` fixture also uses).

Each test gets a workspace of its own, so tests share a backend without sharing data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.core.settings import Settings
from tests.conftest import unique


@pytest.fixture(scope="session")
def sqlite_server(
    _servers: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Any:
    """The session's SQLite server (started here if no test started it yet)."""
    from tests.helpers.server import start_server

    if "sqlite" not in _servers:
        home = tmp_path_factory.mktemp("server-sqlite")
        _servers["sqlite"] = start_server(home, None, template=sqlite_template)
    return _servers["sqlite"]


@pytest.fixture(scope="module")
def embedded_connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from atelier.client.embedded.backend import EmbeddedBackend

    home = tmp_path_factory.mktemp("client-embedded")
    backend = EmbeddedBackend(Settings(home=home))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def http_connection(sqlite_server: Any) -> Iterator[Any]:
    from atelier.client.http.backend import HttpBackend

    backend = HttpBackend(sqlite_server.url, sqlite_server.admin_token)
    yield backend
    backend.close()


@pytest.fixture
def workspace(connection: Any) -> str:
    """A new workspace on this module's backend; its name."""
    name = unique("contract")
    connection.workspaces.create(name, description="", location="", tags={}, exist_ok=False)
    return name
