"""The role matrix, generated from the route table: every route × (anonymous, another
workspace's Owner, a run's token, Reader, Contributor, Owner, server admin). A route without a rule
fails ``test_every_route_has_an_authorization_rule``; a rule that lets the wrong person
through fails here."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest

from atelier.core.access import Access
from atelier.core.settings import Settings
from atelier.server.app import route_table
from atelier.server.auth import Rule
from atelier.studio.site import create_site
from tests.helpers import web
from tests.helpers.mlflow_routes import is_mlflow_path
from tests.server.conftest import Person, Team

pytestmark = pytest.mark.one_database  # the database kind is incidental here


def _table() -> list[tuple[str, str, Rule | None]]:
    with tempfile.TemporaryDirectory() as folder:
        return route_table(create_site(Settings(home=Path(folder))))


#: the MLflow routes are walked with real tokens in tests/server/mlflow/test_authorization.py
ROUTES = [route for route in _table() if not is_mlflow_path(route[1])]
PLACEHOLDERS = {
    "run_id": "no-such-run",
    "name": "no-such-name",
    "experiment": "matrix",
    "user": "no-such-user",
    "version": "999",
    "token_id": "no-such-token",
    "snapshot_id": "no-such-snapshot",
    "path": "no/such/file.txt",
    "dataset_id": "no-such-dataset",
    "deployment": "nosuch",
    "slot": "primary",
    "pipeline_id": "no-such-pipeline",
    "key": "no-such-key",
    "experiment_id": "no-such-experiment",
}
RANK = {
    "anonymous": 0,
    "stranger": 0,
    "run": 0,
    "reader": 1,
    "contributor": 2,
    "owner": 3,
    "admin": 9,
}
NEEDED = {Access.READ: 1, Access.WRITE: 2, Access.MANAGE: 3}


def _allowed(rule: Rule, who: str, path: str = "") -> bool:
    if rule.scope == "public":
        return True
    if who == "run":  # a run token of another run than the path's placeholder run
        return (
            rule.scope == "workspace"
            and rule.run_token
            and "{run_id}" not in path
            and rule.access is not Access.MANAGE
            # creating runs: the route lets a run token create only its own child runs
            and not path.endswith("/runs")
        )
    if who == "anonymous":
        return False
    if rule.scope == "user":
        return True
    if rule.scope == "admin":
        return who == "admin"
    assert rule.access is not None
    return RANK[who] >= NEEDED[rule.access]


def _url(path: str, workspace: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return workspace if name == "workspace" else PLACEHOLDERS[name]

    return re.sub(r"\{([^}]+)\}", fill, path)


def _ordered(routes: list[tuple[str, str, Rule | None]]) -> list[tuple[str, str, Rule]]:
    """Every route with its rule; deleting the workspace comes last, as it ends the team."""
    found = [(m, p, r) for m, p, r in routes if r is not None]
    return sorted(found, key=lambda item: item[:2] == ("DELETE", "/api/v1/workspaces/{workspace}"))


def test_role_matrix(team: Team) -> None:
    people: dict[str, Person | None] = {
        "anonymous": None,
        "stranger": team.stranger,
        "reader": team.reader,
        "contributor": team.contributor,
        "owner": team.owner,
        "admin": team.admin,
    }
    # before the Owner, whose DELETE of the workspace ends the run and its token
    people = {"run": _run_token(team), **people}
    failures: list[str] = []
    checked = 0
    with web.Client(base_url=team.url, timeout=30) as client:
        for method, path, rule in _ordered(ROUTES):
            url = _url(path, team.workspace)
            for who, person in people.items():
                headers = {"Authorization": f"Bearer {person.token}"} if person else {}
                body = {} if method in ("POST", "PUT", "PATCH") else None
                answer = client.request(method, url, headers=headers, json=body)
                checked += 1
                problem = _judge(rule, who, answer, path)
                if problem:
                    failures.append(f"{method} {path} as {who}: {problem}")
    assert checked >= 7 * 50
    assert not failures, "\n".join(failures)


def _run_token(team: Team) -> Person:
    """The token a run of the team's workspace reports with."""
    with team.owner.client(team.url) as client:
        base = f"/api/v1/workspaces/{team.workspace}"
        run_id = client.post(f"{base}/experiments/matrix/runs", json={}).json()["run_id"]
        token = client.post(f"{base}/runs/{run_id}/token").json()["token"]
    return Person("run", token)


def _judge(rule: Rule, who: str, answer: httpx.Response, path: str) -> str | None:
    if _allowed(rule, who, path):
        if answer.status_code in (401, 403) or answer.status_code >= 500:
            return f"should be allowed, got {answer.status_code} {answer.text[:200]}"
        return None
    expected = 401 if who == "anonymous" else 403
    if answer.status_code != expected:
        return f"should be refused with {expected}, got {answer.status_code} {answer.text[:200]}"
    if answer.json()["code"] not in ("unauthenticated", "permission_denied"):
        return f"refused with an unexpected code {answer.json()['code']}"
    return None


def test_replacing_a_datastore_needs_the_owner_role(team: Team) -> None:
    """``POST .../datastores`` is a Contributor route, but with ``overwrite`` on a name that
    is taken it replaces another member's datastore: only an Owner (or admin) may."""
    stores = f"/api/v1/workspaces/{team.workspace}/datastores"

    def body(bucket: str) -> dict[str, object]:
        url = f"gs://{bucket}/p"
        return {"name": "taken", "kind": "gcs", "url": url, "validate": False, "overwrite": True}

    with team.owner.client(team.url) as owner:
        assert owner.post(stores, json=body("first")).status_code == 201
    people = {"run": _run_token(team), "stranger": team.stranger, "reader": team.reader}
    people |= {"contributor": team.contributor, "owner": team.owner, "admin": team.admin}
    with web.Client(base_url=team.url, timeout=30) as client:
        for who, person in people.items():
            headers = {"Authorization": f"Bearer {person.token}"}
            answer = client.post(stores, json=body(who), headers=headers)
            expected = 201 if RANK[who] >= NEEDED[Access.MANAGE] else 403
            assert answer.status_code == expected, (who, answer.text)
