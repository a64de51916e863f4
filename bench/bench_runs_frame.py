"""Runs as a DataFrame: ``atelier.search_runs`` against ``mlflow.search_runs`` (the anchor)
on the same 10,000 runs, each store a SQLite file in a fresh temporary folder.

    .venv/bin/python bench/bench_runs_frame.py            # 10,000 runs
    .venv/bin/python bench/bench_runs_frame.py --runs 1000

Every run has 3 metrics (latest values), 2 params (Atelier properties) and 2 tags. The rows
are written straight into each store's own tables in one transaction (building them through
either client would take minutes and is not what is measured); each side then reads all runs
into a DataFrame, best of 3 after a warm-up. The ratio is MLflow's time over Atelier's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

METRICS = ("accuracy", "loss", "f1")
REPEATS = 3


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _values(index: int) -> dict[str, float]:
    return {name: ((index * 7919 + k * 104729) % 1000) / 1000 for k, name in enumerate(METRICS)}


def fill_atelier(folder: Path, runs: int) -> Any:
    """A home with workspace 'bench' and experiment 'frames' holding ``runs`` runs."""
    os.environ["ATELIER_HOME"] = str(folder / "atelier-home")
    from sqlalchemy import insert

    from atelier import Experiment, Workspace
    from atelier.client.registry import embedded_backend
    from atelier.store.models import MetricLatestRow, RunPropertyRow, RunRow, RunTagRow

    ws = Workspace.create("bench", exist_ok=True)
    experiment = Experiment(ws, "frames")
    now = int(time.time() * 1000)
    run_rows, latest, props, tags = [], [], [], []
    for index in range(runs):
        run_id = f"frames_{now // 1000}_{uuid.uuid4().hex[:8]}"
        run_rows.append(
            {
                "run_id": run_id,
                "experiment_id": experiment.id,
                "number": index + 1,
                "display_name": f"run-{index}",
                "status": "Completed",
                "created_ms": now + index,
                "started_ms": now + index,
                "ended_ms": now + index + 1000,
            }
        )
        for name, value in _values(index).items():
            latest.append(
                {
                    "run_id": run_id,
                    "name": name,
                    "value": value,
                    "step": 9,
                    "timestamp_ms": now,
                    "count": 10,
                    "min_value": value,
                    "max_value": value,
                }
            )
        props += [
            {"run_id": run_id, "key": "lr", "value": str(index % 5)},
            {"run_id": run_id, "key": "depth", "value": str(index % 7)},
        ]
        tags += [
            {"run_id": run_id, "key": "team", "value": "a" if index % 2 else "b"},
            {"run_id": run_id, "key": "seed", "value": str(index)},
        ]
    database = embedded_backend().db  # type: ignore[attr-defined]
    with database.session() as session:
        for model, rows in (
            (RunRow, run_rows),
            (MetricLatestRow, latest),
            (RunPropertyRow, props),
            (RunTagRow, tags),
        ):
            session.execute(insert(model), rows)
    return experiment


def fill_mlflow(folder: Path, runs: int) -> tuple[str, str]:
    """A SQLite MLflow tracking store with the same runs; (tracking uri, experiment id)."""
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    store = SqlAlchemyStore(uri, str(folder / "mlruns"))
    experiment_id = store.create_experiment("frames")
    now = int(time.time() * 1000)
    with store.ManagedSessionMaker() as session:
        for index in range(runs):
            run_id = uuid.uuid4().hex
            session.add(
                SqlRun(
                    run_uuid=run_id,
                    name=f"run-{index}",
                    experiment_id=int(experiment_id),
                    user_id="bench",
                    status="FINISHED",
                    start_time=now + index,
                    end_time=now + index + 1000,
                    source_type="LOCAL",
                    source_name="",
                    entry_point_name="",
                    lifecycle_stage="active",
                    artifact_uri=str(folder / "mlruns" / run_id),
                )
            )
            for name, value in _values(index).items():
                session.add(
                    SqlMetric(key=name, value=value, timestamp=now, step=9, run_uuid=run_id)
                )
                session.add(
                    SqlLatestMetric(key=name, value=value, timestamp=now, step=9, run_uuid=run_id)
                )
            session.add(SqlParam(key="lr", value=str(index % 5), run_uuid=run_id))
            session.add(SqlParam(key="depth", value=str(index % 7), run_uuid=run_id))
            session.add(SqlTag(key="team", value="a" if index % 2 else "b", run_uuid=run_id))
            session.add(SqlTag(key="seed", value=str(index), run_uuid=run_id))
            session.add(SqlTag(key="mlflow.runName", value=f"run-{index}", run_uuid=run_id))
    store.engine.dispose()
    return uri, experiment_id


def best_of(label: str, call: Any, expected: int) -> float:
    frame = call()  # warm-up: imports, connections, caches
    assert len(frame) == expected, (label, len(frame))
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        frame = call()
        times.append(time.perf_counter() - start)
        assert len(frame) == expected
    say(f"{label}: best {min(times):.3f}s of {REPEATS} ({len(frame.columns)} columns)")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-frames-") as tmp:
        folder = Path(tmp)
        say(f"writing {args.runs} runs into each store ...")
        experiment = fill_atelier(folder, args.runs)
        uri, experiment_id = fill_mlflow(folder, args.runs)

        import mlflow

        import atelier

        mlflow.set_tracking_uri(uri)
        ours = best_of("atelier.search_runs", lambda: atelier.search_runs(experiment), args.runs)
        theirs = best_of(
            "mlflow.search_runs",
            lambda: mlflow.search_runs(experiment_ids=[experiment_id], max_results=args.runs),
            args.runs,
        )
    print(
        f"search_runs on {args.runs} runs: atelier {ours:.3f}s, mlflow {theirs:.3f}s, "
        f"ratio {theirs / ours:.1f}x (mlflow time / atelier time)"
    )


if __name__ == "__main__":
    main()
