"""Sweep speed: the platform's overhead per trial, and a sweep against a plain Optuna loop.

The same 0.1 s script (it logs one metric) is run three ways, in one run on this machine:
- directly with ``python``, one after another, before and after the rest: the script's own
  run time (the floor; the mean of both medians, as the load of a shared machine drifts);
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
import time
started = time.time()
import argparse
from atelier import Run
imported = time.time()
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, default=0.5)
args = parser.parse_args()
time.sleep(0.1)
score = 1.0 - (args.x - 0.3) ** 2
run = Run.get_context()
opened = time.time()
run.log("score", score)
print(f"score={score}", flush=True)
print(f"timing={started},{imported},{opened},{time.time()}", flush=True)
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
    return {
        "wall_s": wall,
        "trials": len(children),
        "fully_recorded": recorded,
        "phases_ms": _phases(run, children),
    }


def _phases(sweep: Any, children: list[Any]) -> dict[str, float]:
    """Where a trial's time goes (medians, ms), from the run records and the timestamps
    the script prints: waiting for the controller after the previous trial ended, queued
    until a supervisor started it, preparing (snapshot, environment) until the script's
    first line, the script's import of atelier, opening its run (``Run.get_context()``, less
    the script's 0.1 s sleep), logging, and finalizing after the script's last line."""
    rows: dict[str, list[float]] = {}
    ordered = sorted((c._refresh() for c in children), key=lambda r: r.created_ms)
    ends = sorted(r.ended_ms or 0 for r in ordered)
    for record in ordered:
        text = sweep.experiment.workspace._backend.runs.read_log(
            sweep.experiment.workspace.name, record.run_id, 0
        )[0].decode(errors="replace")
        marks = [ln for ln in text.splitlines() if ln.startswith("timing=")]
        if not marks or not record.started_ms or not record.ended_ms:
            continue
        start, imported, opened, last = (float(v) * 1000 for v in marks[-1][7:].split(","))
        earlier = [e for e in ends if e <= record.created_ms]
        if earlier:
            rows.setdefault("controller_gap", []).append(record.created_ms - earlier[-1])
        rows.setdefault("queued", []).append(record.started_ms - record.created_ms)
        rows.setdefault("prepare_and_start", []).append(start - record.started_ms)
        rows.setdefault("import_atelier", []).append(imported - start)
        rows.setdefault("get_context", []).append(opened - imported - 100)
        rows.setdefault("log", []).append(last - opened)
        rows.setdefault("finalize", []).append(record.ended_ms - last)
    return {name: statistics.median(values) for name, values in rows.items()}


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
    script_before = _script_time(source, 10)
    optuna_result = _optuna_loop(source, root, trials)
    atelier_result = _atelier_sweep(source, trials)
    # the load of a shared machine drifts over minutes: the script is timed again after the
    # sweep, and its own time is the mean of both medians
    script_after = _script_time(source, 10)
    script_s = (script_before + script_after) / 2
    overhead_s = atelier_result["wall_s"] * CONCURRENCY / trials - script_s
    ratio = atelier_result["wall_s"] / optuna_result["wall_s"]
    result = {
        "trials": trials,
        "concurrency": CONCURRENCY,
        "script_s": script_s,
        "script_s_before_after": [script_before, script_after],
        "atelier": atelier_result,
        "optuna_subprocess": optuna_result,
        "overhead_per_trial_s": overhead_s,
        "ratio_atelier_over_optuna": ratio,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(
        f"script run directly (median of 10, before and after): {script_before * 1000:.0f} ms, "
        f"{script_after * 1000:.0f} ms"
    )
    print(
        f"Atelier sweep, {trials} trials at concurrency {CONCURRENCY}: "
        f"{atelier_result['wall_s']:.1f} s, {atelier_result['fully_recorded']} trials "
        "recorded with metrics, logs and snapshot"
    )
    phases = ", ".join(f"{k} {v:.0f}" for k, v in atelier_result["phases_ms"].items())
    print(f"  per trial, median ms: {phases}")
    print(f"Optuna + subprocess loop, same trials: {optuna_result['wall_s']:.1f} s")
    print(f"overhead per trial: {overhead_s * 1000:.0f} ms (target <= 100 ms)")
    print(f"ratio Atelier / Optuna loop: {ratio:.2f}x (target <= 1.2x)")
    print(f"load average before {load_before[0]:.1f}, after {result['load_after'][0]:.1f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    name = "sweeps-quick.json" if args.quick else "sweeps.json"
    (out / name).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
