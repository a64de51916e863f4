"""A user's journey against a real server: CLI login and admin commands, and a script
submitted through the server that reports back with a token for its own run only."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, PermissionDeniedError, UnauthenticatedError, Workspace
from atelier.client.registry import reset_backends
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.conftest import unique
from tests.helpers.cli import Result, invoke
from tests.server.conftest import Team


def _cli(home: Path, *args: str, token: str | None = None) -> Result:
    """``atelier *args`` with ``home`` as its home and no other ``ATELIER_*`` variable (in
    this process: tests/e2e start real processes)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ATELIER_")}
    env["ATELIER_HOME"] = str(home)
    if token is not None:
        env["ATELIER_TOKEN"] = token
    return invoke(args, cwd=home.parent, env=env)


@pytest.mark.parametrize("database", ["sqlite"])
def test_cli_login_users_tokens_members_audit(server: Any, tmp_path: Path) -> None:
    admin_home, user_home = tmp_path / "admin", tmp_path / "user"
    bad = _cli(admin_home, "login", "--url", server.url, "--token", "atl_wrong")
    assert bad.code == 5
    assert bad.stderr.startswith("error: the token is not valid")
    login = _cli(admin_home, "login", "--url", server.url, "--token", server.admin_token)
    assert login.code == 0, login.stderr
    credentials = admin_home / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    name = unique("alice")
    assert _cli(admin_home, "user", "create", name).code == 0
    issued = _cli(admin_home, "token", "create", "--user", name, "-o", "json")
    token = json.loads(issued.stdout)["token"]
    assert token.startswith("atl_")
    assert _cli(user_home, "login", "--url", server.url, "--token", token).code == 0
    workspace = unique("cli-ws")
    created = _cli(user_home, "workspace", "create", workspace)
    assert created.code == 0, created.stderr
    assert server.url in created.stdout
    listed = json.loads(_cli(user_home, "workspace", "list", "-o", "json").stdout)
    assert [item["name"] for item in listed] == [workspace]  # only what alice may see
    members = json.loads(
        _cli(user_home, "workspace", "member", "list", workspace, "-o", "json").stdout
    )
    assert members == [{"workspace_name": workspace, "user_name": name, "role": "Owner"}]
    _log_a_run(server.url, token, workspace)
    listed_runs = _cli(user_home, "run", "list", "-w", workspace, "-e", "cli", "-o", "json")
    assert listed_runs.code == 0, listed_runs.stderr
    runs = json.loads(listed_runs.stdout)
    assert [run["status"] for run in runs] == ["Completed"]
    metrics = _cli(user_home, "run", "metrics", runs[0]["runId"], "-w", workspace, "-o", "json")
    assert json.loads(metrics.stdout)["acc"] == 0.9, metrics.stderr
    experiments = _cli(user_home, "experiment", "list", "-w", workspace, "-o", "json")
    assert [e["name"] for e in json.loads(experiments.stdout)] == ["cli"]
    denied = _cli(user_home, "user", "list")
    assert denied.code == 5
    assert "admin" in denied.stderr
    audit = json.loads(_cli(admin_home, "audit", "list", "--actor", name, "-o", "json").stdout)
    assert any(entry["action"] == "POST /workspaces" for entry in audit)
    assert _cli(admin_home, "user", "disable", name).code == 0
    locked = _cli(user_home, "workspace", "list")
    assert locked.code == 5
    assert "not valid" in locked.stderr


def _log_a_run(url: str, token: str, workspace: str) -> None:
    reset_backends()
    ws = Workspace.get(workspace, url=url, token=token)
    with Experiment(ws, "cli").start_logging() as run:
        run.log("acc", 0.9)
    reset_backends()


TRAIN = """
    import json, os
    from atelier import Run
    from atelier.core.errors import AtelierError
    run = Run.get_context()
    print("hello from a remote run", flush=True)
    run.log("loss", 0.25)
    outcome = "allowed"
    try:
        Run.get(run.experiment.workspace, os.environ["OTHER_RUN"])
    except AtelierError as exc:
        outcome = type(exc).__name__
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/probe.json", "w") as handle:
        same = os.environ["ATELIER_TOKEN"] == os.environ["USER_TOKEN"]
        json.dump({"other_run": outcome, "token_is_users": same}, handle)
"""


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_run_submitted_through_the_server_reports_with_its_own_token(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "client-home"))
    monkeypatch.setenv("ATELIER_AGENT_IDLE_SECONDS", "10")
    monkeypatch.delenv("ATELIER_TOKEN", raising=False)
    reset_backends()
    ws = Workspace.get(team.workspace, url=team.url, token=team.contributor.token)
    other = Experiment(ws, "other").start_logging()
    other.complete()
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(TRAIN))
    config = ScriptRunConfig(source_directory=folder, script="train.py")
    config.run_config.environment_variables.update(
        {"OTHER_RUN": other.id, "USER_TOKEN": team.contributor.token}
    )
    run = Experiment(ws, "remote").submit(config)
    run.wait_for_completion(show_output=True, raise_on_error=True)
    assert "hello from a remote run" in capsys.readouterr().out
    assert run.get_metrics()["loss"] == 0.25
    target = tmp_path / "probe.json"
    run.download_file("outputs/probe.json", str(target))
    probe = json.loads(target.read_text())
    assert probe == {"other_run": "PermissionDeniedError", "token_is_users": False}
    reader = Workspace.get(team.workspace, url=team.url, token=team.reader.token)
    with pytest.raises(PermissionDeniedError, match="Contributor"):
        Experiment(reader, "nope").start_logging()
    reset_backends()


@pytest.mark.parametrize("database", ["sqlite"])
def test_from_config_opens_the_workspace_on_its_server(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "client-home"))
    monkeypatch.delenv("ATELIER_TOKEN", raising=False)
    reset_backends()
    ws = Workspace.get(team.workspace, url=team.url, token=team.reader.token)
    written = ws.write_config(tmp_path / "project")
    assert json.loads(written.read_text()) == {
        "subscription_id": None,
        "resource_group": None,
        "workspace_name": team.workspace,
        "tracking_uri": team.url,
    }  # azureml's keys; the token is never written into a project's files
    monkeypatch.setenv("ATELIER_TOKEN", team.reader.token)
    reset_backends()
    again = Workspace.from_config(tmp_path / "project")
    assert again == ws
    assert again.get_details()["mode"] == "server"
    (tmp_path / "other" / ".atelier").mkdir(parents=True)
    (tmp_path / "other" / ".atelier" / "config.json").write_text(
        json.dumps({"workspace_name": team.workspace, "url": team.url, "token": "atl_stale"})
    )
    monkeypatch.delenv("ATELIER_TOKEN")
    reset_backends()
    with pytest.raises(UnauthenticatedError, match="not valid"):
        Workspace.from_config(tmp_path / "other")
    reset_backends()
