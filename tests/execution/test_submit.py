"""Submitting scripts to local compute: the whole life of a run, and every way it can end."""

from __future__ import annotations

import io
import itertools
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from atelier import Experiment, NotFoundError, RunFailedError, ValidationError, Workspace
from atelier.core.errors import ComputeTargetNotFoundError
from atelier.execution.reaper import reap
from atelier.sdk.compute.targets import ComputeTarget
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import RunConfiguration, ScriptRunConfig


def _source(tmp_path: Path, body: str, name: str = "train.py") -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body))
    return folder


def _submit(ws: Workspace, folder: Path, **kwargs: object) -> Run:
    config = ScriptRunConfig(source_directory=folder, script="train.py", **kwargs)  # type: ignore[arg-type]
    return Experiment(ws, "jobs").submit(config, tags={"kind": "test"})


TRAIN = """
    import os, sys
    print("hello from the script", flush=True)
    from atelier import Run
    run = Run.get_context()
    for i in range(50):
        run.log("loss", 1.0 / (i + 1))
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.txt", "w") as handle:
        handle.write("weights " + " ".join(sys.argv[1:]))
    os.makedirs("logs", exist_ok=True)
    with open("logs/extra.log", "w") as handle:
        handle.write("extra")
    print("secret is", os.environ.get("MY_SETTING"))
    print("a warning", file=sys.stderr)
"""


def test_a_submitted_script_runs_to_completion(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, TRAIN)
    (folder / "data.csv").write_text("a,b\n1,2\n")
    config = ScriptRunConfig(source_directory=folder, script="train.py", arguments=["--reg", 0.5])
    config.run_config.environment_variables["MY_SETTING"] = "on"
    run = Experiment(ws, "jobs").submit(config)
    assert run.get_status() in ("Queued", "Preparing", "Running", "Finalizing", "Completed")
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert details["exitCode"] == 0
    assert details["runDefinition"]["arguments"] == ["--reg", "0.5"]
    assert "hello from the script" in out.getvalue()
    assert "secret is on" in out.getvalue()
    assert "a warning" in out.getvalue()
    assert len(run.get_metrics()["loss"]) == 50
    names = run.get_file_names()
    assert {"outputs/model.txt", "logs/extra.log", "user_logs/std_log.txt"} <= set(names)
    target = run.download_file("outputs/model.txt", tmp_path / "model.txt")
    assert target.read_text() == "weights --reg 0.5"
    restored = run.restore_snapshot(path=tmp_path / "restored")
    assert sorted(p.name for p in restored.iterdir()) == ["data.csv", "train.py"]
    assert run.type == "azureml.scriptrun"


def test_an_unchanged_folder_is_the_same_snapshot(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, "print('x')\n")
    first = _submit(ws, folder)
    second = _submit(ws, folder)
    assert first.get_snapshot_id() == second.get_snapshot_id()
    (folder / "train.py").write_text("print('y')\n")
    third = _submit(ws, folder)
    assert third.get_snapshot_id() != first.get_snapshot_id()
    for run in (first, second, third):
        run.wait_for_completion()


