"""Execution speed: submit -> the script's first output line, and 20 runs queued at once.

Anchors, measured in the same run on the same machine:
- the same trivial script started directly with ``python`` (the floor), and
- a Ray job submitted through Ray's Jobs API to a local head (when Ray is installed).
Targets: first line < 1 s median on cached ``local`` compute; 20 short runs with a
concurrency of 2 all finish, in order, with correct statuses.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FIRST_LINE = "first line\n"


def _script(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.py").write_text(body)
    return folder


def _atelier_first_line(repeats: int) -> dict[str, Any]:
    from atelier import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench-exec", exist_ok=True)
    exp = Experiment(ws, "first-line")
    source = _script(Path(tempfile.mkdtemp()), f"print({FIRST_LINE.strip()!r}, flush=True)\n")
    times = []
    for _ in range(repeats + 1):  # the first submit also starts the warm agent
        start = time.perf_counter()
        run = exp.submit(ScriptRunConfig(source_directory=source, script="t.py"))
        while b"first line" not in ws._backend.runs.read_log(ws.name, run.id, 0)[0]:
            time.sleep(0.005)
        times.append(time.perf_counter() - start)
        run.wait_for_completion()
    return {"cold_s": times[0], "warm_s": times[1:], "median_s": statistics.median(times[1:])}


def _direct_first_line(repeats: int) -> float:
    source = _script(Path(tempfile.mkdtemp()), f"print({FIRST_LINE.strip()!r}, flush=True)\n")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(source / "t.py")], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.wait()
        proc.stdout.close()
    return statistics.median(times)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ray_first_line(repeats: int) -> float | None:
    try:
        from ray.job_submission import JobStatus, JobSubmissionClient
    except ImportError:
        return None
    temp = tempfile.mkdtemp(prefix="rb-", dir="/tmp")
    port, dashboard = _free_port(), _free_port()
    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    subprocess.run(
        [
            ray,
            "start",
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(dashboard),
            "--include-dashboard",
            "true",
            "--num-cpus",
            "2",
            "--temp-dir",
            temp,
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
    )
    try:
        client = JobSubmissionClient(f"http://127.0.0.1:{dashboard}")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            job = client.submit_job(entrypoint="python -c \"print('first line', flush=True)\"")
            while "first line" not in client.get_job_logs(job):
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
            while client.get_job_status(job) not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                time.sleep(0.05)
        return statistics.median(times)
    finally:
        _stop_ray(temp)


def _stop_ray(temp: str) -> None:
    """Stop only the head this benchmark started: its processes hold its temp dir."""
    found = subprocess.run(["pgrep", "-f", temp], capture_output=True, text=True, check=False)
    for pid in found.stdout.split():
        subprocess.run(["kill", "-9", pid], check=False)
    shutil.rmtree(temp, ignore_errors=True)


def _queue_of_twenty(count: int, seconds: float) -> dict[str, Any]:
    from atelier import ComputeTarget, Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench-queue", exist_ok=True)
    ComputeTarget(ws, "local").update(max_concurrent_runs=2)
    source = _script(
        Path(tempfile.mkdtemp()), f"import time\nprint('run')\ntime.sleep({seconds})\n"
    )
    exp = Experiment(ws, "queue")
    start = time.perf_counter()
    runs = [
        exp.submit(ScriptRunConfig(source_directory=source, script="t.py")) for _ in range(count)
    ]
    for run in runs:
        run.wait_for_completion(raise_on_error=False)
    wall = time.perf_counter() - start
    records = [run._refresh() for run in runs]
    statuses = {r.status.value for r in records}
    starts = [r.started_ms or 0 for r in records]
    direct_start = time.perf_counter()
    for _ in range(count):
        subprocess.run([sys.executable, str(source / "t.py")], check=True, capture_output=True)
    direct = time.perf_counter() - direct_start
    # two slots free up together, so neighbours may start a few ms apart either way;
    # "in order" means no run starts noticeably before one submitted earlier
    inversion = max(
        (starts[i] - starts[j] for i in range(count) for j in range(i + 1, count)), default=0
    )
    return {
        "wall_s": wall,
        "direct_sequential_s": direct,
        "statuses": sorted(statuses),
        "max_inversion_ms": max(inversion, 0),
        "started_in_order": inversion <= 250,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray anchor")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    os.environ["ATELIER_HOME"] = tempfile.mkdtemp(prefix="atelier-bench-")
    atelier = _atelier_first_line(repeats)
    direct = _direct_first_line(repeats)
    ray = None if args.no_ray else _ray_first_line(max(3, repeats // 2))
    queue = _queue_of_twenty(20, 0.3)
    rows = [
        (
            "submit -> first line (median, warm)",
            f"{atelier['median_s']:.3f} s",
            f"python directly {direct:.3f} s",
            "< 1 s",
            "PASS" if atelier["median_s"] < 1 else "FAIL",
        ),
        ("  first submit (starts the agent)", f"{atelier['cold_s']:.3f} s", "", "", ""),
        (
            "  against Ray's Jobs API",
            f"{atelier['median_s']:.3f} s",
            f"{ray:.3f} s ({ray / atelier['median_s']:.1f}x slower)"
            if ray
            else "Ray not installed",
            "",
            "",
        ),
        (
            "20 runs of 0.3 s, concurrency 2",
            f"{queue['wall_s']:.2f} s",
            f"20 scripts one after another {queue['direct_sequential_s']:.2f} s",
            f"all Completed, in order (worst inversion {queue['max_inversion_ms']} ms)",
            "PASS" if queue["statuses"] == ["Completed"] and queue["started_in_order"] else "FAIL",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print(" | ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "execution.json").write_text(
        json.dumps({"atelier": atelier, "direct_s": direct, "ray_s": ray, "queue": queue}, indent=2)
    )


if __name__ == "__main__":
    main()
