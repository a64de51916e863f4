"""A run whose supervisor dies is Failed with ``SupervisorLost`` and its script killed with
no client polling, by the warm agent of an embedded home (tests/server/test_reaper.py: by
the server). The test only reads the run's status (which never reaps)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atelier import Experiment, ScriptRunConfig, Workspace
from atelier.core.processes import kill_run_processes
from atelier.core.settings import load_settings
from atelier.execution import agent
from tests.execution.reaping import alive, kill_supervisor, sleeper, wait

#: the database kind is incidental here; the home's own agent, as a user's, does the reaping
pytestmark = [pytest.mark.one_database, pytest.mark.usefixtures("per_home_agent")]


def test_the_agent_fails_a_run_whose_supervisor_died_and_kills_its_script(
    ws: Workspace, tmp_path: Path
) -> None:
    quick = tmp_path / "quick"
    quick.mkdir()
    (quick / "t.py").write_text("print('hi')\n")
    warmup = Experiment(ws, "reaper").submit(ScriptRunConfig(source_directory=quick, script="t.py"))
    warmup.wait_for_completion(timeout_seconds=120)
    wait("the agent", lambda: agent.request_launch(load_settings().home, {"ping": True}))
    config, marker = sleeper(tmp_path)
    run = Experiment(ws, "reaper").submit(config)
    pids = kill_supervisor(lambda: run._refresh().supervisor, marker)
    wait("the run to fail", lambda: run.get_status() == "Failed")
    error = run._refresh().error or {}
    assert error["code"] == "SupervisorLost"
    assert "supervisor process died" in error["message"]
    wait("the script and its child to be killed", lambda: not any(map(alive, pids)))


def test_only_processes_of_the_run_are_killed_whatever_a_heartbeat_names() -> None:
    """A heartbeat comes from the client: naming another process group in it must not get
    that group killed; a process of the run in it is."""
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    env = {k: v for k, v in os.environ.items() if k != "ATELIER_RUN_ID"}
    stranger = subprocess.Popen(sleep, env=env, start_new_session=True)
    ours = subprocess.Popen(sleep, env={**env, "ATELIER_RUN_ID": "run-x"}, start_new_session=True)
    try:
        here = socket.gethostname()
        forged = {"host": here, "script_pgid": stranger.pid, "pgid": stranger.pid}
        assert kill_run_processes("run-x", forged) == []
        assert kill_run_processes("run-x", {**forged, "host": "elsewhere"}) == []
        assert stranger.poll() is None
        # a process seen in the middle of its exec shows no environment yet (Popen may return
        # before the kernel has set it up): like the reaper's next pass, ask again
        killed: list[int] = []
        deadline = time.monotonic() + 10
        while not killed and time.monotonic() < deadline:
            killed = kill_run_processes("run-x", {"host": here, "script_pgid": ours.pid})
            time.sleep(0 if killed else 0.05)
        assert killed == [ours.pid]
        assert ours.wait(timeout=30) == -9
        assert stranger.poll() is None
    finally:
        for process in (stranger, ours):
            process.kill()
            process.wait()
