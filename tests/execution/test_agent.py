"""The warm supervisor launcher: later submissions are forked from it, not started afresh."""

from __future__ import annotations

import json
import selectors
import socket
import time
from pathlib import Path

import pytest

from atelier import Experiment, ScriptRunConfig, Workspace
from atelier.core.settings import load_settings
from atelier.execution import agent
from atelier.execution.agent_workers import Workers, store_key

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
