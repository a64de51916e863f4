"""Attacks on the routes of the key vault, datastores, datasets and packages: run tokens
reading secrets, datastores pointing at the server's own files, and path tricks in every
field that names a file or a location (upload target paths, listing patterns, download
paths, package files)."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import httpx
import pytest

from tests.server.conftest import Person, Team
from tests.server.test_attacks import TRAVERSALS, _raw_path, _run, _tar

pytestmark = pytest.mark.parametrize("database", ["sqlite"])


def _secrets(ws: str) -> str:
    return f"/api/v1/workspaces/{ws}/secrets"


def test_secret_values_by_role_and_never_in_listings_or_the_audit_log(team: Team) -> None:
    ws, value = team.workspace, "s3cr3t-value-do-not-leak"
    with team.owner.client(team.url) as owner:
        assert owner.put(_secrets(ws), json={"values": {"db": value}}).status_code == 200
        listing = owner.get(_secrets(ws))
        assert [s["name"] for s in listing.json()] == ["db"]
        assert value not in listing.text
    with team.contributor.client(team.url) as contributor:
        read = contributor.post(f"{_secrets(ws)}/values", json={"names": ["db"]})
        assert read.json() == {"db": value}
        assert contributor.put(_secrets(ws), json={"values": {"x": "y"}}).status_code == 403
        assert contributor.delete(f"{_secrets(ws)}/db").status_code == 403
    with team.reader.client(team.url) as reader:
        assert reader.get(_secrets(ws)).status_code == 200
        assert reader.post(f"{_secrets(ws)}/values", json={"names": ["db"]}).status_code == 403
    with team.stranger.client(team.url) as stranger:
        assert stranger.get(_secrets(ws)).status_code == 403
    with team.admin.client(team.url) as admin:
        audit = admin.get("/api/v1/audit", params={"workspace": ws})
        assert audit.status_code == 200, audit.text
        assert value not in audit.text
        assert "/secrets" in audit.text  # the reads and writes are there, without values


def test_a_run_token_reads_its_own_workspaces_secrets_only(team: Team, server: Any) -> None:
    ws = team.workspace
    with team.owner.client(team.url) as owner:
        owner.put(_secrets(ws), json={"values": {"db": "mine"}})
        run_id = _run(owner, ws)
        token = owner.post(f"/api/v1/workspaces/{ws}/runs/{run_id}/token").json()["token"]
    elsewhere = _other_workspace_run_token(team)
    with Person("run", token).client(team.url) as run:
        assert run.post(f"{_secrets(ws)}/values", json={"names": ["db"]}).json() == {"db": "mine"}
        assert run.put(_secrets(ws), json={"values": {"db": "x"}}).status_code == 403
        assert run.delete(f"{_secrets(ws)}/db").status_code == 403
        assert run.get(_secrets(elsewhere[0])).status_code == 403
        other = run.post(f"{_secrets(elsewhere[0])}/values", json={"names": ["db"]})
        assert other.status_code == 403
    with Person("other-run", elsewhere[1]).client(team.url) as run:
        assert run.post(f"{_secrets(ws)}/values", json={"names": ["db"]}).status_code == 403


def _other_workspace_run_token(team: Team) -> tuple[str, str]:
    """(workspace, run token) of a run in a workspace the stranger owns."""
    with team.stranger.client(team.url) as stranger:
        name = f"{team.workspace}-other"
        assert stranger.post("/api/v1/workspaces", json={"name": name}).status_code == 201
        stranger.put(_secrets(name), json={"values": {"db": "theirs"}})
        run_id = _run(stranger, name)
        token = stranger.post(f"/api/v1/workspaces/{name}/runs/{run_id}/token").json()["token"]
    return name, str(token)


def _register(client: httpx.Client, ws: str, kind: str, url: str) -> httpx.Response:
    body = {"name": "evil", "kind": kind, "url": url, "validate": False}
    return client.post(f"/api/v1/workspaces/{ws}/datastores", json=body)


def test_datastores_on_the_servers_own_files_are_refused(team: Team, server: Any) -> None:
    with team.owner.client(team.url) as owner:
        for kind, url in (
            ("local", "/etc"),
            ("local", str(server.home)),
            ("local", "file:///"),
            ("s3", str(server.home / "blobs")),
            ("gcs", str(server.home)),
        ):
            answer = _register(owner, team.workspace, kind, url)
            assert answer.status_code == 403, (kind, url, answer.text)
        listed = owner.get(f"/api/v1/workspaces/{team.workspace}/datastores").json()
        assert [d["name"] for d in listed] == ["workspaceblobstore"]


def _store(ws: str) -> str:
    return f"/api/v1/workspaces/{ws}/datastores/workspaceblobstore"


@pytest.mark.parametrize("name", TRAVERSALS)
def test_datastore_paths_that_escape_are_refused(shared_team: Team, name: str) -> None:
    team = shared_team  # only refused requests: the shared workspace stays empty
    ws = team.workspace
    with team.contributor.client(team.url) as client:
        upload = client.post(
            f"{_store(ws)}/files",
            content=_tar([tarfile.TarInfo(name)]),
            headers={"Content-Type": "application/x-tar"},
        )
        assert upload.status_code == 400, upload.text
        listing = client.get(f"{_store(ws)}/files", params={"pattern": name})
        assert listing.status_code in (400, 404) or listing.json() == [], listing.text
        download = _raw_path(client, "GET", f"{_store(ws)}/files/{name}")
        assert download.status_code in (400, 404), download.text
        assert client.get(f"{_store(ws)}/files").json() == []


def test_links_in_a_datastore_upload_are_refused_and_nothing_lands(team: Team) -> None:
    ws = team.workspace
    link = tarfile.TarInfo("data/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with team.contributor.client(team.url) as client:
        answer = client.post(
            f"{_store(ws)}/files",
            content=_tar([tarfile.TarInfo("data/good.txt"), link]),
            headers={"Content-Type": "application/x-tar"},
        )
        assert answer.status_code == 400, answer.text
        assert client.get(f"{_store(ws)}/files").json() == []
        escaped = client.get(f"{_store(ws)}/files", params={"pattern": "../../**"})
        assert escaped.status_code == 400


def _package_tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name", ["files/../../escape.txt", "files/%2e%2e/x", "/etc/passwd", "files/C:/x", "other.txt"]
)
def test_package_files_that_escape_are_refused(shared_team: Team, name: str) -> None:
    team = shared_team  # only refused requests: the shared workspace stays empty
    ws = team.workspace
    meta = b'{"label": null, "models": [], "manifest": {}, "log": ""}'
    with team.contributor.client(team.url) as client:
        answer = client.post(
            f"/api/v1/workspaces/{ws}/packages",
            params={"name": "img"},
            content=_package_tar({"package.json": meta, name: b"x"}),
            headers={"Content-Type": "application/x-tar"},
        )
        assert answer.status_code == 400, answer.text
        assert client.get(f"/api/v1/workspaces/{ws}/packages").json() == []
        download = _raw_path(
            client, "GET", f"/api/v1/workspaces/{ws}/packages/img/versions/1/files/{name}"
        )
        assert download.status_code in (400, 404)


def test_a_package_file_download_finds_only_the_named_file(team: Team) -> None:
    """One file of a model or package version is looked up by its path: each file comes
    back with its own bytes, and a path the version does not hold (or that leaves it) is
    refused, not answered with another file."""
    ws = team.workspace
    contents = {"m/one.txt": b"1", "m/two.txt": b"2"}
    with team.contributor.client(team.url) as client:
        model = client.post(
            f"/api/v1/workspaces/{ws}/models/lookup/versions",
            content=_package_tar(contents),
            headers={"Content-Type": "application/x-tar"},
        )
        assert model.status_code == 201, model.text
        version = model.json()["version"]
        mbase = f"/api/v1/workspaces/{ws}/models/lookup/versions/{version}/files"
        listed = {f["path"] for f in client.get(mbase).json()}
        assert len(listed) == 2
        for path in listed:
            answer = client.get(f"{mbase}/{path}")
            assert answer.status_code == 200, answer.text
            assert answer.content == contents[f"m/{path.rsplit('/', 1)[-1]}"]
        assert client.get(f"{mbase}/three.txt").status_code == 404

        meta = json.dumps(
            {"label": None, "models": [["lookup", version]], "manifest": {}, "log": ""}
        ).encode()
        files = {"files/a.txt": b"first", "files/sub/b.txt": b"second", "files/c.txt": b"third"}
        created = client.post(
            f"/api/v1/workspaces/{ws}/packages",
            params={"name": "lookup"},
            content=_package_tar({"package.json": meta, **files}),
            headers={"Content-Type": "application/x-tar"},
        )
        assert created.status_code == 201, created.text
        base = f"/api/v1/workspaces/{ws}/packages/lookup/versions/1/files"
        for name, data in files.items():
            answer = client.get(f"{base}/{name.removeprefix('files/')}")
            assert answer.status_code == 200, answer.text
            assert answer.content == data
        missing = client.get(f"{base}/sub/a.txt")
        assert missing.status_code == 404
        assert "package lookup:1 has no file 'sub/a.txt'" in missing.json()["detail"]
        escaping = _raw_path(client, "GET", f"{base}/sub/../../a.txt")
        assert escaping.status_code in (400, 404)


def test_a_cut_off_datastore_upload_leaves_nothing(team: Team) -> None:
    """The client dies half-way through the tar stream: nothing becomes visible."""
    import socket

    ws = team.workspace
    body = _tar([tarfile.TarInfo(f"big/{i}.bin") for i in range(4)], b"x" * 200_000)
    head = (
        f"POST {_store(ws)}/files HTTP/1.1\r\nHost: {httpx.URL(team.url).netloc.decode()}\r\n"
        f"Authorization: Bearer {team.contributor.token}\r\n"
        f"Content-Type: application/x-tar\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((httpx.URL(team.url).host, httpx.URL(team.url).port or 80)) as s:
        s.sendall(head.encode() + body[: len(body) // 2])
    with team.contributor.client(team.url) as client:
        assert client.get(f"{_store(ws)}/files").json() == []
