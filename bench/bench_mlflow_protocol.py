"""The mlflow client's own ``log_metric``, one call at a time: Atelier's MLflow endpoint
against ``mlflow server`` (the anchor), both started here on loopback in this run.

    .venv/bin/python bench/bench_mlflow_protocol.py            # 500 calls per server
    .venv/bin/python bench/bench_mlflow_protocol.py --quick    # 100 calls, a smoke run

Both servers run in their own process with one worker over SQLite in a fresh temporary
directory: Atelier as uvicorn serving ``mount_mlflow`` on a bare FastAPI app, MLflow as
``mlflow server --backend-store-uri sqlite:///... --workers 1``. The same client process
logs to each in turn (a warm-up of 20 calls first, not timed). Target: ratio >= 10x.
Results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from servers import free_port, say, stop

os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 10.0
WARMUP = 20


def serve_atelier(port: int, folder: Path) -> None:
    """The child process: Atelier's MLflow routes under uvicorn (one worker)."""
    import uvicorn
    from fastapi import FastAPI, Request

    from atelier.server.mlflow_api import mount_mlflow
    from atelier.storage.blobstore import BlobStore
    from atelier.store.database import Database

    async def allow_all(request: Request, workspace: str, access: str) -> None:
        return None

    app = FastAPI()
    app.state.database = Database(f"sqlite:///{folder / 'atelier.db'}")
    app.state.blobs = BlobStore(str(folder / "blobs"))
    app.state.mlflow_default_workspace = "bench"
    mount_mlflow(app, allow_all)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as exc:
            if getattr(exc, "code", None) is not None:
                return  # any HTTP answer means it listens
            time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not start within {timeout} s")


@contextlib.contextmanager
def running(command: list[str], probe: str) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(probe, process)
        yield
    finally:
        stop(process)


def log_one_at_a_time(tracking_uri: str, calls: int) -> float:
    """Points per second of ``mlflow.log_metric`` in one run, after a warm-up."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("bench-log-metric")
    with mlflow.start_run():
        for step in range(WARMUP):
            mlflow.log_metric("warmup", float(step), step=step)
        started = time.perf_counter()
        for step in range(calls):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        elapsed = time.perf_counter() - started
    return calls / elapsed


def measure(calls: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        folder = Path(tmp)
        port = free_port()
        (folder / "atelier").mkdir()
        command = [
            sys.executable,
            __file__,
            "--serve-atelier",
            str(port),
            str(folder / "atelier"),
        ]
        url = f"http://127.0.0.1:{port}"
        with running(command, f"{url}/api/3.0/mlflow/server-info"):
            say(f"atelier: {calls} log_metric calls ...")
            results["atelier_points_per_s"] = log_one_at_a_time(url, calls)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "mlflow-artifacts"),
        ]
        with running(command, f"{url}/health"):
            say(f"mlflow server: {calls} log_metric calls ...")
            results["mlflow_points_per_s"] = log_one_at_a_time(url, calls)
    results["ratio"] = results["atelier_points_per_s"] / results["mlflow_points_per_s"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 calls per server")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--serve-atelier", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_atelier:
        serve_atelier(int(args.serve_atelier[0]), Path(args.serve_atelier[1]))
        return
    calls = args.calls or (100 if args.quick else 500)
    load_before = os.getloadavg()
    results = measure(calls)
    load_after = os.getloadavg()
    print(f"mlflow client log_metric, one call at a time ({calls} calls, SQLite, loopback)")
    print(f"  Atelier MLflow endpoint: {results['atelier_points_per_s']:10.0f} points/s")
    print(f"  mlflow server (anchor):  {results['mlflow_points_per_s']:10.0f} points/s")
    verdict = "meets" if results["ratio"] >= TARGET_RATIO else "misses"
    print(f"  ratio: {results['ratio']:.1f}x ({verdict} the {TARGET_RATIO:.0f}x target)")
    print(f"  load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "benchmark": "mlflow_protocol_log_metric",
        "calls": calls,
        "when": stamp,
        "machine": platform.platform(),
        "mlflow": version("mlflow"),
        "load_before": load_before,
        "load_after": load_after,
        **results,
    }
    out = RESULTS_DIR / f"mlflow_protocol-{stamp}.json"
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    say(f"wrote {out}")


if __name__ == "__main__":
    main()
