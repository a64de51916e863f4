"""The server's reaper: a run whose supervisor dies is Failed with ``SupervisorLost`` and
its script killed though no client polls (no agent on the client's side either); the test
only reads the run over REST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from tests.execution.reaping import alive, kill_supervisor, sleeper, wait
from tests.server.conftest import Team


@pytest.mark.parametrize("database", ["sqlite"])
def test_the_server_fails_a_run_whose_supervisor_died_and_kills_its_script(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no agent on the client's side: only the server is left to notice
    monkeypatch.setenv("ATELIER_AGENT", "0")
    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "client-home"))
    monkeypatch.delenv("ATELIER_TOKEN", raising=False)
    reset_backends()
    ws = Workspace.get(team.workspace, url=team.url, token=team.contributor.token)
    config, marker = sleeper(tmp_path)
    run = Experiment(ws, "reaper").submit(config)
    url = f"/api/v1/workspaces/{team.workspace}/runs/{run.id}"
    with team.reader.client(team.url) as client:

        def record() -> dict[str, Any]:
            found: dict[str, Any] = client.get(url).json()
            return found

        pids = kill_supervisor(lambda: record().get("supervisor"), marker)
        wait("the run to fail", lambda: record()["status"] == "Failed")
        assert record()["error"]["code"] == "SupervisorLost"
    wait("the script and its child to be killed", lambda: not any(map(alive, pids)))
    reset_backends()
