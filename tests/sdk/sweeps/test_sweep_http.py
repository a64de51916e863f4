"""A sweep submitted to a workspace on a server: trials are runs on the server, the
controller and the supervisors run on this machine, the study in a journal under its home."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, ScriptRunConfig, Workspace
from atelier.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    choice,
)


@pytest.mark.parametrize("database", ["sqlite"])
@pytest.mark.parametrize("backend", ["http"])
def test_a_sweep_runs_through_a_server(ws: Workspace, tmp_path: Path) -> None:
    assert ws._backend.child_environment().get("ATELIER_DATABASE_URL") is None  # over HTTP
    (tmp_path / "train.py").write_text(
        textwrap.dedent(
            """
            import sys
            from atelier import Run
            run = Run.get_context()
            for step in range(3):
                run.log("loss", float(sys.argv[2]) / (step + 1))
            """
        )
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=tmp_path, script="train.py"),
        hyperparameter_sampling=GridParameterSampling({"--alpha": choice(0.5, 0.2)}),
        policy=MedianStoppingPolicy(delay_evaluation=1),
        primary_metric_name="loss",
        primary_metric_goal="minimize",
        max_total_runs=2,
        max_concurrent_runs=1,
    )
    run = Experiment(ws, "remote-sweep").submit(config)
    shown = io.StringIO()
    run.wait_for_completion(show_output=True, out=shown)
    assert "best loss" in shown.getvalue() and "Completed" in shown.getvalue()
    best = run.get_best_run_by_primary_metric()
    assert best is not None
    assert run.get_hyperparameters()[best.id] == {"--alpha": 0.2}
    assert [r["best_primary_metric"] for r in run.get_children_sorted_by_primary_metric()] == [
        pytest.approx(0.2 / 3),
        pytest.approx(0.5 / 3),
    ]
    assert (Path(ws._backend.child_environment()["ATELIER_HOME"]) / "sweeps").is_dir()
