"""The wall time of ``make test`` against an earlier commit's, on this machine, in one run.

Issue 12 asks for the whole suite to take at most 0.7x the time it took at the commit the
measure was set against (``--baseline``, default 5ff0632). Machines differ too much to
compare across them, so both are measured here, one after the other:

- the baseline is checked out in its own git worktree (``--worktree``, kept for later
  runs) with its own virtual environment (``make .venv/.installed-dev``; torch as this
  checkout has it);
- each round runs ``make test`` with ``CI=true`` (every variant, as CI does) and bytecode
  writing on, first in one tree and then in the other, alternating which goes first;
- leftovers of a previous suite (agents, servers, emulators) are stopped before each run.

It prints each run's wall time and pytest's summary, the medians and their ratio, and
writes ``bench/results/suite.json``. A run whose suite failed is reported as such: its
time counts, but its summary says what failed. The machine should be otherwise idle; a
round takes 20-30 minutes on 2 cores.

    .venv/bin/python bench/bench_suite.py [--rounds 2] [--baseline 5ff0632]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "suite.json"
DEFAULT_BASELINE = "5ff0632"
TARGET_RATIO = 0.7
#: processes a suite leaves running for a while (idle agents, session servers, emulators)
LEFTOVERS = (
    "atelier.execution.agent_process",
    "atelier.cli.main server start",
    "azurite-blob",
    "moto.server",
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_baseline(revision: str, worktree: Path) -> None:
    """The baseline checked out at ``worktree`` with its own installed venv."""
    if not (worktree / ".git").exists():
        say(f"checking out {revision} in {worktree}")
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), revision], cwd=ROOT, check=True
        )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=worktree, capture_output=True, text=True, check=True
    ).stdout.strip()
    wanted = subprocess.run(
        ["git", "rev-parse", revision], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if head != wanted:
        raise SystemExit(f"{worktree} holds {head[:10]}, not {revision}: remove it or pick another")
    if not (worktree / ".venv" / ".installed-dev").exists():
        say(f"installing the baseline's environment in {worktree / '.venv'}")
        subprocess.run(["make", ".venv/.installed-dev"], cwd=worktree, check=True)
    torch = _torch_version(ROOT / ".venv" / "bin" / "python")
    if torch and _torch_version(worktree / ".venv" / "bin" / "python") != torch:
        subprocess.run(
            [str(worktree / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet",
             f"torch=={torch}"],
            check=True,
        )  # fmt: skip


def _torch_version(python: Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def stop_leftovers() -> None:
    for pattern in LEFTOVERS:
        subprocess.run(["pkill", "-TERM", "-f", pattern], check=False, capture_output=True)
    time.sleep(2)


def run_suite(tree: Path, label: str) -> dict[str, Any]:
    """One ``make test`` in ``tree``: wall seconds, pytest's own seconds and its summary."""
    stop_leftovers()
    env = {**os.environ, "CI": "true"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    say(f"{label}: make test in {tree}")
    start = time.perf_counter()
    done = subprocess.run(
        ["make", "test"], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    summary = _summary(done.stdout)
    result = {
        "tree": label,
        "wall_seconds": round(wall, 1),
        "pytest_seconds": summary.get("seconds"),
        "counts": summary.get("counts", {}),
        "passed_suite": done.returncode == 0,
        "failures": re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE),
    }
    say(f"{label}: {wall:.0f} s, {summary.get('line', 'no summary')}")
    return result


#: pytest's last line: ``==== 3 failed, 1926 passed, 18 skipped in 723.76s (0:12:03) ====``
_SUMMARY = re.compile(r"^=+ ((.*) in ([0-9.]+)s.*?) =+$", re.MULTILINE)


def _summary(output: str) -> dict[str, Any]:
    found = _SUMMARY.findall(output)
    if not found:
        return {}
    line, counted, seconds = found[-1]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", counted)}
    return {"line": line, "counts": counts, "seconds": float(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--worktree", type=Path, default=None, help="where the baseline is checked out"
    )
    args = parser.parse_args()
    worktree = args.worktree or ROOT.parent / f"atelier-baseline-{args.baseline}"
    prepare_baseline(args.baseline, worktree)
    runs: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        order = [("baseline", worktree), ("current", ROOT)]
        if round_ % 2:
            order.reverse()
        for label, tree in order:
            runs.append(run_suite(tree, label))
    medians = {
        label: statistics.median(r["wall_seconds"] for r in runs if r["tree"] == label)
        for label in ("baseline", "current")
    }
    ratio = medians["current"] / medians["baseline"]
    report = {
        "baseline": args.baseline,
        "runs": runs,
        "median_wall_seconds": medians,
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "load_average_after": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    for run in runs:
        print(f"{run['tree']:>8}: {run['wall_seconds']:7.1f} s  {run['counts']}")
    print(
        f"median: current {medians['current']:.0f} s, baseline {medians['baseline']:.0f} s: "
        f"{ratio:.2f}x (target <= {TARGET_RATIO}x)"
    )


if __name__ == "__main__":
    main()
