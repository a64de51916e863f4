"""A Studio served by uvicorn in a thread over a fresh home, with a workspace ``lab``
whose Owner, Contributor and Reader each have a token, and seeded runs."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from atelier.core.access import Role
from atelier.server.config import ServerSettings
from atelier.services import members, users, workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database
from atelier.studio.site import create_site
from tests.helpers import web
from tests.helpers.studio_data import seed_rich_run, seed_runs
from tests.server.mlflow.conftest import serve

WORKSPACE = "lab"
EXPERIMENT = "exp"
RUNS = 30


@dataclass
class Studio:
    url: str
    database: Database
    blobs: BlobStore
    tokens: dict[str, str]  # admin, owner, contributor, reader, stranger
    rich_run: str
    settings: ServerSettings | None = None

    def bearer(self, who: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return web.Client(base_url=self.url, headers=headers, timeout=120)

    @contextlib.contextmanager
    def browser_client(self, who: str) -> Iterator[httpx.Client]:
        """A client signed in with the session cookie, as a browser is."""
        headers = {"Accept": "text/html", "Origin": self.url}
        with web.Client(base_url=self.url, timeout=120, headers=headers) as client:
            answer = client.post(
                "/signin", files={"token": (None, self.tokens[who]), "next": (None, "/")}
            )
            assert answer.status_code == 303, answer.text
            yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def make_studio(home: Path, database_url: str) -> tuple[object, Studio]:
    settings = ServerSettings(home=home, database_url=database_url)
    app = create_site(settings)
    database: Database = app.state.database
    database.ensure_schema()
    tokens: dict[str, str] = {}
    with database.session() as session:
        workspaces.create(session, WORKSPACE)
        workspaces.create(session, f"other-{uuid.uuid4().hex[:6]}")
        for who in ("admin", "owner", "contributor", "reader", "stranger"):
            name = f"{who}-{uuid.uuid4().hex[:6]}"
            users.create_user(session, name, is_admin=who == "admin")
            role = {"owner": Role.OWNER, "contributor": Role.CONTRIBUTOR, "reader": Role.READER}
            if who in role:
                members.set_member(session, WORKSPACE, name, role[who])
            tokens[who] = users.create_token(session, name, "studio tests").secret
    seed_runs(database, WORKSPACE, EXPERIMENT, RUNS)
    rich = seed_rich_run(database, app.state.blobs, WORKSPACE, "rich", 20_000)
    return app, Studio("", database, app.state.blobs, tokens, rich, settings)


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The Studio over SQLite, shared by the session's Studio tests."""
    tmp = tmp_path_factory.mktemp("studio")
    app, made = make_studio(tmp / "home", f"sqlite:///{tmp / 'studio.db'}")
    for url in serve(app):  # type: ignore[arg-type]
        made.url = url
        yield made
