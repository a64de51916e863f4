"""People on a running server: an admin, and users with each role in a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import unique
from tests.helpers import web


@dataclass(frozen=True)
class Person:
    name: str
    token: str

    def client(self, url: str) -> httpx.Client:
        return web.Client(
            base_url=url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


def make_user(url: str, admin_token: str, prefix: str = "user") -> Person:
    name = unique(prefix)
    with Person("admin", admin_token).client(url) as admin:
        created = admin.post("/api/v1/users", json={"name": name})
        assert created.status_code == 201, created.text
        issued = admin.post("/api/v1/tokens", json={"user": name})
    assert issued.status_code == 201, issued.text
    return Person(name, issued.json()["token"])


@dataclass(frozen=True)
class Team:
    """A workspace with an Owner, a Contributor and a Reader, and another workspace's Owner."""

    url: str
    workspace: str
    owner: Person
    contributor: Person
    reader: Person
    stranger: Person
    admin: Person
    server_database_url: str


def _make_team(server: Any) -> Team:
    url, admin = server.url, Person("admin", server.admin_token)
    owner = make_user(url, admin.token, "owner")
    contributor = make_user(url, admin.token, "contrib")
    reader = make_user(url, admin.token, "reader")
    stranger = make_user(url, admin.token, "stranger")
    workspace = unique("team")
    with owner.client(url) as client:
        assert client.post("/api/v1/workspaces", json={"name": workspace}).status_code == 201
        for person, role in ((contributor, "Contributor"), (reader, "Reader")):
            answer = client.put(
                f"/api/v1/workspaces/{workspace}/members/{person.name}", json={"role": role}
            )
            assert answer.status_code == 200, answer.text
    with stranger.client(url) as client:
        assert client.post("/api/v1/workspaces", json={"name": unique("other")}).status_code == 201
    database_url = server.database_url or f"sqlite:///{server.home / 'atelier.db'}"
    return Team(url, workspace, owner, contributor, reader, stranger, admin, database_url)


@pytest.fixture
def team(server: Any) -> Team:
    """A new team of this test's own."""
    return _make_team(server)


@pytest.fixture(scope="module")
def _module_teams() -> dict[str, Team]:
    return {}


@pytest.fixture
def shared_team(server: Any, _module_teams: dict[str, Team]) -> Team:
    """One team per server for the tests of a module that neither change its members nor
    delete its workspace (each test still makes its own runs, users and tokens): a module
    of many small refusal checks otherwise spends most of its time making teams."""
    if server.url not in _module_teams:
        _module_teams[server.url] = _make_team(server)
    return _module_teams[server.url]
