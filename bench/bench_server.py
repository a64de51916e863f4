"""The workspace server against ``mlflow server`` (the anchor), both measured in this run.

    .venv/bin/python bench/bench_server.py            # full sizes
    .venv/bin/python bench/bench_server.py --quick    # smaller, a smoke run

Both servers run as subprocesses on loopback with one worker and a SQLite store in a
fresh temporary directory; each client keeps one connection alive. Measured:

- a keep-alive GET of one run (median and p90 of many): target < 2 ms;
- batched metric logging from a remote client, points/s: target >= 50,000
  (ours: 10,000-point batches; MLflow: ``runs/log-batch`` with its maximum of 1,000).

Setup (server start, creating the run) is not timed. Results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from servers import atelier_server, mlflow_server, say

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_GET_MS = 2.0
TARGET_POINTS_PER_S = 50_000.0


def timed_gets(client: httpx.Client, path: str, params: dict[str, str], count: int) -> list[float]:
    for _ in range(20):  # warm up the connection and the server's caches
        client.get(path, params=params).raise_for_status()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[int(len(ordered) * 0.9)],
    }


def bench_atelier(url: str, token: str, sizes: dict[str, int]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as client:
        client.post("/workspaces", json={"name": "bench"}).raise_for_status()
        run = client.post("/workspaces/bench/experiments/e/runs", json={}).json()["run_id"]
        path = f"/workspaces/bench/runs/{run}"
        gets = timed_gets(client, path, {}, sizes["gets"])
        batch, total = sizes["atelier_batch"], sizes["atelier_points"]
        bodies = []
        for offset in range(0, total, batch):
            steps = list(range(offset, offset + batch))
            values = [1.0 / (i + 1) for i in steps]
            series = {"steps": steps, "values": values, "timestamps": steps}
            bodies.append({"series": {"loss": series}})
        start = time.perf_counter()
        for body in bodies:
            client.post(f"{path}/metrics/scalars", json=body).raise_for_status()
        elapsed = time.perf_counter() - start
    return {"get": summary(gets), "points_per_s": total / elapsed, "points": total}


def bench_mlflow(url: str, sizes: dict[str, int]) -> dict[str, Any]:
    with httpx.Client(base_url=f"{url}/api/2.0/mlflow", timeout=120) as client:
        created = client.post("/experiments/create", json={"name": "bench"}).json()
        run = client.post(
            "/runs/create", json={"experiment_id": created["experiment_id"], "start_time": 0}
        ).json()["run"]["info"]["run_id"]
        gets = timed_gets(client, "/runs/get", {"run_id": run}, sizes["gets"])
        batch, total = 1000, sizes["mlflow_points"]
        bodies = []
        for offset in range(0, total, batch):
            metrics = [
                {"key": "loss", "value": 1.0 / (i + 1), "timestamp": i, "step": i}
                for i in range(offset, offset + batch)
            ]
            bodies.append({"run_id": run, "metrics": metrics})
        start = time.perf_counter()
        for body in bodies:
            client.post("/runs/log-batch", json=body).raise_for_status()
        elapsed = time.perf_counter() - start
    return {"get": summary(gets), "points_per_s": total / elapsed, "points": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    sizes = {
        "gets": 1000 // scale,
        "atelier_batch": 10_000,
        "atelier_points": 500_000 // scale,
        "mlflow_points": 30_000 // scale,
    }
    with tempfile.TemporaryDirectory(prefix="bench-server-") as name:
        folder = Path(name)
        say("starting the Atelier server ...")
        with atelier_server(folder) as (url, token):
            ours = bench_atelier(url, token, sizes)
        say("starting mlflow server ...")
        with mlflow_server(folder) as mlflow_url:
            theirs = bench_mlflow(mlflow_url, sizes)
    get_ratio = theirs["get"]["median_ms"] / ours["get"]["median_ms"]
    log_ratio = ours["points_per_s"] / theirs["points_per_s"]
    print(f"{'measure':44} {'Atelier':>12} {'MLflow':>12} {'ratio':>8} target")
    print(
        f"{'keep-alive GET of a run, median ms':44} {ours['get']['median_ms']:12.2f} "
        f"{theirs['get']['median_ms']:12.2f} {get_ratio:7.1f}x < {TARGET_GET_MS} ms"
    )
    print(
        f"{'batched remote metric logging, points/s':44} {ours['points_per_s']:12,.0f} "
        f"{theirs['points_per_s']:12,.0f} {log_ratio:7.1f}x >= {TARGET_POINTS_PER_S:,.0f}"
    )
    result = {
        "atelier": ours,
        "mlflow": theirs,
        "ratios": {"get_speedup": get_ratio, "logging_speedup": log_ratio},
        "sizes": sizes,
        "machine": {"python": platform.python_version(), "load": os.getloadavg()},
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    output = RESULTS_DIR / ("server-quick.json" if args.quick else "server.json")
    output.write_text(json.dumps(result, indent=2) + "\n")
    say(f"results in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
