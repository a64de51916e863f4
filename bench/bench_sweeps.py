"""Sweep speed: the platform's overhead per trial, and a sweep against a plain Optuna loop.

The same 0.1 s script (it logs one metric) is run three ways, in one run on this machine:
- directly with ``python``, one after another: the script's own run time (the floor);
- as an Atelier sweep (``HyperDriveConfig``, random sampling, concurrency 2, SQLite home):
  every trial a run with its metrics, logs and snapshot, through the supervisor;
- as a plain Optuna loop (the anchor): ``study.optimize`` with ``n_jobs=2`` on SQLite
  storage, each trial running the script with ``subprocess`` and reading its metric.

Overhead per trial = sweep wall time x concurrency / trials - the script's run time.
Targets: overhead <= 100 ms per trial; sweep wall time <= 1.2x the Optuna loop's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONCURRENCY = 2

SCRIPT = """
import argparse, time
from atelier import Run
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, default=0.5)
args = parser.parse_args()
time.sleep(0.1)
score = 1.0 - (args.x - 0.3) ** 2
Run.get_context().log("score", score)
print(f"score={score}", flush=True)
"""


def _source(root: Path) -> Path:
    folder = root / "src"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(SCRIPT)
    return folder


def _script_time(source: Path, repeats: int) -> float:
    """Median wall time of the script run directly, ATELIER_RUN_ID unset (offline logging)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_RUN")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(source / "train.py"), "--x", "0.4"],
            check=True,
            capture_output=True,
            env=env,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _atelier_sweep(source: Path, trials: int) -> dict[str, Any]:
    from atelier import Experiment, ScriptRunConfig, Workspace
    from atelier.train.hyperdrive import (
        HyperDriveConfig,
        PrimaryMetricGoal,
        RandomParameterSampling,
        uniform,
    )

    ws = Workspace.create("bench-sweeps", exist_ok=True)
    # a first plain run starts the warm agent and builds nothing twice: not timed
    Experiment(ws, "warm").submit(
        ScriptRunConfig(source_directory=source, script="train.py")
    ).wait_for_completion()
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=source, script="train.py"),
        hyperparameter_sampling=RandomParameterSampling(
            {"--x": uniform(0, 1)}, properties={"seed": 1}
        ),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=trials,
        max_concurrent_runs=CONCURRENCY,
    )
    start = time.perf_counter()
    run = Experiment(ws, "sweep").submit(config)
    run.wait_for_completion()
    wall = time.perf_counter() - start
    children = run.get_children()
    metrics = run.get_metrics()
    recorded = sum(
        1
        for child in children
        if child.get_status() == "Completed"
        and "score" in metrics.get(child.id, {})
        and child.get_snapshot_id()
        and "user_logs/std_log.txt" in child.get_file_names()
    )
    return {"wall_s": wall, "trials": len(children), "fully_recorded": recorded}


def _objective_factory(source: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_RUN")}

    def objective(trial: Any) -> float:
        x = trial.suggest_float("--x", 0, 1)
        done = subprocess.run(
            [sys.executable, str(source / "train.py"), "--x", str(x)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("score=")][-1]
        return float(line.split("=", 1)[1])

    return objective


def _optuna_loop(source: Path, root: Path, trials: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{root / 'optuna.db'}"
    start = time.perf_counter()
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1)
    )
    study.optimize(_objective_factory(source), n_trials=trials, n_jobs=CONCURRENCY)
    return {"wall_s": time.perf_counter() - start, "trials": len(study.trials)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 trials, a smoke run")
    args = parser.parse_args()
    trials = 20 if args.quick else args.trials
    root = Path(tempfile.mkdtemp(prefix="bench-sweeps-"))
    os.environ["ATELIER_HOME"] = str(root / "home")
    os.environ.pop("ATELIER_DATABASE_URL", None)  # never the shared PostgreSQL database
    source = _source(root)
    load_before = os.getloadavg()
    script_s = _script_time(source, 10)
    optuna_result = _optuna_loop(source, root, trials)
    atelier_result = _atelier_sweep(source, trials)
    overhead_s = atelier_result["wall_s"] * CONCURRENCY / trials - script_s
    ratio = atelier_result["wall_s"] / optuna_result["wall_s"]
    result = {
        "trials": trials,
        "concurrency": CONCURRENCY,
        "script_s": script_s,
        "atelier": atelier_result,
        "optuna_subprocess": optuna_result,
        "overhead_per_trial_s": overhead_s,
        "ratio_atelier_over_optuna": ratio,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(f"script run directly (median of 10): {script_s * 1000:.0f} ms")
    print(
        f"Atelier sweep, {trials} trials at concurrency {CONCURRENCY}: "
        f"{atelier_result['wall_s']:.1f} s, {atelier_result['fully_recorded']} trials "
        "recorded with metrics, logs and snapshot"
    )
    print(f"Optuna + subprocess loop, same trials: {optuna_result['wall_s']:.1f} s")
    print(f"overhead per trial: {overhead_s * 1000:.0f} ms (target <= 100 ms)")
    print(f"ratio Atelier / Optuna loop: {ratio:.2f}x (target <= 1.2x)")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    name = "sweeps-quick.json" if args.quick else "sweeps.json"
    (out / name).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