@pytest.mark.one_database
def test_show_output_prints_and_a_failure_raises_with_stderr(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _source(
        tmp_path,
        """
        import sys
        print("working", flush=True)
        raise SystemExit("the data is empty")
    """,
    )
    run = _submit(ws, folder)
    with pytest.raises(RunFailedError, match="the data is empty"):
        run.wait_for_completion(show_output=True)
    assert "working" in capsys.readouterr().out
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert details["exitCode"] == 1
    assert details["error"]["code"] == "ScriptExecutionError"
    assert "the data is empty" in details["error"]["stderr_tail"]
    assert "user_logs/std_log.txt" in run.get_file_names()


def test_bad_submissions_create_no_run(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, "print(1)\n")
    exp = Experiment(ws, "jobs")
    with pytest.raises(NotFoundError, match="not found in source_directory"):
        exp.submit(ScriptRunConfig(source_directory=folder, script="missing.py"))
    with pytest.raises(ValidationError, match="escapes"):
        exp.submit(ScriptRunConfig(source_directory=folder, script="../train.py"))
    with pytest.raises(ComputeTargetNotFoundError, match="not found"):
        exp.submit(
            ScriptRunConfig(
                source_directory=folder, script="train.py", compute_target="gpu-cluster"
            )
        )
    with pytest.raises(ValidationError, match="does not exist"):
        exp.submit(ScriptRunConfig(source_directory=tmp_path / "nope", script="train.py"))
    assert Run.list(exp) == []


def test_ignore_files_and_snapshot_limits(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _source(tmp_path, "import os; print(sorted(os.listdir('.')))\n")
    (folder / "big.bin").write_bytes(b"0" * 2_000_000)
    (folder / "keep.txt").write_text("k")
    (folder / ".gitignore").write_text("keep.txt\n")
    (folder / ".amlignore").write_text("big.bin\n")  # .amlignore wins over .gitignore
    run = _submit(ws, folder)
    run.wait_for_completion()
    restored = run.restore_snapshot(path=tmp_path / "r")
    assert sorted(p.name for p in restored.iterdir()) == [
        ".amlignore",
        ".gitignore",
        "keep.txt",
        "train.py",
    ]
    (folder / ".amlignore").unlink()
    monkeypatch.setenv("ATELIER_SNAPSHOT_MAX_MB", "1")
    with pytest.raises(ValidationError, match=r"big\.bin \(2\.0 MB\)"):
        _submit(ws, folder)


def test_bytecode_caches_are_never_in_a_snapshot(tmp_path: Path) -> None:
    from atelier.sdk.tracking._snapshot import collect

    folder = _source(tmp_path, "print('hi')\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\x00")
    (folder / "pkg" / "__pycache__").mkdir(parents=True)
    (folder / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\x00")
    (folder / "pkg" / "mod.py").write_text("x = 1\n")
    (folder / "stray.pyc").write_bytes(b"\x00")
    assert sorted(relative for relative, _, _ in collect(folder)) == ["pkg/mod.py", "train.py"]


def test_the_atelier_home_inside_the_source_is_never_in_a_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A home kept in the project folder (its database, blobs, earlier runs' working
    folders) is left out, wherever it lies below the folder; a folder of the same name
    elsewhere is kept."""
    from atelier.sdk.tracking._snapshot import collect

    folder = _source(tmp_path, "print('hi')\n")
    home = folder / "state" / ".atelier"
    (home / "blobs").mkdir(parents=True)
    (home / "blobs" / "object").write_bytes(b"\x00")
    (home / "atelier.db").write_bytes(b"\x00")
    (folder / ".atelier").mkdir()
    (folder / ".atelier" / "notes.txt").write_text("kept")
    monkeypatch.setenv("ATELIER_HOME", str(home))
    assert sorted(relative for relative, _, _ in collect(folder)) == [
        ".atelier/notes.txt",
        "train.py",
    ]
    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "elsewhere"))
    assert "state/.atelier/atelier.db" in {relative for relative, _, _ in collect(folder)}


@pytest.mark.one_database
def test_time_limit_stops_the_script(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    run = _submit(ws, folder, max_run_duration_seconds=1)
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    assert details["error"]["code"] == "RunTimeout"
    assert "max_run_duration_seconds=1" in details["error"]["message"]


def _wait_for(run: Run, status: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while run.get_status() != status:
        assert time.monotonic() < deadline, f"run stayed {run.get_status()}"
        time.sleep(0.1)


@pytest.mark.one_database
def test_cancel_kills_the_whole_process_tree(ws: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    folder = _source(
        tmp_path,
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(marker)!r}, "w").write(str(child.pid))
        print("started", flush=True)
        time.sleep(120)
    """,
    )
    run = _submit(ws, folder)
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    run.cancel()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Canceled"
    child_pid = int(marker.read_text())
    deadline = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.one_database
def test_a_killed_supervisor_leaves_a_failed_run(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(120)\n")
    run = _submit(ws, folder)
    _wait_for(run, "Running")
    supervisor = run._refresh().supervisor
    assert supervisor is not None
    script_group = os.getpgid(supervisor["pid"])
    os.kill(supervisor["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while run.get_status() == "Running" and time.monotonic() < deadline:
        reap(ws._backend, ws.name)
        time.sleep(0.2)
    details = run.get_details()
    assert details["status"] == "Failed"
    assert details["error"]["code"] == "SupervisorLost"
    del script_group
    for line in run.get_details()["error"]["message"].splitlines():
        assert "supervisor" in line


@pytest.mark.one_database
def test_local_concurrency_limit_runs_in_order(ws: Workspace, tmp_path: Path) -> None:
    ComputeTarget(ws, "local").update(max_concurrent_runs=1)
    folder = _source(tmp_path, "import time\ntime.sleep(0.3)\n")
    runs = [_submit(ws, folder) for _ in range(3)]
    for run in runs:
        run.wait_for_completion(timeout_seconds=120)
    records = [run._refresh() for run in runs]
    assert all(r.status.value == "Completed" for r in records)
    for earlier, later in itertools.pairwise(records):
        assert earlier.ended_ms is not None and later.started_ms is not None
        assert later.started_ms >= earlier.ended_ms - 5  # one at a time, first in first out
    with pytest.raises(ValidationError, match="max_concurrent_runs"):
        ComputeTarget(ws, "local").update(max_concurrent_runs=0)


def test_run_configuration_round_trip(tmp_path: Path) -> None:
    config = RunConfiguration(script="train.py", arguments=["--epochs", 3])
    config.max_run_duration_seconds = 600
    config.environment_variables = {"A": "1"}
    path = config.save(tmp_path, "nightly")
    assert path == tmp_path / ".atelier" / "nightly.runconfig"
    loaded = RunConfiguration.load(tmp_path, "nightly")
    assert loaded.to_dict() == config.to_dict()
    with pytest.raises(NotFoundError, match=r"RunConfiguration\.save"):
        RunConfiguration.load(tmp_path, "absent")


@pytest.mark.one_database
def test_activity_follows_the_phases(ws: Workspace, tmp_path: Path) -> None:
    go = tmp_path / "go"  # the script runs until the test has seen its running phase
    folder = _source(
        tmp_path,
        f"""
        import os, time
        print('x', flush=True)
        deadline = time.monotonic() + 60
        while not os.path.exists({str(go)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
    """,
    )
    run = _submit(ws, folder)
    _wait_for(run, "Running")
    deadline = time.monotonic() + 30
    while run.get_activity()["phase"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "starting" in run.get_activity()["message"]
    go.touch()
    run.wait_for_completion()
    assert run.get_activity()["status"] == "Completed"
    assert run.get_activity()["phase"] == "ended"  # never the phase it was last seen in


@pytest.mark.one_database
def test_an_environment_that_does_not_resolve_fails_the_run(ws: Workspace, tmp_path: Path) -> None:
    from atelier import Environment

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("atelier-no-such-package-zz==9.9\n")
    env = Environment.from_pip_requirements("broken", requirements)
    folder = _source(tmp_path, "print('never runs')\n")
    run = _submit(ws, folder, environment=env)
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=120)
    assert details["status"] == "Failed"
    assert "atelier-no-such-package-zz" in details["error"]["message"]
    assert "system_logs/supervisor.log" in run.get_file_names()
    log = run.download_file("system_logs/supervisor.log", tmp_path / "sup.log").read_text()
    assert "atelier-no-such-package-zz" in log
