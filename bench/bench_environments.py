"""Environment builds: Atelier's uv builder against ``python -m venv`` + ``pip install`` (anchor).

    .venv/bin/python bench/bench_environments.py            # scikit-learn + pandas
    .venv/bin/python bench/bench_environments.py --packages six   # a smoke run

(a) A cached lookup: ``ensure_environment`` of an environment already built, the median
    of 50 calls (target < 50 ms).
(b) A fresh build of the packages, each tool into a new temporary directory, both with a
    warm download cache: one untimed warm-up install per tool first, then the anchor is
    timed, then Atelier (target: Atelier >= 3x faster).

pip runs ``--isolated`` so that, like uv, it sees PyPI only (this machine's pip.conf adds
local indexes and a constraints file uv does not read). Each tool keeps its defaults
otherwise: pip compiles bytecode at install time, uv does not. Results go to
``bench/results/environments.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atelier.execution.environments import ensure_environment, find_uv

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_LOOKUP_MS = 50.0
TARGET_SPEEDUP = 3.0
VERSIONS_PROBE = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(command: list[str]) -> str:
    """Run a command; its output is returned, and shown only if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        say(result.stdout + result.stderr)
        raise SystemExit(f"failed: {' '.join(command)}")
    return result.stdout


def installed_versions(python: Path, packages: list[str]) -> dict[str, str]:
    return dict(json.loads(run([str(python), "-c", VERSIONS_PROBE, *packages])))


def cached_lookup(repeats: int) -> dict[str, Any]:
    """Median time of ``ensure_environment`` on an environment that is already built."""
    spec = {"python_version": None, "pip": ["six==1.16.0"], "conda_packages": []}
    with tempfile.TemporaryDirectory(prefix="bench-env-lookup-") as name:
        root = Path(name)
        ensure_environment(spec, root, io.StringIO())
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ensure_environment(spec, root, io.StringIO())
            times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "max_ms": max(times), "repeats": repeats}


def anchor_build(packages: list[str], root: Path) -> dict[str, Any]:
    """``python -m venv`` then ``pip install``, timed separately and together."""
    env_dir = root / "venv"
    start = time.perf_counter()
    run([sys.executable, "-m", "venv", str(env_dir)])
    venv_s = time.perf_counter() - start
    python = env_dir / "bin" / "python"
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--isolated",
            "--disable-pip-version-check",
            *packages,
        ]
    )
    total_s = time.perf_counter() - start
    pip_version = run([str(python), "-m", "pip", "--version"]).split()[1]
    return {
        "total_s": total_s,
        "venv_s": venv_s,
        "install_s": total_s - venv_s,
        "pip_version": pip_version,
        "versions": installed_versions(python, packages),
    }


def atelier_build(packages: list[str], root: Path) -> dict[str, Any]:
    spec = {"python_version": None, "pip": sorted(packages), "conda_packages": []}
    log = io.StringIO()
    start = time.perf_counter()
    python = ensure_environment(spec, root, log)
    total_s = time.perf_counter() - start
    if "building environment" not in log.getvalue():
        raise SystemExit("the timed Atelier build was a cache hit; the temp dir is not fresh")
    return {"total_s": total_s, "versions": installed_versions(python, packages)}


def fresh(label: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=f"bench-env-{label}-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packages", nargs="+", default=["scikit-learn", "pandas"])
    parser.add_argument("--lookups", type=int, default=50)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "environments.json")
    args = parser.parse_args(argv)
    packages: list[str] = args.packages
    load_before = os.getloadavg()

    say(f"(a) cached lookup, median of {args.lookups}")
    lookup = cached_lookup(args.lookups)
    say(f"(b) warm-up installs of {' '.join(packages)} (untimed)")
    with fresh("anchor-warmup") as name:
        anchor_build(packages, Path(name))
    with fresh("atelier-warmup") as name:
        atelier_build(packages, Path(name))
    say("(b) timed builds: anchor, then Atelier")
    with fresh("anchor") as name:
        anchor = anchor_build(packages, Path(name))
    with fresh("atelier") as name:
        ours = atelier_build(packages, Path(name))

    speedup = anchor["total_s"] / ours["total_s"]
    uv_version = run([str(find_uv()), "--version"]).split()[1]
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "packages": packages,
        "uv_version": uv_version,
        "cached_lookup": lookup,
        "anchor_venv_pip": anchor,
        "atelier_uv": ours,
        "speedup": speedup,
        "targets_met": lookup["median_ms"] < TARGET_LOOKUP_MS and speedup >= TARGET_SPEEDUP,
    }
    if anchor["versions"] != ours["versions"]:
        say(f"note: versions differ: pip {anchor['versions']} vs uv {ours['versions']}")

    print(f"{'measurement':<44} {'value':>12}  target")
    print(
        f"{'(a) cached ensure_environment, median':<44} "
        f"{lookup['median_ms']:>9.3f} ms  < {TARGET_LOOKUP_MS:.0f} ms"
    )
    print(
        f"{'(b) anchor: venv + pip ' + anchor['pip_version']:<44} "
        f"{anchor['total_s']:>10.2f} s  (venv {anchor['venv_s']:.2f} s)"
    )
    print(f"{'(b) atelier: uv ' + uv_version:<44} {ours['total_s']:>10.2f} s")
    print(f"{'(b) speedup (anchor / atelier)':<44} {speedup:>10.1f} x  >= {TARGET_SPEEDUP:.0f}x")
    print(f"installed: {ours['versions']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.output}")
    return 0 if results["targets_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
