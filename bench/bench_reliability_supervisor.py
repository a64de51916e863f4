"""Reliability: a supervisor killed with SIGKILL mid-run, and nobody polling.

For an embedded home (the warm agent's reaper) and for a server (its reaper; the client
has no agent), each repeat submits a script that sleeps and leaves a child process, waits
until it runs, SIGKILLs its supervisor, then only reads the run's status. It reports the
time from the kill until the run is Failed with ``SupervisorLost``, the time until the
script and its child are gone, and any process left behind (an orphan).

Anchor, from the same rules: ``ATELIER_HEARTBEAT_TIMEOUT`` (15 s), the time after which a
silent supervisor is lost wherever it runs. Target: Failed within 30 s, no orphan.
Results go to ``bench/results/reliability_supervisor.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# a sibling script: run as a script, this folder is on sys.path
from bench_server import RESULTS_DIR, atelier_server, say

TARGET_SECONDS = 30.0
ANCHOR_SECONDS = 15.0
SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open({marker!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _until(done: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until ``done()``, or None if it never was within ``seconds``."""
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > seconds:
            return None
        time.sleep(0.05)
    return time.perf_counter() - start


def _one(
    folder: Path,
    submit: Callable[[Path], Any],
    record: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    marker = folder / "pids.txt"
    source = folder / "src"
    source.mkdir(parents=True)
    (source / "train.py").write_text(SLEEPER.format(marker=str(marker)))
    run = submit(source)
    _until(lambda: marker.exists() and " " in marker.read_text(), 120)
    _until(lambda: "script_pgid" in (record(run).get("supervisor") or {}), 10)
    pids = [int(pid) for pid in marker.read_text().split()]
    os.kill(int(record(run)["supervisor"]["pid"]), signal.SIGKILL)
    failed_s = _until(lambda: record(run)["status"] == "Failed", 120)
    gone_s = _until(lambda: not any(map(_alive, pids)), 30)
    orphans = [pid for pid in pids if _alive(pid)]
    for pid in orphans:  # leave the machine clean whatever the outcome
        os.kill(pid, signal.SIGKILL)
    code = (record(run).get("error") or {}).get("code")
    return {"failed_s": failed_s, "gone_s": gone_s, "orphans": orphans, "error_code": code}


def embedded(repeats: int) -> list[dict[str, Any]]:
    from atelier import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench-reliability", exist_ok=True)
    experiment = Experiment(ws, "supervisor-killed")
    warm = Path(tempfile.mkdtemp())
    (warm / "t.py").write_text("print('warm')\n")
    experiment.submit(ScriptRunConfig(source_directory=warm, script="t.py")).wait_for_completion()
    time.sleep(1)  # the agent the first submit started is answering by now

    def submit(source: Path) -> Any:
        return experiment.submit(ScriptRunConfig(source_directory=source, script="train.py"))

    def record(run: Any) -> dict[str, Any]:
        found = run._refresh()
        return {"status": found.status.value, "supervisor": found.supervisor, "error": found.error}

    return [_one(Path(tempfile.mkdtemp()), submit, record) for _ in range(repeats)]


def served(repeats: int, folder: Path) -> list[dict[str, Any]]:
    from atelier import Experiment, ScriptRunConfig, Workspace
    from atelier.client.registry import reset_backends

    with atelier_server(folder) as (url, token):
        os.environ["ATELIER_AGENT"] = "0"  # nobody on the client's side looks
        os.environ["ATELIER_HOME"] = str(folder / "client")
        reset_backends()
        ws = Workspace.create("bench-reliability", url=url, token=token, exist_ok=True)
        experiment = Experiment(ws, "supervisor-killed")
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})

        def submit(source: Path) -> Any:
            return experiment.submit(ScriptRunConfig(source_directory=source, script="train.py"))

        def record(run: Any) -> dict[str, Any]:
            found: dict[str, Any] = client.get(f"/api/v1/workspaces/{ws.name}/runs/{run.id}").json()
            return found

        try:
            return [_one(Path(tempfile.mkdtemp()), submit, record) for _ in range(repeats)]
        finally:
            client.close()
            reset_backends()


def _summary(name: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [r["failed_s"] for r in results if r["failed_s"] is not None]
    worst = max(failed) if len(failed) == len(results) else None
    orphans = sum(len(r["orphans"]) for r in results)
    lost = all(r["error_code"] == "SupervisorLost" for r in results)
    if worst is None:
        say(f"{name}: a run was never Failed; {orphans} orphan process(es)")
    else:
        say(
            f"{name}: Failed after at most {worst:.1f} s (target {TARGET_SECONDS:g} s, "
            f"{TARGET_SECONDS / worst:.1f}x inside it; anchor: the {ANCHOR_SECONDS:g} s "
            f"heartbeat timeout, ratio {ANCHOR_SECONDS / worst:.2f}); SupervisorLost: {lost}; "
            f"orphans: {orphans}"
        )
    return {"runs": results, "worst_failed_s": worst, "orphans": orphans, "supervisor_lost": lost}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-server", action="store_true", help="only the embedded home")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="atelier-reliability-"))
    os.environ["ATELIER_HOME"] = str(folder / "embedded")
    os.environ.pop("ATELIER_DATABASE_URL", None)
    report = {"embedded": _summary("embedded (agent)", embedded(args.repeats))}
    if not args.no_server:
        report["server"] = _summary("server", served(args.repeats, folder / "server"))
    RESULTS_DIR.mkdir(exist_ok=True)
    output = RESULTS_DIR / "reliability_supervisor.json"
    output.write_text(json.dumps(report, indent=2))
    say(f"results in {output}")
    ok = all(
        part["worst_failed_s"] is not None
        and part["worst_failed_s"] <= TARGET_SECONDS
        and part["orphans"] == 0
        for part in report.values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
