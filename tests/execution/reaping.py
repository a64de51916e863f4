"""Runs stopped mid-way. A run whose script sleeps (and leaves a child), and killing its
supervisor once the script's process group is in the heartbeat: for the reaper's tests and
its benchmark. A run whose script says it is up and sleeps: for tests that cancel a run
or kill its supervisor on any compute."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atelier import Run, ScriptRunConfig

SLEEPER = """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open({marker!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(300)
"""
#: a timeout for the wait, not a measure: bench/bench_reliability_supervisor.py measures
PATIENCE_SECONDS = 90
#: logs the metric ``up`` once it runs (wherever it runs, it reaches the run), then sleeps
SAYS_UP = """
    import time
    from atelier import Run
    Run.get_context().log("up", 1)
    time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead


def wait(what: str, done: Callable[[], bool], seconds: float = PATIENCE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def sleeper(tmp_path: Path) -> tuple[ScriptRunConfig, Path]:
    marker = tmp_path / "pids.txt"
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(SLEEPER.format(marker=str(marker))))
    return ScriptRunConfig(source_directory=folder, script="train.py"), marker


def kill_supervisor(
    read_supervisor: Callable[[], dict[str, Any] | None], marker: Path
) -> list[int]:
    """Once the script runs and its group is reported, SIGKILL the supervisor; the script's
    pid and its child's."""
    wait("the script to start", lambda: marker.exists() and " " in marker.read_text())
    # the supervisor reports the script's group as it starts it; a supervisor that does not
    # (as before the reaper) is killed all the same after a while
    deadline = time.monotonic() + 10
    while "script_pgid" not in (read_supervisor() or {}) and time.monotonic() < deadline:
        time.sleep(0.1)
    supervisor = read_supervisor() or {}
    os.kill(int(supervisor["pid"]), signal.SIGKILL)
    return [int(pid) for pid in marker.read_text().split()]


def running_sleeper(submit: Callable[[str], Run]) -> Run:
    """The run ``submit`` makes of a script body (``SAYS_UP``), once its script is up."""
    run = submit(SAYS_UP)
    wait("the script to log 'up'", lambda: "up" in run.get_metrics(), 60)
    return run
