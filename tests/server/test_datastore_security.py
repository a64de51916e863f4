"""Attacks on datastores over REST: replacing another member's (or the managed) datastore,
reading datastore credentials back, and server paths shown to clients (issue 13)."""

from __future__ import annotations

import contextlib
import io
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator
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


@pytest.fixture
def team(shared_team: Team) -> Team:
    """The module's team: each check registers datastores and datasets under names of its
    own, and none changes the team's members or its default datastore."""
    return shared_team


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
    for person in (team.owner, team.admin, run):  # a run token reads datastores too
        with person.client(team.url) as client:
            for url in _every_get(ws, name):
                answer = client.get(url, params={"workspace": ws})
                assert SECRET not in answer.text, url
                seen.append(answer.status_code)
    assert seen.count(200) >= 15


TAR = {"Content-Type": "application/x-tar"}


def _tar(path: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(path)
        info.size = 4
        archive.addfile(info, io.BytesIO(b"x\n1\n"))
    return buffer.getvalue()


def test_a_run_token_reads_data_and_writes_none(team: Team) -> None:
    """A run's script reads its TabularDataset inputs with its run's token: datasets and
    datastore files are readable with it; uploading, deleting and lineage are not."""
    ws = team.workspace
    files = f"{_stores(ws)}/{MANAGED}/files"
    with team.owner.client(team.url) as owner:
        upload = owner.post(files, content=_tar("run-read/a.csv"), headers=TAR)
        assert upload.status_code == 200, upload.text
        run = _run_token(owner, ws)
    with run.client(team.url) as client:
        read = client.get(f"{_stores(ws)}/{MANAGED}/files/run-read/a.csv")
        assert read.status_code == 200 and read.content == b"x\n1\n"
        listed = client.get(f"{_stores(ws)}/{MANAGED}/files", params={"pattern": "run-read/**"})
        assert [f["path"] for f in listed.json()] == ["run-read/a.csv"]
        assert client.get(f"/api/v1/workspaces/{ws}/datasets").status_code == 200
        refused = [
            client.post(files, content=_tar("run-read/b.csv"), headers=TAR),
            client.delete(f"{_stores(ws)}/{MANAGED}/files/run-read/a.csv"),
            client.get(f"/api/v1/workspaces/{ws}/dataset-ids/x/runs"),
            client.get(f"/api/v1/workspaces/{ws}/secrets"),
        ]  # fmt: skip
        assert [r.status_code for r in refused] == [403, 403, 403, 403], [r.text for r in refused]


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


# --- finding 4: SSRF through datastore options -------------------------------------------
REPLY = "REMOTE-BODY-MARKER"


class _Listener:
    """A plain HTTP server on a loopback address that counts connections and answers every
    request with an S3-style error whose message must never reach a client."""

    def __init__(self, host: str) -> None:
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        body = f"<Error><Code>AccessDenied</Code><Message>{REPLY}</Message></Error>".encode()
        head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\n"
        reply = (head + "Content-Type: application/xml\r\nConnection: close\r\n\r\n").encode()
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(reply + body)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener(request: pytest.FixtureRequest) -> Iterator[_Listener]:
    found = _Listener(getattr(request, "param", "127.0.0.1"))
    yield found
    found.close()


def _s3(name: str, endpoint: str, validate: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "s3",
        "url": "s3://bucket/prefix",
        "config": {"endpoint_url": endpoint},
        "credentials": {"access_key_id": "a", "secret_access_key": "b"},
        "validate": validate,
    }


@pytest.mark.parametrize("listener", ["127.0.0.2"], indirect=True)
def test_a_datastore_cannot_make_the_server_connect_to_internal_addresses(
    team: Team, listener: _Listener
) -> None:
    """The test server allows only 127.0.0.1 (its emulators): any other internal endpoint,
    in any URL-like option, is refused before a connection is made."""
    ws = team.workspace
    attempts = [
        _s3("loopback", listener.url),
        _s3("metadata", "http://169.254.169.254/latest/meta-data", validate=False),
        _s3("private", "http://10.0.0.1:9000", validate=False),
        _s3("v6", "http://[fd00:ec2::254]/", validate=False),
        {**_s3("azure", "x", validate=False), "kind": "azure_blob", "url": "az://c/p"}
        | {"config": {"account_name": "a", "endpoint": listener.url}},
        {**_s3("gcs", "x", validate=False), "kind": "gcs", "url": "gs://b/p"}
        | {"config": {"endpoint_url": listener.url}},
    ]
    with team.contributor.client(team.url) as contributor:
        for body in attempts:
            answer = contributor.post(_stores(ws), json=body)
            assert answer.status_code == 403, (body, answer.text)
            assert "ATELIER_ALLOWED_STORAGE_HOSTS" in answer.json()["detail"]
            assert contributor.get(f"{_stores(ws)}/{body['name']}").status_code == 404
    assert listener.connections == 0


def test_a_storage_services_reply_is_never_echoed(team: Team, listener: _Listener) -> None:
    with team.contributor.client(team.url) as contributor:
        answer = contributor.post(_stores(team.workspace), json=_s3("echo", listener.url))
    assert 400 <= answer.status_code < 500, answer.text
    assert listener.connections > 0  # 127.0.0.1 is allowed on the test server
    assert REPLY not in answer.text
