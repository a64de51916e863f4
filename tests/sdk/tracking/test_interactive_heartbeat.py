"""A process that dies while it holds an interactive run (``start_logging``) leaves the run
Failed, not Running for ever: the run is heartbeaten from the process that started it and
reaped like a lost supervisor's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atelier import Experiment, Run, Workspace

pytestmark = pytest.mark.one_database  # the database kind is incidental here

SCRIPT = """
import os, sys
from atelier import Experiment, Workspace

run = Experiment(Workspace.get(sys.argv[1]), "dies").start_logging()
run.log("loss", 0.5)
run.flush()
print(run.id, flush=True)
os._exit(3)  # killed mid-run: no complete(), no atexit
"""


def test_a_dead_process_leaves_its_interactive_run_failed(ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), ws.name],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    run = Run.get(ws, done.stdout.strip())
    assert run.get_status() == "Running"
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=30)
    assert details["status"] == "Failed"
    assert "process died" in details["error"]["message"]


def test_a_live_run_is_not_reaped(ws: Workspace) -> None:
    from atelier.execution.reaper import reap

    with Experiment(ws, "lives").start_logging() as run:
        run.log("loss", 0.1)
        assert reap(ws._backend, ws.name, timeout_seconds=30) == []
        assert run.get_status() == "Running"
    assert run.get_status() == "Completed"


def test_activity_is_not_stale_after_the_run_ended(ws: Workspace) -> None:
    from atelier.client.registry import supervision_for

    run = Experiment(ws, "activity").start_logging()
    supervision = getattr(ws._backend, "supervision", None) or supervision_for()
    supervision.heartbeat(ws.name, run.id, {"phase": "running", "message": "epoch 3"})
    assert run.get_activity()["phase"] == "running"
    run.complete()
    activity = run.get_activity()
    assert activity["status"] == "Completed"
    assert activity["phase"] == "ended"
    assert activity["message"] == "the run ended Completed"
    assert activity["updated"] is not None
