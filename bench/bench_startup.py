"""Start-up cost of the processes that import Atelier, against bare Python and MLflow.

Every run's script, every ``atelier`` command, each supervisor and server worker is a new
Python process that imports Atelier: what that import loads is paid each time.

Measured, each the median of ``--repeats`` fresh processes (CPU = user + sys of the child):
- ``python -c "import atelier"``;
- the script of a submitted run on ``local`` compute doing
  ``from atelier import Run; run = Run.get_context(); run.log("a", 1); run.flush()``
  (it reports its own CPU and its age at the end, so the supervisor is not counted);
- ``atelier --help`` and ``atelier workspace list`` (a real command: it opens the store).
Anchors in the same run: ``python -c pass`` and ``python -c "import mlflow"`` (when the
bench extra is installed). Ratios are Atelier / anchor.

    .venv/bin/python bench/bench_startup.py [--repeats 10]
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

#: the run's script: its own CPU and wall age (from /proc's start time) once it has logged
SCRIPT = """\
import os, time
from atelier import Run
run = Run.get_context()
run.log("a", 1)
run.flush()
times = os.times()
ticks = os.sysconf("SC_CLK_TCK")
with open("/proc/self/stat") as stat:
    started = int(stat.read().rsplit(")", 1)[1].split()[19]) / ticks
with open("/proc/uptime") as uptime:
    age = float(uptime.read().split()[0]) - started
print("STARTUP", times.user + times.system, age, flush=True)
"""


def _child(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process run to its end."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    error = proc.stderr.read()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {error.decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def _median_of(argv: list[str], env: dict[str, str], repeats: int) -> dict[str, float]:
    samples = [_child(argv, env) for _ in range(repeats)]
    return {
        "cpu_s": statistics.median(cpu for cpu, _ in samples),
        "wall_s": statistics.median(wall for _, wall in samples),
    }


def _submitted_script(repeats: int) -> dict[str, float]:
    from atelier import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench-startup", exist_ok=True)
    exp = Experiment(ws, "startup")
    source = Path(tempfile.mkdtemp())
    (source / "t.py").write_text(SCRIPT)
    samples = []
    for index in range(repeats + 1):  # the first submit also starts the warm agent
        run = exp.submit(ScriptRunConfig(source_directory=source, script="t.py"))
        run.wait_for_completion(raise_on_error=True)
        log = ws._backend.runs.read_log(ws.name, run.id, 0)[0].decode()
        line = next(line for line in log.splitlines() if line.startswith("STARTUP"))
        _, cpu, wall = line.split()
        if index:
            samples.append((float(cpu), float(wall)))
    return {
        "cpu_s": statistics.median(cpu for cpu, _ in samples),
        "wall_s": statistics.median(wall for _, wall in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-startup-")
    os.environ["ATELIER_HOME"] = home
    for name in ("ATELIER_WORKSPACE", "ATELIER_DATABASE_URL", "ATELIER_RUN_ID"):
        os.environ.pop(name, None)
    env = dict(os.environ)
    python = sys.executable
    cli = [python, "-m", "atelier.cli.main"]
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    results["python -c pass"] = _median_of([python, "-c", "pass"], env, args.repeats)
    try:
        import mlflow  # noqa: F401  # only to see whether the anchor is installed
    except ImportError:
        pass
    else:
        results["import mlflow"] = _median_of([python, "-c", "import mlflow"], env, args.repeats)
    results["import atelier"] = _median_of([python, "-c", "import atelier"], env, args.repeats)
    results["run script"] = _submitted_script(args.repeats)
    results["atelier --help"] = _median_of([*cli, "--help"], env, args.repeats)
    results["atelier workspace list"] = _median_of([*cli, "workspace", "list"], env, args.repeats)
    results["load_after"] = os.getloadavg()
    anchors = [name for name in ("python -c pass", "import mlflow") if name in results]
    print(f"{'':26}{'CPU s':>8}{'wall s':>8}" + "".join(f"{'/ ' + a:>20}" for a in anchors))
    for name, row in results.items():
        if not isinstance(row, dict):
            continue
        ratios = "".join(f"{row['cpu_s'] / results[a]['cpu_s']:>19.2f}x" for a in anchors)
        print(f"{name:26}{row['cpu_s']:>8.3f}{row['wall_s']:>8.3f}{ratios}")
    print("load average before/after:", results["load_before"], results["load_after"])
    out = Path(__file__).with_name("results") / "startup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
