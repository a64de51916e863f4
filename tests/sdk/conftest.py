"""The SDK contract suite: every SDK test runs against the embedded backend and, over
HTTP, against a real server on loopback (CONVENTIONS 10), on SQLite and PostgreSQL.

The HTTP variant logs the test's home in to the session's server (as ``atelier login``
does), so ``Workspace.create/get/list`` and everything below them go over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.client.http.transport import write_credentials
from atelier.client.registry import reset_backends


@pytest.fixture(params=["embedded", "http"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend the SDK talks to in this variant."""
    return str(request.param)


@pytest.fixture
def home(home: Path, backend: str, request: pytest.FixtureRequest) -> Path:
    if backend == "http":
        server = request.getfixturevalue("server")
        write_credentials(server.url, server.admin_token, home)
        reset_backends()
    return home


def embedded_only(backend: str, why: str) -> None:
    """Skip the HTTP variant of a test that inspects the embedded store's own files."""
    if backend != "embedded":
        pytest.skip(f"embedded store detail: {why}")


@pytest.fixture
def store_database(home: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The ``Database`` the variant's data lands in: the embedded backend's own, or the
    server's (opened read-side here to check what it stored)."""
    if backend == "embedded":
        from atelier.client.registry import embedded_backend

        yield embedded_backend().db  # type: ignore[attr-defined]
        return
    from atelier.core.settings import Settings
    from atelier.store.database import Database

    server = request.getfixturevalue("server")
    url = server.database_url or Settings(home=server.home).resolved_database_url
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def store_homes(home: Path, backend: str, request: pytest.FixtureRequest) -> list[Path]:
    """Folders whose files hold the variant's data: the home, and the server's home."""
    if backend == "embedded":
        return [home]
    return [home, request.getfixturevalue("server").home]
