"""A small sweep on a given compute target, checked end to end (the Ray and SSH tests)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from atelier import Experiment, Workspace
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from atelier.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)

TRIAL = """
    import argparse, os, socket
    from atelier import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=float)
    args = parser.parse_args()
    run = Run.get_context()
    run.log("accuracy", args.quality)
    print("trial", args.quality, "ran in", os.getcwd(), flush=True)
"""


def sweep_on(ws: Workspace, tmp_path: Path, target: str) -> list[str]:
    """Two trials on ``target``, one at a time: both complete there with their metric and
    logs, and the better one is the sweep's best. The trials' logs."""
    folder = tmp_path / "sweep-src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(TRIAL))
    trial = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    config = HyperDriveConfig(
        run_config=trial,
        hyperparameter_sampling=GridParameterSampling({"--quality": choice(0.25, 0.75)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=1,
    )
    sweep = Experiment(ws, f"sweep-{target}").submit(config)
    sweep.wait_for_completion(timeout_seconds=180)
    assert sweep.get_status() == "Completed"
    children = sweep.get_children()
    assert len(children) == 2
    logs = []
    for child in children:
        assert child.get_status() == "Completed", child.get_details()
        assert child.get_details()["target"] == target
        quality = float(child.get_tags()["quality"])
        assert child.get_metrics()["accuracy"] == quality
        log = child._backend.runs.read_log(ws.name, child.id, 0)[0].decode()
        assert f"trial {quality} ran in" in log
        logs.append(log)
    best = sweep.get_best_run_by_primary_metric()
    assert best is not None
    assert best.get_tags()["quality"] == "0.75"
    return logs
