"""A team's load on one server: the Atelier server on PostgreSQL with two workers under 16
and 64 concurrent clients, beside ``mlflow server`` (the anchor) on the same PostgreSQL.

    .venv/bin/python bench/bench_scale.py                  # 16 and 64 clients, 60 s each
    .venv/bin/python bench/bench_scale.py --seconds 10     # a shorter run
    .venv/bin/python bench/bench_scale.py --clients 16 --json

Each level runs its clients as threads spread over a few processes (the machine's cores
are shared by clients, servers and PostgreSQL), each client looping on one kind of work:

- SDK writers (3/8): the SDK's HTTP backend creates a run, logs 20 batches of 10 ``loss``
  points, completes it, and starts the next one, all in one experiment that grows;
- SDK readers (2/8): the 10 best runs of that experiment by ``loss`` (the runs listing
  ordered by a metric), then one run;
- mlflow clients (3/8): ``MlflowClient`` creates a run, logs 20 ``log_batch`` of 10 points,
  searches its experiment's runs every 5th batch, and ends the run.

Then the mlflow clients alone, as many, against ``mlflow server`` (2 workers, its own
PostgreSQL database): the anchor of the mlflow-client part. Measured for each level:
operations/s, p50/p95/p99 per kind of operation, errors (target 0), integrity (every point
a server acknowledged is read back: target 0 lost) and the PostgreSQL sessions each server
opened (``pg_stat_database.sessions``). Results go to ``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from servers import POSTGRES_ADMIN_URL, atelier_server, mlflow_server, postgres_database, say

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
WORKSPACE = "scale"
EXPERIMENT = "writers"
BATCHES_PER_RUN = 20
POINTS_PER_BATCH = 10
#: clients per process at most: the rest of the concurrency comes from more processes
THREADS_PER_PROCESS = 8


@dataclass
class Tally:
    """What one client process saw: latencies by kind, errors, and acknowledged points."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    acknowledged: dict[str, list[int]] = field(default_factory=dict)  # run id -> steps
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # every failure counts, whatever it is
            with self.lock:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        with self.lock:
            self.latencies.setdefault(kind, []).append(time.perf_counter() - started)
        return result

    def acked(self, run_id: str, steps: list[int]) -> None:
        with self.lock:
            self.acknowledged.setdefault(run_id, []).extend(steps)

    def plain(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies,
            "errors": self.errors,
            "examples": self.examples,
            "acknowledged": self.acknowledged,
        }


def _batch(run_index: int, batch: int) -> tuple[list[int], list[float], list[int]]:
    first = batch * POINTS_PER_BATCH
    steps = list(range(first, first + POINTS_PER_BATCH))
    values = [1.0 / (1 + step + run_index) for step in steps]
    return steps, values, [int(time.time() * 1000)] * POINTS_PER_BATCH


def sdk_writer(url: str, token: str, deadline: float, tally: Tally) -> None:
    from atelier.client.http.backend import HttpBackend
    from atelier.core.status import RunStatus

    backend = HttpBackend(url, token)
    runs = 0
    while time.monotonic() < deadline:
        run = tally.timed("sdk.create_run", lambda: backend.runs.create(WORKSPACE, EXPERIMENT))
        if run is None:
            continue
        runs += 1
        for batch in range(BATCHES_PER_RUN):
            steps, values, stamps = _batch(runs, batch)
            series = {"loss": (steps, values, stamps)}
            call = lambda r=run, s=series: backend.metrics.log_scalars(WORKSPACE, r.run_id, s)  # noqa: E731
            if tally.timed("sdk.log_batch", call) is not None:
                tally.acked(f"sdk:{run.run_id}", steps)
            if time.monotonic() >= deadline:
                break
        complete = lambda r=run: backend.runs.transition(WORKSPACE, r.run_id, RunStatus.COMPLETED)  # noqa: E731
        tally.timed("sdk.complete_run", complete)
    backend.close()


def sdk_reader(url: str, token: str, deadline: float, tally: Tally) -> None:
    from atelier.client.http.backend import HttpBackend
    from atelier.core.records import RunQuery

    backend = HttpBackend(url, token)
    best = RunQuery(order_by_metric="loss", descending=False, limit=10)
    while time.monotonic() < deadline:
        top = tally.timed(
            "sdk.list_by_metric", lambda: backend.runs.list(WORKSPACE, EXPERIMENT, best)
        )
        if top:
            tally.timed("sdk.get_run", lambda t=top: backend.runs.get(WORKSPACE, t[-1].run_id))
    backend.close()


