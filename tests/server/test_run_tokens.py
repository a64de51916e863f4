"""A run token is bounded by what it stands for: its run (refused once the run has ended,
after a short grace), its user's current role, and the token that minted it; its owner
sees it in ``GET /tokens`` and can revoke it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from tests.conftest import unique
from tests.server.conftest import Person, Team


def _base(team: Team) -> str:
    return f"/api/v1/workspaces/{team.workspace}"


def _run(team: Team, person: Person) -> str:
    with person.client(team.url) as client:
        created = client.post(f"{_base(team)}/experiments/tokens/runs", json={})
        assert created.status_code == 201, created.text
        return str(created.json()["run_id"])


def _mint(team: Team, person: Person, run_id: str) -> Person:
    with person.client(team.url) as client:
        issued = client.post(f"{_base(team)}/runs/{run_id}/token")
    assert issued.status_code == 201, issued.text
    return Person(f"run {run_id}", issued.json()["token"])


def _secret(team: Team) -> None:
    with team.owner.client(team.url) as client:
        answer = client.put(f"{_base(team)}/secrets", json={"values": {"api-key": "s3cret"}})
        assert answer.status_code == 200, answer.text


def _read_secret(team: Team, token: Person) -> httpx.Response:
    with token.client(team.url) as client:
        return client.post(f"{_base(team)}/secrets/values", json={"names": ["api-key"]})


def _get_run(team: Team, token: Person, run_id: str) -> httpx.Response:
    with token.client(team.url) as client:
        return client.get(f"{_base(team)}/runs/{run_id}")


def _end(team: Team, run_id: str, ago_ms: int = 0) -> None:
    """Complete the run; with ``ago_ms``, as if it had ended that long ago."""
    with team.owner.client(team.url) as client:
        done = client.post(f"{_base(team)}/runs/{run_id}/status", json={"status": "Completed"})
        assert done.status_code == 200, done.text
    if ago_ms:
        engine = sqlalchemy.create_engine(team.server_database_url)
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text("UPDATE runs SET ended_ms = ended_ms - :ago WHERE run_id = :run"),
                {"ago": ago_ms, "run": run_id},
            )
        engine.dispose()


def test_a_run_token_is_refused_once_its_run_has_ended_and_the_grace_passed(team: Team) -> None:
    _secret(team)
    run_id = _run(team, team.contributor)
    token = _mint(team, team.contributor, run_id)
    assert _read_secret(team, token).json() == {"api-key": "s3cret"}
    _end(team, run_id)
    # within the grace: the last upload still gets the run's own answer
    assert _get_run(team, token, run_id).status_code == 200
    _end(team, run_id, ago_ms=3 * 60_000)
    assert _read_secret(team, token).status_code == 401
    assert _get_run(team, token, run_id).status_code == 401
    with team.contributor.client(team.url) as client:
        again = client.post(f"{_base(team)}/runs/{run_id}/token")
    assert again.status_code == 409, again.text


def test_a_run_token_never_does_more_than_its_user_may_now(team: Team) -> None:
    _secret(team)
    run_id = _run(team, team.contributor)
    token = _mint(team, team.contributor, run_id)
    assert _read_secret(team, token).status_code == 200
    members = f"{_base(team)}/members/{team.contributor.name}"
    with team.owner.client(team.url) as owner:
        assert owner.put(members, json={"role": "Reader"}).status_code == 200
        refused = _read_secret(team, token)
        assert refused.status_code == 403, refused.text
        assert "Reader" in refused.json()["detail"]
        assert _get_run(team, token, run_id).status_code == 200  # a Reader may read
        with token.client(team.url) as client:
            logged = client.post(
                f"{_base(team)}/runs/{run_id}/metrics/scalars",
                json={"series": {"m": {"steps": [0], "values": [1.0], "timestamps": [0]}}},
            )
        assert logged.status_code == 403, logged.text
        assert owner.delete(members).status_code == 204
    assert _get_run(team, token, run_id).status_code == 401


def test_revoking_the_minting_token_ends_the_run_tokens_it_minted(team: Team) -> None:
    with team.contributor.client(team.url) as client:
        issued = client.post("/api/v1/tokens", json={"name": unique("ci")})
    assert issued.status_code == 201, issued.text
    minter = Person(team.contributor.name, issued.json()["token"])
    run_id = _run(team, minter)
    token = _mint(team, minter, run_id)
    with token.client(team.url) as client:
        child = client.post(
            f"{_base(team)}/experiments/tokens/runs", json={"parent_run_id": run_id}
        )
    assert child.status_code == 201, child.text
    child_token = _mint(team, token, child.json()["run_id"])  # minted by the run token
    assert _get_run(team, child_token, child.json()["run_id"]).status_code == 200
    with team.contributor.client(team.url) as client:
        assert client.delete(f"/api/v1/tokens/{issued.json()['id']}").status_code == 200
    assert _get_run(team, token, run_id).status_code == 401
    assert _get_run(team, child_token, child.json()["run_id"]).status_code == 401


def _listed(team: Team, person: Person, **params: Any) -> list[dict[str, Any]]:
    with person.client(team.url) as client:
        answer = client.get("/api/v1/tokens", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_the_owner_lists_and_revokes_run_tokens(team: Team) -> None:
    run_id = _run(team, team.contributor)
    token = _mint(team, team.contributor, run_id)
    runs = [t for t in _listed(team, team.contributor) if t["kind"] == "run"]
    assert [(t["run_id"], t["workspace_name"]) for t in runs] == [(run_id, team.workspace)]
    assert all(t["kind"] == "user" for t in _listed(team, team.contributor, kind="user"))
    assert [t["run_id"] for t in _listed(team, team.contributor, kind="run")] == [run_id]
    with team.contributor.client(team.url) as client:
        assert client.get("/api/v1/tokens", params={"kind": "other"}).status_code == 400
    with team.stranger.client(team.url) as client:
        assert client.delete(f"/api/v1/tokens/{runs[0]['id']}").status_code == 403
    with token.client(team.url) as client:  # a run token manages no tokens, not even itself
        assert client.get("/api/v1/tokens").status_code == 403
        assert client.delete(f"/api/v1/tokens/{runs[0]['id']}").status_code == 403
    with team.contributor.client(team.url) as client:
        revoked = client.delete(f"/api/v1/tokens/{runs[0]['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert _get_run(team, token, run_id).status_code == 401


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env["ATELIER_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "atelier.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_lists_and_revokes_run_tokens(team: Team, tmp_path: Path) -> None:
    run_id = _run(team, team.contributor)
    token = _mint(team, team.contributor, run_id)
    login = _cli(tmp_path, "login", "--url", team.url, "--token", team.contributor.token)
    assert login.returncode == 0, login.stderr
    listed = _cli(tmp_path, "token", "list", "--kind", "run", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert [(t["kind"], t["run_id"]) for t in found] == [("run", run_id)]
    table = _cli(tmp_path, "token", "list")
    assert table.returncode == 0, table.stderr
    revoked = _cli(tmp_path, "token", "revoke", found[0]["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert _get_run(team, token, run_id).status_code == 401
