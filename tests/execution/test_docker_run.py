"""A run whose environment has ``docker.enabled``: its script runs in a container."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from atelier import Environment, Experiment, Run, Workspace
from atelier.containers import Engine
from atelier.execution.container_run import LABEL
from atelier.execution.reaper import reap
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.execution.reaping import running_sleeper
from tests.helpers.containers import engine_with_base_image

TRAIN = """
    import os, sys
    from atelier import Run
    release = open("/etc/os-release").read()
    # the image's venv and the engine's marker file: not this host's Python
    boxed = sys.prefix == "/opt/venv" and os.path.exists("/run/.containerenv")
    print(boxed, os.environ.get("MY_SETTING"), os.environ.get("VIRTUAL_ENV"), flush=True)
    run = Run.get_context()
    run.log("inside", 1.0 if boxed else 0.0)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/where.txt", "w") as handle:
        handle.write(release.splitlines()[0])
"""


def _submit(ws: Workspace, tmp_path: Path, body: str) -> Run:
    """A run of ``body`` in a container, with the run's variable ``MY_SETTING``."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(body))
    env = Environment("boxed")
    env.python.user_managed_dependencies = True
    env.docker.enabled = True
    config = ScriptRunConfig(source_directory=folder, script="train.py", environment=env)
    config.run_config.environment_variables["MY_SETTING"] = "on"
    return Experiment(ws, "boxed").submit(config)


def _containers_of(engine: Engine, run: Run) -> str:
    """The ids of the engine's containers (running or not) that belong to ``run``."""
    found = engine.call(["ps", "--all", "--quiet", "--filter", f"label={LABEL}={run.id}"])
    return found.stdout.strip()


@pytest.mark.one_database
def test_a_docker_enabled_run_runs_in_a_container(ws: Workspace, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    run = _submit(ws, tmp_path, TRAIN)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", details
    assert run.get_metrics()["inside"] == 1.0
    where = run.download_file("outputs/where.txt", tmp_path / "where.txt")
    assert "Debian GNU/Linux 12 (bookworm)" in where.read_text()
    log = run.download_file("user_logs/std_log.txt", tmp_path / "log.txt").read_text()
    assert "True on /opt/venv" in log  # the run's variable; the image's venv, not the host's
    assert _containers_of(engine, run) == ""


@pytest.mark.one_database
def test_cancel_stops_the_container(ws: Workspace, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    run = running_sleeper(lambda body: _submit(ws, tmp_path, body))
    run.cancel()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Canceled"
    assert _containers_of(engine, run) == ""


@pytest.mark.one_database
def test_no_engine_fails_the_run_before_it_starts(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("ATELIER_AGENT", "0")
    monkeypatch.setenv("PATH", str(empty))
    run = _submit(ws, tmp_path, "print('never')\n")
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert details["error"]["code"] == "container_engine_unavailable"
    assert "podman" in details["error"]["message"]


@pytest.mark.one_database
def test_a_killed_supervisor_leaves_no_container_running(ws: Workspace, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    run = running_sleeper(lambda body: _submit(ws, tmp_path, body))
    supervisor = ws._backend.runs.get(ws.name, run.id).supervisor or {}
    os.kill(int(supervisor["pid"]), signal.SIGKILL)
    # the podman client dies with the supervisor's process group; its container would not.
    # A reaper (this one, or the agent's every few seconds) fails the run and removes it
    deadline = time.monotonic() + 60
    while run.get_status() != "Failed":
        assert time.monotonic() < deadline, run.get_status()
        reap(ws._backend, ws.name)
        time.sleep(0.5)
    assert _containers_of(engine, run) == ""