def mlflow_writer(uri: str, deadline: float, tally: Tally) -> None:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mlflow-writers")
    experiment_id = experiment.experiment_id if experiment else "0"
    runs = 0
    while time.monotonic() < deadline:
        run = tally.timed("mlflow.create_run", lambda: client.create_run(experiment_id))
        if run is None:
            continue
        runs += 1
        run_id = run.info.run_id
        for batch in range(BATCHES_PER_RUN):
            steps, values, stamps = _batch(runs, batch)
            points = [
                Metric("loss", v, t, s) for s, v, t in zip(steps, values, stamps, strict=True)
            ]
            call = lambda r=run_id, p=points: client.log_batch(r, metrics=p)  # noqa: E731
            if tally.timed("mlflow.log_batch", call) is not None:
                tally.acked(f"mlflow:{run_id}", steps)
            if batch % 5 == 4:
                search = lambda: client.search_runs([experiment_id], max_results=10)  # noqa: E731
                tally.timed("mlflow.search_runs", search)
            if time.monotonic() >= deadline:
                break
        tally.timed("mlflow.end_run", lambda r=run_id: client.set_terminated(r))


def client_process(plan: dict[str, Any], ready: Any, queue: Any) -> None:
    """One process: a thread per client of ``plan["kinds"]`` for ``plan["seconds"]``,
    counted from when every process has imported its clients."""
    if plan.get("token"):
        os.environ["MLFLOW_TRACKING_TOKEN"] = plan["token"]
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.tracking  # noqa: F401  (imports are not measured)

    import atelier.client.http.backend  # noqa: F401

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no "View run ..." per run

    tally = Tally()
    ready.wait()
    deadline = time.monotonic() + plan["seconds"]
    threads = []
    for kind in plan["kinds"]:
        if kind == "sdk_writer":
            args: tuple[Any, ...] = (plan["url"], plan["token"], deadline, tally)
            target: Callable[..., None] = sdk_writer
        elif kind == "sdk_reader":
            args, target = (plan["url"], plan["token"], deadline, tally), sdk_reader
        else:
            args, target = (plan["mlflow_uri"], deadline, tally), mlflow_writer
        threads.append(threading.Thread(target=target, args=args))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(tally.plain())


def mix(clients: int, mlflow_only: bool) -> list[str]:
    """The kinds of ``clients`` clients: 3/8 SDK writers, 2/8 readers, 3/8 mlflow clients
    (only the mlflow clients, as many, when ``mlflow_only``)."""
    writers, readers = clients * 3 // 8, clients * 2 // 8
    mlflow = clients - writers - readers
    if mlflow_only:
        return ["mlflow"] * mlflow
    return ["sdk_writer"] * writers + ["sdk_reader"] * readers + ["mlflow"] * mlflow


