"""Attacks a hostile client sends, each refused: path tricks in every field that names a
file, cross-site requests, foreign Host headers, and stolen, stale or misplaced tokens."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import web
from tests.server.conftest import Person, Team, make_user

TRAVERSALS = [
    "../escape.txt",
    "a/../../escape.txt",
    "%2e%2e%2fescape.txt",
    "%2E%2E/escape.txt",
    "%252e%252e%252fescape.txt",
    "..%5cescape.txt",
    "a\\..\\..\\escape.txt",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "c:/windows/win.ini",
    "file.txt#fragment",
    "a/%00/b",
]


@pytest.fixture
def team(shared_team: Team) -> Team:
    """The module's team: these checks make their own runs, users and tokens, and no
    refusal changes the team's members or workspace."""
    return shared_team


@pytest.fixture
def owner(team: Team) -> Iterator[httpx.Client]:
    with team.owner.client(team.url) as client:
        yield client


def _run(client: httpx.Client, workspace: str) -> str:
    answer = client.post(f"/api/v1/workspaces/{workspace}/experiments/attack/runs", json={})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def _raw_path(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    """Send ``path`` exactly as written: no client-side normalization of dots or escapes."""
    request = client.build_request(method, "/", **kwargs)  # type: ignore[arg-type]
    # a '#' would end the URL on the client; sent escaped it reaches the server as '#'
    request.url = request.url.copy_with(raw_path=path.replace("#", "%23").encode())
    return client.send(request)


def _tar(members: list[tarfile.TarInfo], data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member in members:
            if member.isfile():
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
            else:
                archive.addfile(member)
    return buffer.getvalue()


@pytest.mark.parametrize("name", TRAVERSALS)
def test_file_names_that_escape_are_refused_everywhere(
    team: Team, owner: httpx.Client, name: str
) -> None:
    run_id = _run(owner, team.workspace)
    base = f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files"
    octet = {"Content-Type": "application/octet-stream"}
    upload = _raw_path(owner, "PUT", f"{base}/{name}", content=b"evil", headers=octet)
    download = _raw_path(owner, "GET", f"{base}/{name}")
    listing = owner.get(base, params={"prefix": name})
    for answer in (upload, download, listing):
        assert answer.status_code in (400, 404, 422), (name, answer.status_code, answer.text)
        assert "Traceback" not in answer.text
    member = tarfile.TarInfo(name)
    archive = owner.post(
        base, content=_tar([member]), headers={"Content-Type": "application/x-tar"}
    )
    assert archive.status_code == 400, archive.text
    assert owner.get(base).json()["items"] == []  # nothing was stored under any name
    snapshot = owner.post(
        f"/api/v1/workspaces/{team.workspace}/snapshots",
        content=_tar([member]),
        headers={"Content-Type": "application/x-tar"},
    )
    assert snapshot.status_code == 400, snapshot.text
    model = owner.post(
        f"/api/v1/workspaces/{team.workspace}/models/evil/versions",
        content=_tar([member]),
        headers={"Content-Type": "application/x-tar"},
    )
    assert model.status_code == 400, model.text
    from_run = owner.post(
        f"/api/v1/workspaces/{team.workspace}/models/evil/from-run",
        json={"run_id": run_id, "path": name},
    )
    assert from_run.status_code in (400, 404), from_run.text


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_links_and_special_files_in_uploaded_folders_are_refused(
    team: Team, owner: httpx.Client, kind: bytes
) -> None:
    run_id = _run(owner, team.workspace)
    link = tarfile.TarInfo("outputs/passwd")
    link.type = kind
    link.linkname = "/etc/passwd"
    body = _tar([tarfile.TarInfo("outputs/ok.txt"), link])
    for path in (
        f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files",
        f"/api/v1/workspaces/{team.workspace}/snapshots",
    ):
        answer = owner.post(path, content=body, headers={"Content-Type": "application/x-tar"})
        assert answer.status_code == 400, answer.text
        assert "link or special file" in answer.json()["detail"]
    files = owner.get(f"/api/v1/workspaces/{team.workspace}/runs/{run_id}/files").json()
    assert files["items"] == []  # all or nothing: the good file was not kept either


def test_state_changes_need_json_or_an_upload_type(team: Team, owner: httpx.Client) -> None:
    """What a cross-site form or fetch without preflight can send is refused."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        answer = owner.post(
            "/api/v1/workspaces",
            content=b'{"name": "csrf-made"}',
            headers={"Content-Type": content_type},
        )
        assert answer.status_code == 415, answer.text
        assert answer.json()["code"] == "unsupported_media_type"
    assert owner.get("/api/v1/workspaces/csrf-made").status_code == 403


def test_foreign_origins_are_refused_and_the_own_origin_accepted(
    team: Team, owner: httpx.Client
) -> None:
    path = f"/api/v1/workspaces/{team.workspace}/experiments/from-browser"
    evil = owner.put(path, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.json()["code"] == "cross_site_refused"
    host = httpx.URL(team.url).netloc.decode()
    same = owner.put(path, headers={"Origin": f"http://{host}"})
    assert same.status_code == 200, same.text


def test_foreign_host_headers_are_refused(team: Team, owner: httpx.Client) -> None:
    answer = owner.get("/healthz", headers={"Host": "attacker.example"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "host_not_allowed"


def test_tokens_that_must_not_work(team: Team) -> None:
    url = team.url
    person = make_user(url, team.admin.token, "victim")
    with team.admin.client(url) as admin:
        expiring = admin.post(
            "/api/v1/tokens", json={"user": person.name, "expires_in_days": 0.00001}
        ).json()
        revoked = admin.post("/api/v1/tokens", json={"user": person.name}).json()
        assert admin.delete(f"/api/v1/tokens/{revoked['id']}").status_code == 200
    time.sleep(1.0)  # the expiring token lives under a second
    cases = {
        "wrong": "atl_" + "x" * 43,
        "not ours": "ghp_something",
        "expired": expiring["token"],
        "revoked": revoked["token"],
    }
    with web.Client(base_url=url) as client:
        for label, secret in cases.items():
            answer = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 401, label
            assert answer.json()["code"] == "unauthenticated"
        in_query = client.get("/api/v1/whoami", params={"token": person.token})
        assert in_query.status_code == 401
        assert "URL" in in_query.json()["detail"]
        both = client.get(
            "/api/v1/whoami",
            params={"access_token": person.token},
            headers={"Authorization": f"Bearer {person.token}"},
        )
        assert both.status_code == 401  # a token in the URL is refused even with a header
        good = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {person.token}"})
        assert good.json()["name"] == person.name


def test_a_disabled_user_is_locked_out_at_once(team: Team) -> None:
    person = make_user(team.url, team.admin.token, "leaver")
    with person.client(team.url) as client:
        assert client.get("/api/v1/whoami").status_code == 200
        with team.admin.client(team.url) as admin:
            assert admin.post(f"/api/v1/users/{person.name}/disable").status_code == 200
        assert client.get("/api/v1/whoami").status_code == 401


def test_a_run_token_touches_only_its_own_run(team: Team, owner: httpx.Client) -> None:
    ws = team.workspace
    mine, other = _run(owner, ws), _run(owner, ws)
    token = owner.post(f"/api/v1/workspaces/{ws}/runs/{mine}/token").json()["token"]
    other_token = owner.post(f"/api/v1/workspaces/{ws}/runs/{other}/token").json()["token"]
    run = Person("run", token)
    with run.client(team.url) as client:
        batch = {"series": {"loss": {"steps": [0], "values": [1.0], "timestamps": [1]}}}
        mine_url = f"/api/v1/workspaces/{ws}/runs/{mine}"
        assert client.post(f"{mine_url}/metrics/scalars", json=batch).status_code == 200
        assert client.get(mine_url).status_code == 200
        assert client.get(f"/api/v1/workspaces/{ws}").status_code == 200
        refused = [
            client.get(f"/api/v1/workspaces/{ws}/runs/{other}"),
            client.post(f"/api/v1/workspaces/{ws}/runs/{other}/metrics/scalars", json=batch),
            client.post(f"/api/v1/workspaces/{ws}/runs/search", json={}),
            client.delete(f"/api/v1/workspaces/{ws}"),
            client.get(f"/api/v1/workspaces/{ws}/members"),
            client.post("/api/v1/tokens", json={}),
            client.post("/api/v1/workspaces", json={"name": "from-a-run"}),
            client.post(f"/api/v1/workspaces/{ws}/experiments/attack/runs", json={}),
        ]
        for answer in refused:
            assert answer.status_code == 403, (answer.request.url, answer.text)
        child = client.post(
            f"/api/v1/workspaces/{ws}/experiments/attack/runs", json={"parent_run_id": mine}
        )
        assert child.status_code == 201, child.text
        child_url = f"/api/v1/workspaces/{ws}/runs/{child.json()['run_id']}"
        assert client.post(f"{child_url}/metrics/scalars", json=batch).status_code == 200
    with Person("other-run", other_token).client(team.url) as client:
        assert client.get(f"/api/v1/workspaces/{ws}/runs/{mine}").status_code == 403
