"""Runs started by the platform: a script attaches through ATELIER_* variables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from atelier import Experiment, Run, Workspace
from atelier.sdk.tracking._offline import OfflineRun


def _script_env(ws: Workspace, run: Run) -> dict[str, str]:
    env = dict(os.environ)
    env["ATELIER_RUN_ID"] = run.id
    env["ATELIER_TRACKING_URI"] = ws.get_mlflow_tracking_uri()
    return env


def test_a_script_logs_to_its_run_and_is_flushed_at_exit(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "ctx").start_logging()
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        from atelier import Run
        run = Run.get_context()
        assert Run.get_context() is run
        for i in range(20_000):
            run.log("loss", 1.0 / (i + 1))
        run.log_row("summary", epochs=3)
        run.tag("from", "script")
        print("RUN", run.id)
    """)
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        env=_script_env(ws, run),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"RUN {run.id}" in done.stdout
    metrics = run.get_metrics()
    assert len(metrics["loss"]) == 20_000
    assert metrics["summary"] == {"epochs": [3]}
    assert run.get_tags() == {"from": "script"}
    assert run.get_status() == "Running"  # ending the run is the supervisor's job


def test_a_killed_script_loses_at_most_its_unflushed_batch(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "ctx").start_logging()
    script = tmp_path / "crash.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time
        from atelier import Run
        run = Run.get_context()
        for i in range(1000):
            run.log("kept", i)
        run.flush()
        print("flushed", flush=True)
        i = 0
        while True:
            run.log("cut", i)
            i += 1
            if i % 1000 == 0:
                time.sleep(0.001)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=_script_env(ws, run), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "flushed"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    metrics = run.get_metrics()
    assert metrics["kept"] == [float(i) for i in range(1000)]
    cut = metrics.get("cut", [])
    cut = cut if isinstance(cut, list) else [cut]
    assert cut == [float(i) for i in range(len(cut))]  # a prefix: whole batches, in order
    run.log("after", 1.0)
    run.complete()
    assert run.get_metrics("after") == {"after": 1.0}


def test_outside_the_platform_get_context_is_offline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_RUN_ID", raising=False)
    run = Run.get_context()
    assert isinstance(run, OfflineRun)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log_row("t", a=1)
    assert "log loss = 0.5" in capsys.readouterr().out
    assert run.get_metrics() == {"loss": [0.5, 0.25], "t": {"a": [1]}}
    from atelier import ValidationError

    with pytest.raises(ValidationError, match="ATELIER_RUN_ID"):
        Run.get_context(allow_offline=False)