def drive(kinds: list[str], seconds: float, base: dict[str, Any]) -> dict[str, Any]:
    """Run ``kinds`` over a few processes for ``seconds``; the merged tallies."""
    processes = max(1, -(-len(kinds) // THREADS_PER_PROCESS))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    ready = context.Barrier(processes)
    workers = []
    for index in range(processes):
        plan = {**base, "kinds": kinds[index::processes], "seconds": seconds}
        workers.append(context.Process(target=client_process, args=(plan, ready, queue)))
    for worker in workers:
        worker.start()
    parts = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    merged: dict[str, Any] = {"latencies": {}, "errors": {}, "examples": [], "acknowledged": {}}
    for part in parts:
        for key in ("latencies", "acknowledged"):
            for name, values in part[key].items():
                merged[key].setdefault(name, []).extend(values)
        for name, count in part["errors"].items():
            merged["errors"][name] = merged["errors"].get(name, 0) + count
        merged["examples"] += part["examples"][: 5 - len(merged["examples"])]
    return merged


def _percentile(ordered: list[float], fraction: float) -> float:
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(merged: dict[str, Any], seconds: float) -> dict[str, Any]:
    kinds = {}
    for kind, values in sorted(merged["latencies"].items()):
        ordered = sorted(values)
        kinds[kind] = {
            "ops": len(ordered),
            "ops_per_s": round(len(ordered) / seconds, 1),
            "p50_ms": round(_percentile(ordered, 0.50), 1),
            "p95_ms": round(_percentile(ordered, 0.95), 1),
            "p99_ms": round(_percentile(ordered, 0.99), 1),
        }
    return {
        "kinds": kinds,
        "ops_per_s": round(sum(k["ops"] for k in kinds.values()) / seconds, 1),
        "errors": sum(merged["errors"].values()),
        "errors_by_kind": merged["errors"],
        "error_examples": merged["examples"],
    }


def lost_points(url: str, token: str, mlflow_uri: str, acknowledged: dict[str, list[int]]) -> int:
    """Acknowledged points that cannot be read back (SDK runs over REST, mlflow runs with
    the mlflow client)."""
    from mlflow.tracking import MlflowClient

    lost = 0
    client = MlflowClient(tracking_uri=mlflow_uri)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as http:
        for key, steps in acknowledged.items():
            kind, run_id = key.split(":", 1)
            if kind == "sdk":
                path = f"/workspaces/{WORKSPACE}/runs/{run_id}/metrics/history"
                stored = set(http.get(path, params={"name": "loss"}).json()["steps"])
            else:
                stored = {m.step for m in client.get_metric_history(run_id, "loss")}
            lost += len(set(steps) - stored)
    return lost


def sessions_opened(database_url: str) -> int:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        found = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return int(found[0]) if found else 0


def prepare(url: str, token: str) -> None:
    """The workspace, a first run with ``loss`` (readers order by it), the mlflow experiment."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        http.post("/api/v1/workspaces", json={"name": WORKSPACE}).raise_for_status()
        runs = f"/api/v1/workspaces/{WORKSPACE}/experiments/{EXPERIMENT}/runs"
        run = http.post(runs, json={}).json()["run_id"]
        body = {"series": {"loss": {"steps": [0], "values": [1.0], "timestamps": [0]}}}
        http.post(f"/api/v1/workspaces/{WORKSPACE}/runs/{run}/metrics/scalars", json=body)


def level(folder: Path, clients: int, seconds: float) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    result: dict[str, Any] = {"clients": clients}
    say(f"{clients} clients: the Atelier server on PostgreSQL, 2 workers ...")
    home = folder / f"atelier-{clients}"
    with (
        postgres_database("bench_scale") as database_url,
        atelier_server(home, database_url, workers=2) as (url, token),
    ):
        prepare(url, token)
        uri = f"{url}/mlflow/{WORKSPACE}"
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        MlflowClient(tracking_uri=uri).create_experiment("mlflow-writers")
        before = sessions_opened(database_url)
        base = {"url": url, "token": token, "mlflow_uri": uri}
        merged = drive(mix(clients, mlflow_only=False), seconds, base)
        opened = sessions_opened(database_url) - before
        result["atelier"] = summary(merged, seconds)
        result["atelier"]["postgres_sessions_opened"] = opened
        result["atelier"]["lost_points"] = lost_points(url, token, uri, merged["acknowledged"])
        result["atelier"]["acknowledged_points"] = sum(map(len, merged["acknowledged"].values()))
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    say(f"{clients} clients: mlflow server on PostgreSQL, 2 workers (mlflow clients only) ...")
    with postgres_database("bench_scale_mlflow") as database_url:
        backend = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        with mlflow_server(folder / f"mlflow-{clients}", backend, workers=2) as uri:
            MlflowClient(tracking_uri=uri).create_experiment("mlflow-writers")
            before = sessions_opened(database_url)
            merged = drive(mix(clients, mlflow_only=True), seconds, {"mlflow_uri": uri})
            opened = sessions_opened(database_url) - before
            result["mlflow_server"] = summary(merged, seconds)
            result["mlflow_server"]["postgres_sessions_opened"] = opened
            result["mlflow_server"]["lost_points"] = lost_points(
                "", "", uri, merged["acknowledged"]
            )
    return result


def _mlflow_part(side: dict[str, Any]) -> tuple[float, float]:
    """ops/s and the worst p99 of the mlflow-client operations of one side."""
    kinds = {k: v for k, v in side["kinds"].items() if k.startswith("mlflow.")}
    ops = sum(v["ops_per_s"] for v in kinds.values())
    return ops, max((v["p99_ms"] for v in kinds.values()), default=float("nan"))


def report(results: list[dict[str, Any]]) -> None:
    for result in results:
        ours, theirs = result["atelier"], result["mlflow_server"]
        print(f"\n{result['clients']} clients  (load average {result['load']})")
        print(f"{'operation':24} {'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for name, side in (("", ours), ("mlflow server: ", theirs)):
            for kind, row in side["kinds"].items():
                print(
                    f"{(name[:7] + kind):24} {row['ops_per_s']:8.1f} {row['p50_ms']:8.1f} "
                    f"{row['p95_ms']:8.1f} {row['p99_ms']:8.1f}"
                )
        for label, side in (("Atelier", ours), ("mlflow server", theirs)):
            print(
                f"{label}: {side['ops_per_s']} ops/s, errors {side['errors']} (target 0), "
                f"lost points {side['lost_points']} (target 0), PostgreSQL sessions opened "
                f"{side['postgres_sessions_opened']}"
            )
        ops, p99 = _mlflow_part(ours)
        anchor_ops, anchor_p99 = _mlflow_part(theirs)
        print(
            f"mlflow-client part: {ops / anchor_ops:.2f}x mlflow server's ops/s, "
            f"p99 {p99:.0f} ms vs {anchor_p99:.0f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        for clients in args.clients:
            result = level(Path(name), clients, args.seconds)
            result["load"] = [round(x, 2) for x in os.getloadavg()]
            results.append(result)
    output = {"seconds": args.seconds, "levels": results, "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(output))
    else:
        report(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(output, indent=2) + "\n")
    failed = any(r[s]["errors"] or r[s]["lost_points"] for r in results for s in ("atelier",))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
