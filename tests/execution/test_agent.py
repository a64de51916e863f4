"""The warm supervisor launcher: later submissions are forked from it, not started afresh."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atelier import Experiment, ScriptRunConfig, Workspace
from atelier.core.settings import load_settings
from atelier.execution import agent
from atelier.execution.agent_workers import Workers, store_key
from atelier.sdk.sweeps import _launch
from atelier.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)
from tests.conftest import _stop_agent

#: what is tested here is the agent of each home, not the one the test suite shares
pytestmark = pytest.mark.usefixtures("per_home_agent")


def _submit(ws: Workspace, folder: Path) -> str:
    run = Experiment(ws, "agent").submit(ScriptRunConfig(source_directory=folder, script="t.py"))
    run.wait_for_completion(timeout_seconds=60)
    return run.get_status()


def test_the_first_submit_starts_an_agent_that_later_ones_use(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "t.py").write_text("print('hi')\n")
    home = load_settings().home
    assert _submit(ws, folder) == "Completed"
    deadline = time.monotonic() + 30
    while not agent.request_launch(home, {"ping": True}):
        assert time.monotonic() < deadline, "the agent never answered"
        time.sleep(0.1)
    assert _submit(ws, folder) == "Completed"


def test_without_the_agent_runs_still_start(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_AGENT", "0")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "t.py").write_text("print('hi')\n")
    assert _submit(ws, folder) == "Completed"
    assert not agent.socket_path(load_settings().home).exists()


def test_socket_paths_are_short_and_distinct(tmp_path: Path) -> None:
    first = agent.socket_path(tmp_path / ("a" * 200))
    second = agent.socket_path(tmp_path / "b")
    assert first != second
    assert len(str(first)) < 100
    assert not agent.request_launch(tmp_path / "nothing", {"ping": True})


def test_a_run_reaching_the_agent_with_the_last_ones_idle_message_finds_it_warm() -> None:
    """The supervisor said "idle" but the agent has not read it yet when the next launch of
    the same store arrives: the launch goes to that supervisor, no new one is forked."""
    request = {"workspace": "ws", "run_id": "second", "env": {"ATELIER_HOME": "/h"}}
    selector = selectors.DefaultSelector()
    workers = Workers(selector)
    ours, theirs = socket.socketpair()
    selector.register(ours, selectors.EVENT_READ, "worker")
    workers.busy[ours] = store_key(request)
    theirs.sendall(b"idle")  # sent, not yet read by the agent's loop

    def must_not_fork(*_: object) -> int:
        raise AssertionError("a new supervisor was forked")

    with socket.socket() as server:
        workers.launch(server, request, must_not_fork)
    theirs.settimeout(5)
    assert json.loads(theirs.recv(65536)) == request
    assert workers.busy == {ours: store_key(request)} and not any(workers.idle.values())
    workers.close()
    theirs.close()
    selector.close()


def _parent_command() -> str:
    """A script that prints the command line of the process that started it."""
    return (
        "import os\n"
        "with open(f'/proc/{os.getppid()}/cmdline', 'rb') as f:\n"
        "    print('parent:', f.read().replace(b'\\0', b' ').decode())\n"
    )


def test_the_first_submit_runs_in_the_agent_it_starts(ws: Workspace, tmp_path: Path) -> None:
    """With no agent yet, the first submission starts one interpreter, the agent, which
    forks the run's supervisor once it listens: no supervisor interpreter is started."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "t.py").write_text(_parent_command())
    home = load_settings().home
    assert not agent.request_launch(home, {"ping": True})
    run = Experiment(ws, "agent").submit(ScriptRunConfig(source_directory=folder, script="t.py"))
    run.wait_for_completion(timeout_seconds=60)
    assert run.get_status() == "Completed"
    printed = "".join(run.get_details_with_logs()["logFiles"].values())
    assert "parent:" in printed
    assert "atelier.execution.agent_process" in printed, printed
    assert "supervisor_process" not in printed, printed
    assert agent.request_launch(home, {"ping": True}), "the agent the submission started is gone"


def test_a_sweeps_controller_is_forked_by_the_agent(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "t.py").write_text(
        "import time\nfrom atelier import Run\ntime.sleep(1)\n"
        "Run.get_context().log('accuracy', 0.5)\n"
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=folder, script="t.py"),
        hyperparameter_sampling=GridParameterSampling({"--a": choice(1, 2)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=1,
    )
    sweep = Experiment(ws, "agent-sweep").submit(config)
    deadline = time.monotonic() + 60
    pid = None
    while pid is None:
        assert time.monotonic() < deadline, "no controller took the sweep"
        pid = _launch.controller_pid(sweep._backend, sweep.id)
        time.sleep(0.05)
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "atelier.execution.agent_process" in command, command
    sweep.wait_for_completion(timeout_seconds=120)
    assert sweep.get_status() == "Completed"
    assert len(list(sweep.get_children())) == 2
    # the controller ends the sweep, then exits
    while _launch.controller_pid(sweep._backend, sweep.id) is not None:
        assert time.monotonic() < deadline + 60, "the controller outlived its sweep"
        time.sleep(0.05)


def test_the_agent_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    """An unknown kind is answered "no" (the caller then starts a fresh interpreter), and
    an agent started with an unknown first kind exits with a usage error."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "ATELIER_HOME": str(home)}
    env.pop(agent.SOCKET_VARIABLE, None)
    bad = subprocess.run(
        [sys.executable, "-m", "atelier.execution.agent_process", "--home", str(home),
         "--first", json.dumps({"workspace": "w", "run_id": "r", "kind": "bogus"})],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown kind in --first: 'bogus'" in bad.stderr
    assert not agent.start_agent(home, env)  # started with no first request
    deadline = time.monotonic() + 30
    while not agent.request_launch(home, {"ping": True}):
        assert time.monotonic() < deadline, "the agent never answered"
        time.sleep(0.05)
    try:
        request = {"workspace": "w", "run_id": "r", "kind": "bogus", "env": env}
        assert not agent.request_launch(home, request)
    finally:
        _stop_agent(agent.socket_path(home))


def test_an_agent_that_cannot_listen_still_starts_its_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket cannot be bound (here: its folder does not exist): the run the agent was
    started for is started in a fresh interpreter, not lost."""
    from atelier.execution import agent_process

    started: list[list[str]] = []
    monkeypatch.setattr(agent, "spawn_detached", lambda args, env: started.append(args))
    monkeypatch.setenv(agent.SOCKET_VARIABLE, str(tmp_path / "missing" / "agent.sock"))
    first = {"workspace": "w", "run_id": "r", "kind": "sweep", "env": {"A": "1"}}
    with pytest.raises(OSError):
        agent_process._serve(tmp_path, 1.0, first)
    assert started == [[
        sys.executable, "-m", "atelier.sdk.sweeps._controller_process", "--workspace", "w",
        "--run-id", "r",
    ]]  # fmt: skip
