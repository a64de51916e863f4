"""Attacks on datastores over REST: replacing another member's (or the managed) datastore,
reading datastore credentials back, and server paths shown to clients (issue 13)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy

from atelier.core.settings import Settings
from atelier.server.app import create_app, route_table
from atelier.store.database import Database
from tests.conftest import unique
from tests.server.conftest import Person, Team
from tests.server.test_attacks import _run

pytestmark = pytest.mark.parametrize("database", ["sqlite", "postgresql"])

MANAGED = "workspaceblobstore"


def _stores(ws: str) -> str:
    return f"/api/v1/workspaces/{ws}/datastores"


def _gcs(name: str, bucket: str, overwrite: bool = False, **extra: Any) -> dict[str, Any]:
    """A datastore that needs no storage service (not validated)."""
    return {
        "name": name,
        "kind": "gcs",
        "url": f"gs://{bucket}/data",
        "validate": False,
        "overwrite": overwrite,
        **extra,
    }


def _run_token(owner: httpx.Client, ws: str) -> Person:
    run_id = _run(owner, ws)
    return Person("run", owner.post(f"/api/v1/workspaces/{ws}/runs/{run_id}/token").json()["token"])


# --- finding 1: replacing datastores ----------------------------------------------------
def test_only_an_owner_replaces_a_datastore(team: Team) -> None:
    ws = team.workspace
    with team.owner.client(team.url) as owner:
        assert owner.post(_stores(ws), json=_gcs("shared", "owners")).status_code == 201
        run = _run_token(owner, ws)
    for person in (team.contributor, run):
        with person.client(team.url) as client:
            answer = client.post(_stores(ws), json=_gcs("shared", "attacker", overwrite=True))
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == "permission_denied"
    with team.reader.client(team.url) as reader:
        assert reader.get(f"{_stores(ws)}/shared").json()["url"] == "gs://owners/data"
    with team.contributor.client(team.url) as contributor:
        # azureml's overwrite=True on a name not taken yet simply registers it
        made = contributor.post(_stores(ws), json=_gcs("fresh", "mine", overwrite=True))
        assert made.status_code == 201, made.text
    with team.owner.client(team.url) as owner:
        replaced = owner.post(_stores(ws), json=_gcs("shared", "moved", overwrite=True))
        assert replaced.status_code == 201, replaced.text
        assert replaced.json()["url"] == "gs://moved/data"


def test_nobody_replaces_or_removes_the_managed_default_store(team: Team) -> None:
    fresh = unique("fresh")  # its default store is not made yet when the attack comes
    with team.owner.client(team.url) as owner:
        assert owner.post("/api/v1/workspaces", json={"name": fresh}).status_code == 201
        assert (
            owner.put(
                f"/api/v1/workspaces/{fresh}/members/{team.contributor.name}",
                json={"role": "Contributor"},
            ).status_code
            == 200
        )
    with team.contributor.client(team.url) as contributor:
        first = contributor.post(_stores(fresh), json=_gcs(MANAGED, "attacker"))
        assert first.status_code == 409, first.text
    for person in (team.owner, team.admin):
        with person.client(team.url) as client:
            answer = client.post(_stores(fresh), json=_gcs(MANAGED, "attacker", overwrite=True))
            assert answer.status_code == 403, answer.text
    with team.owner.client(team.url) as owner:
        default = owner.get(f"/api/v1/workspaces/{fresh}/default-datastore").json()
        assert default["name"] == MANAGED
        assert "attacker" not in default["url"]
        # even once another store is the default, the managed one stays to go back to
        assert owner.post(_stores(fresh), json=_gcs("other", "b")).status_code == 201
        assert (
            owner.put(
                f"/api/v1/workspaces/{fresh}/default-datastore", json={"name": "other"}
            ).status_code
            == 200
        )
        assert owner.delete(f"{_stores(fresh)}/{MANAGED}").status_code == 409
        sneaky = owner.post(_stores(fresh), json=_gcs("x", "b", config={"managed": True}))
        assert sneaky.status_code == 400, sneaky.text


# --- finding 2: datastore credentials never come back ------------------------------------
SECRET = "very-private-datastore-key"


def _every_get(ws: str, name: str) -> list[str]:
    """Every GET route of the app (REST and MLflow) with its placeholders filled."""
    with tempfile.TemporaryDirectory() as folder:
        table = route_table(create_app(Settings(home=Path(folder))))
    filled = {"workspace": ws, "name": name, "path": "a.csv"}
    urls = []
    for method, path, _ in table:
        if method != "GET":
            continue
        url = path
        for key in [part.split("}")[0] for part in path.split("{")[1:]]:
            url = url.replace(f"{{{key}}}", filled.get(key.split(":")[0], "x"))
        urls.append(url)
    return urls


def test_datastore_credentials_are_never_returned(team: Team) -> None:
    ws, name = team.workspace, unique("creds").replace("-", "_")
    body = _gcs(name, "b", credentials={"service_account_json": SECRET})
    with team.contributor.client(team.url) as contributor:
        assert contributor.post(_stores(ws), json=body).status_code == 201
    with team.owner.client(team.url) as owner:
        run = _run_token(owner, ws)
    for person in (team.contributor, team.owner, run):
        with person.client(team.url) as client:
            listing = client.get(f"/api/v1/workspaces/{ws}/secrets")  # a run token may not list
            assert listing.status_code == (403 if person is run else 200), listing.text
            assert name not in listing.text
            for guess in (f"datastore-{name}", f"datastore_{name}"):
                read = client.post(
                    f"/api/v1/workspaces/{ws}/secrets/values", json={"names": [guess]}
                )
                assert read.status_code == 404, read.text
    seen = []
    for person in (team.owner, team.admin):
        with person.client(team.url) as client:
            for url in _every_get(ws, name):
                answer = client.get(url, params={"workspace": ws})
                assert SECRET not in answer.text, url
                seen.append(answer.status_code)
    assert seen.count(200) >= 10


def test_credentials_stored_before_stay_hidden(team: Team) -> None:
    """A workspace made before keeps its credentials as ``datastore-<name>`` key-vault
    secrets: the key vault hides every secret a datastore names as its credentials."""
    ws, name = team.workspace, unique("legacy").replace("-", "_")
    legacy = f"datastore-{name}"
    with team.owner.client(team.url) as owner:
        assert owner.post(_stores(ws), json=_gcs(name, "b")).status_code == 201
        put = owner.put(f"/api/v1/workspaces/{ws}/secrets", json={"values": {legacy: SECRET}})
        assert put.status_code == 200, put.text
        run = _run_token(owner, ws)
    database = Database(team.server_database_url)  # as an older server stored them
    with database.session() as session:
        session.execute(
            sqlalchemy.text("UPDATE datastores SET credentials_secret = :s WHERE name = :n"),
            {"s": legacy, "n": name},
        )
    database.dispose()
    for person in (team.contributor, team.owner, run):
        with person.client(team.url) as client:
            assert legacy not in client.get(f"/api/v1/workspaces/{ws}/secrets").text
            read = client.post(f"/api/v1/workspaces/{ws}/secrets/values", json={"names": [legacy]})
            assert read.status_code == 404, read.text
            assert SECRET not in read.text
    with team.owner.client(team.url) as owner:
        put = owner.put(f"/api/v1/workspaces/{ws}/secrets", json={"values": {legacy: "x"}})
        assert put.status_code == 409, put.text
        assert owner.delete(f"/api/v1/workspaces/{ws}/secrets/{legacy}").status_code == 409
        assert owner.get(f"{_stores(ws)}/{name}").json()["has_credentials"] is True


# --- finding 12: server paths ------------------------------------------------------------
def test_the_default_store_shows_no_server_path(team: Team, server: Any) -> None:
    ws = team.workspace
    with team.reader.client(team.url) as reader:
        default = reader.get(f"/api/v1/workspaces/{ws}/default-datastore")
        listing = reader.get(_stores(ws))
        missing = reader.get(f"{_stores(ws)}/{MANAGED}/files/no/such.csv")
    assert default.status_code == 200, default.text
    assert missing.status_code == 404, missing.text
    for answer in (default, listing, missing):
        assert str(server.home) not in answer.text
        assert "/datastores/" not in answer.text
    assert default.json()["url"] == f"atelier://{ws}/{MANAGED}"


# --- finding 13: dataset file paths ------------------------------------------------------
@pytest.mark.parametrize(
    ("files", "sources"),
    [
        (["../x"], []),
        (["store:../x"], []),
        (["store:a/../../x"], []),
        (["file:/data/../etc/passwd"], []),
        ([], [{"datastore": "store", "path": "../x"}]),
        ([], [{"local": "/data/../etc"}]),
    ],
)
def test_a_dataset_cannot_name_a_path_outside_its_datastore(
    team: Team, files: list[str], sources: list[dict[str, str]]
) -> None:
    body = {
        "name": unique("ds"),
        "kind": "file",
        "definition": {"kind": "file", "sources": sources, "steps": []},
        "files": [{"path": path, "size": 1, "mtime_ms": 0} for path in files],
    }
    with team.contributor.client(team.url) as contributor:
        answer = contributor.post(f"/api/v1/workspaces/{team.workspace}/datasets", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "validation_error"
    assert "'..'" in answer.json()["detail"] or "names no datastore" in answer.json()["detail"]
