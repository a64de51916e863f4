"""Atelier against MLflow (the anchor): logging, reading and listing, in one run on this machine.

    .venv/bin/python bench/bench_tracking.py            # full sizes (a few minutes)
    .venv/bin/python bench/bench_tracking.py --quick    # 10x smaller, a smoke run

Every measurement starts from a fresh temporary directory: Atelier in embedded mode
(SQLite under ``ATELIER_HOME``), MLflow with a ``sqlite:///.../mlflow.db`` backend store
and a local artifact folder. Setup is not timed. Results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

# MLflow reads these when it is imported (lazily, below): synchronous logging, less noise.
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
T = TypeVar("T")

# Targets for Atelier at full size.
TARGET_LOG_POINTS_PER_S = 100_000.0
TARGET_READ_S = 1.0
TARGET_LIST_S = 0.100


@dataclass(frozen=True)
class Sizes:
    points: int = 1_000_000  # Atelier series logged one call at a time, then read back
    mlflow_batch_points: int = 50_000  # MLflow log_batch anchor (and its read-back)
    mlflow_single_points: int = 300  # MLflow log_metric, one call at a time
    mlflow_batch_size: int = 1_000  # MLflow's maximum metrics per log_batch
    atelier_runs: int = 2_000  # runs listed by Run.list
    mlflow_runs: int = 1_000  # runs listed by search_runs (its max_results is 1000)
    points_per_run: int = 3  # accuracy and loss points logged by each listed run
    read_repeats: int = 3
    atelier_list_repeats: int = 5
    mlflow_list_repeats: int = 3

    def quick(self) -> Sizes:
        return Sizes(
            points=self.points // 10,
            mlflow_batch_points=self.mlflow_batch_points // 10,
            mlflow_single_points=self.mlflow_single_points // 10,
            mlflow_batch_size=self.mlflow_batch_size,
            atelier_runs=self.atelier_runs // 10,
            mlflow_runs=self.mlflow_runs // 10,
            points_per_run=self.points_per_run,
            read_repeats=self.read_repeats,
            atelier_list_repeats=self.atelier_list_repeats,
            mlflow_list_repeats=self.mlflow_list_repeats,
        )


# --- helpers -------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def best_of(repeats: int, action: Callable[[], T]) -> tuple[float, T, list[float]]:
    """The fastest of ``repeats`` timed calls, the last result and every time."""
    times: list[float] = []
    result: T | None = None
    for _ in range(repeats):
        result = None  # drop the previous result first, so each call starts from the same heap
        gc.collect()
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result, times


def series(count: int) -> list[float]:
    """A decreasing loss curve with a little noise (finite floats, built before timing)."""
    rng = random.Random(7)
    return [1.0 / (i + 1) + rng.random() * 1e-3 for i in range(count)]


@contextlib.contextmanager
def fresh_dir(label: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as name:
        yield Path(name)


def quiet_mlflow() -> None:
    for name in ("mlflow", "alembic", "sqlalchemy", "urllib3", "git"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)


# --- Atelier -------------------------------------------------------------------------


@contextlib.contextmanager
def atelier_experiment(home: Path) -> Iterator[Any]:
    """An experiment in a workspace kept under ``home``; its engine is closed afterwards."""
    os.environ["ATELIER_HOME"] = str(home)
    from atelier import Experiment, Workspace
    from atelier.client.registry import reset_backends

    try:
        ws = Workspace.create("bench", exist_ok=True, home=home)
        yield Experiment(ws, "e")
    finally:
        reset_backends()


def atelier_log_and_read(sizes: Sizes) -> dict[str, Any]:
    """Log ``sizes.points`` one ``run.log`` at a time until durable, then read them back."""
    n = sizes.points
    values = series(n)
    with fresh_dir("atelier-log") as home, atelier_experiment(home) as exp:
        # snapshot_directory outside git: no git subprocesses when the run starts
        run = exp.start_logging(snapshot_directory=home)
        gc.collect()
        start = time.perf_counter()
        for i, value in enumerate(values):
            run.log("loss", value, step=i)
        calls_done = time.perf_counter()
        run.flush()
        durable = time.perf_counter()
        say(f"  atelier: logged {n:,} points, {durable - start:.2f} s until durable")

        read_s, got, read_times = best_of(
            sizes.read_repeats, lambda: run.get_metrics("loss")["loss"]
        )
        if len(got) != n or got[0] != values[0] or got[-1] != values[-1]:
            raise RuntimeError(f"atelier read back {len(got):,} points, expected {n:,}")
        say(f"  atelier: read {n:,} points in {read_s:.3f} s (best of {sizes.read_repeats})")
        run.complete()
    return {
        "points": n,
        "calls_s": calls_done - start,
        "flush_s": durable - calls_done,
        "durable_s": durable - start,
        "calls_points_per_s": n / (calls_done - start),
        "durable_points_per_s": n / (durable - start),
        "read_s": read_s,
        "read_times_s": read_times,
    }


def atelier_list(sizes: Sizes) -> dict[str, Any]:
    """``Run.list`` ordered by accuracy over ``sizes.atelier_runs`` runs, with latest metrics."""
    from atelier import Run

    n = sizes.atelier_runs
    rng = random.Random(11)
    with fresh_dir("atelier-list") as home, atelier_experiment(home) as exp:
        setup_start = time.perf_counter()
        for _ in range(n):
            run = exp.start_logging(snapshot_directory=home)
            for step in range(sizes.points_per_run):
                run.log("accuracy", rng.random(), step=step)
                run.log("loss", rng.random(), step=step)
            run.complete()
        setup_s = time.perf_counter() - setup_start
        say(f"  atelier: created {n:,} runs in {setup_s:.1f} s (not timed)")

        def listing() -> tuple[list[Any], list[dict[str, float]]]:
            runs = Run.list(exp, order_by="accuracy desc")
            return runs, [r.latest_metrics for r in runs]

        list_s, (runs, latest), times = best_of(sizes.atelier_list_repeats, listing)
        accuracies = [m["accuracy"] for m in latest]
        if len(runs) != n or accuracies != sorted(accuracies, reverse=True):
            raise RuntimeError(f"atelier listed {len(runs):,} runs, not {n:,} in accuracy order")
        preloaded = all(r._record.latest_metrics is not None for r in runs)
        say(f"  atelier: listed {n:,} runs in {list_s * 1000:.1f} ms (best of {len(times)})")
    return {
        "runs": n,
        "setup_s": setup_s,
        "setup_ms_per_run": setup_s / n * 1000,
        "list_s": list_s,
        "list_times_s": times,
        "latest_metrics_loaded_by_list": preloaded,
    }


# --- MLflow --------------------------------------------------------------------------


@contextlib.contextmanager
def mlflow_client(home: Path) -> Iterator[tuple[Any, str]]:
    """A client on a fresh SQLite store, and the id of an experiment with a local artifact dir."""
    import mlflow
    from mlflow import MlflowClient

    quiet_mlflow()
    uri = f"sqlite:///{home / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    artifacts = home / "artifacts"
    artifacts.mkdir()
    experiment_id = client.create_experiment("e", artifact_location=artifacts.as_uri())
    yield client, experiment_id


def mlflow_log_batch_and_read(sizes: Sizes) -> dict[str, Any]:
    """``log_batch`` in batches of 1000, then ``get_metric_history`` of that series."""
    from mlflow.entities import Metric

    n, batch = sizes.mlflow_batch_points, sizes.mlflow_batch_size
    values = series(n)
    with fresh_dir("mlflow-batch") as home, mlflow_client(home) as (client, experiment_id):
        run_id = client.create_run(experiment_id).info.run_id
        gc.collect()
        start = time.perf_counter()
        for first in range(0, n, batch):
            stamp = int(time.time() * 1000)
            metrics = [
                Metric("loss", values[i], stamp, i) for i in range(first, min(first + batch, n))
            ]
            client.log_batch(run_id, metrics=metrics)
        log_s = time.perf_counter() - start
        say(f"  mlflow: log_batch {n:,} points in {log_s:.2f} s")

        read_s, history, read_times = best_of(
            sizes.read_repeats, lambda: client.get_metric_history(run_id, "loss")
        )
        if len(history) != n:
            raise RuntimeError(f"mlflow read back {len(history):,} points, expected {n:,}")
        say(f"  mlflow: get_metric_history {n:,} points in {read_s:.3f} s")
        client.set_terminated(run_id)
    return {
        "points": n,
        "batch_size": batch,
        "log_s": log_s,
        "points_per_s": n / log_s,
        "read_s": read_s,
        "read_times_s": read_times,
    }


def mlflow_log_metric(sizes: Sizes) -> dict[str, Any]:
    """``log_metric``, one synchronous call per point."""
    n = sizes.mlflow_single_points
    values = series(n)
    with fresh_dir("mlflow-single") as home, mlflow_client(home) as (client, experiment_id):
        run_id = client.create_run(experiment_id).info.run_id
        gc.collect()
        start = time.perf_counter()
        for i, value in enumerate(values):
            client.log_metric(run_id, "loss", value, step=i)
        log_s = time.perf_counter() - start
        say(f"  mlflow: log_metric {n:,} points in {log_s:.2f} s")
        client.set_terminated(run_id)
    return {"points": n, "log_s": log_s, "points_per_s": n / log_s}


def mlflow_list(sizes: Sizes) -> dict[str, Any]:
    """``search_runs`` ordered by accuracy over ``sizes.mlflow_runs`` runs (metrics included)."""
    from mlflow.entities import Metric

    n = sizes.mlflow_runs
    rng = random.Random(11)
    with fresh_dir("mlflow-list") as home, mlflow_client(home) as (client, experiment_id):
        setup_start = time.perf_counter()
        for _ in range(n):
            run_id = client.create_run(experiment_id).info.run_id
            stamp = int(time.time() * 1000)
            metrics = [
                Metric(name, rng.random(), stamp, step)
                for step in range(sizes.points_per_run)
                for name in ("accuracy", "loss")
            ]
            client.log_batch(run_id, metrics=metrics)
            client.set_terminated(run_id)
        setup_s = time.perf_counter() - setup_start
        say(f"  mlflow: created {n:,} runs in {setup_s:.1f} s (not timed)")

        def listing() -> tuple[list[Any], list[dict[str, float]]]:
            runs = client.search_runs(
                [experiment_id], order_by=["metrics.accuracy DESC"], max_results=n
            )
            return runs, [r.data.metrics for r in runs]

        list_s, (runs, latest), times = best_of(sizes.mlflow_list_repeats, listing)
        accuracies = [m["accuracy"] for m in latest]
        if len(runs) != n or accuracies != sorted(accuracies, reverse=True):
            raise RuntimeError(f"mlflow listed {len(runs):,} runs, not {n:,} in accuracy order")
        say(f"  mlflow: search_runs {n:,} runs in {list_s * 1000:.1f} ms (best of {len(times)})")
    return {
        "runs": n,
        "setup_s": setup_s,
        "setup_ms_per_run": setup_s / n * 1000,
        "list_s": list_s,
        "list_times_s": times,
    }


# --- report --------------------------------------------------------------------------


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def rows_for(results: dict[str, Any]) -> list[dict[str, str]]:
    a_log, a_list = results["atelier"]["log_read"], results["atelier"]["list"]
    m_batch, m_single = results["mlflow"]["log_batch_read"], results["mlflow"]["log_metric"]
    m_list = results["mlflow"]["list"]
    n = a_log["points"]
    m_read_scaled = m_batch["read_s"] * n / m_batch["points"]
    a_per_run = a_list["list_s"] / a_list["runs"]
    m_per_run = m_list["list_s"] / m_list["runs"]
    return [
        {
            "measurement": f"log {n:,} pts, run.log calls only",
            "atelier": f"{a_log['calls_points_per_s']:,.0f} pts/s",
            "mlflow": "",
            "ratio": "",
            "target": "",
            "result": "",
        },
        {
            "measurement": f"log {n:,} pts until durable",
            "atelier": f"{a_log['durable_points_per_s']:,.0f} pts/s",
            "mlflow": (
                f"log_batch({m_batch['batch_size']:,}): "
                f"{m_batch['points_per_s']:,.0f} pts/s ({m_batch['points']:,} pts)"
            ),
            "ratio": f"{a_log['durable_points_per_s'] / m_batch['points_per_s']:,.1f}x",
            "target": f">= {TARGET_LOG_POINTS_PER_S:,.0f} pts/s",
            "result": verdict(a_log["durable_points_per_s"] >= TARGET_LOG_POINTS_PER_S),
        },
        {
            "measurement": "  same, against one call per point",
            "atelier": f"{a_log['durable_points_per_s']:,.0f} pts/s",
            "mlflow": (
                f"log_metric: {m_single['points_per_s']:,.0f} pts/s ({m_single['points']:,} pts)"
            ),
            "ratio": f"{a_log['durable_points_per_s'] / m_single['points_per_s']:,.0f}x",
            "target": "",
            "result": "",
        },
        {
            "measurement": f"read a {n:,}-point series",
            "atelier": f"{a_log['read_s']:.3f} s",
            "mlflow": (
                f"{m_batch['read_s']:.3f} s for {m_batch['points']:,} pts "
                f"= {m_read_scaled:.2f} s per {n:,}"
            ),
            "ratio": f"{m_read_scaled / a_log['read_s']:,.1f}x",
            "target": f"< {TARGET_READ_S:g} s",
            "result": verdict(a_log["read_s"] < TARGET_READ_S),
        },
        {
            "measurement": "list runs by accuracy + latest metrics",
            "atelier": f"{a_list['list_s'] * 1000:,.1f} ms ({a_list['runs']:,} runs)",
            "mlflow": f"{m_list['list_s'] * 1000:,.1f} ms ({m_list['runs']:,} runs)",
            "ratio": f"{m_per_run / a_per_run:,.1f}x per run",
            "target": f"< {TARGET_LIST_S * 1000:g} ms",
            "result": verdict(a_list["list_s"] < TARGET_LIST_S),
        },
    ]


def print_table(rows: list[dict[str, str]], quick: bool) -> None:
    headers = {
        "measurement": "measurement",
        "atelier": "atelier",
        "mlflow": "mlflow (anchor)",
        "ratio": "ratio (>1 = atelier ahead)",
        "target": "target (atelier)",
        "result": "result",
    }
    widths = {k: max(len(headers[k]), *(len(r[k]) for r in rows)) for k in headers}
    line = " | ".join(headers[k].ljust(widths[k]) for k in headers)
    print()
    print(line)
    print("-+-".join("-" * widths[k] for k in headers))
    for row in rows:
        print(" | ".join(row[k].ljust(widths[k]) for k in headers))
    print()
    if quick:
        print("--quick: sizes are 10x smaller, so PASS/FAIL against full-size targets is only")
        print("indicative; run without --quick for the real figures.")


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "atelier": version("atelier-ml"),
        "mlflow": version("mlflow"),
        "sqlalchemy": version("sqlalchemy"),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes (smoke run)")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the JSON (default bench/results/tracking.json, "
        "or tracking-quick.json with --quick)",
    )
    args = parser.parse_args(argv)
    sizes = Sizes().quick() if args.quick else Sizes()
    output = args.output or RESULTS_DIR / ("tracking-quick.json" if args.quick else "tracking.json")

    env = environment()
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        say(
            f"note: load average {load_before[0]:.2f} on {os.cpu_count()} cpus; "
            "figures may be noisy"
        )
    say(f"sizes: {asdict(sizes)}")
    total_start = time.perf_counter()
    say("1+2. logging and reading a series")
    atelier_log_read = atelier_log_and_read(sizes)
    mlflow_batch_read = mlflow_log_batch_and_read(sizes)
    mlflow_single = mlflow_log_metric(sizes)
    say("3. listing runs by a metric")
    atelier_listing = atelier_list(sizes)
    mlflow_listing = mlflow_list(sizes)

    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "sizes": asdict(sizes),
        "environment": env,
        "atelier": {"log_read": atelier_log_read, "list": atelier_listing},
        "mlflow": {
            "log_batch_read": mlflow_batch_read,
            "log_metric": mlflow_single,
            "list": mlflow_listing,
        },
    }
    rows = rows_for(results)
    results["table"] = rows
    results["all_targets_met"] = all(r["result"] != "FAIL" for r in rows)
    results["environment"]["loadavg_before"] = load_before
    results["environment"]["loadavg_after"] = os.getloadavg()
    results["environment"]["total_s"] = time.perf_counter() - total_start
    print_table(rows, args.quick)
    print(
        f"setup (not timed): atelier {atelier_listing['setup_ms_per_run']:.1f} ms/run "
        f"(start_logging + {2 * sizes.points_per_run} run.log + complete), "
        f"mlflow {mlflow_listing['setup_ms_per_run']:.1f} ms/run "
        f"(create_run + log_batch + set_terminated)"
    )
    print(
        f"atelier flush after the last run.log: {atelier_log_read['flush_s']:.3f} s; "
        f"latest metrics loaded by Run.list: {atelier_listing['latest_metrics_loaded_by_list']}"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
