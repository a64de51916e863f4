"""Data drift: Atelier's drift metrics against Evidently's DataDriftPreset (the anchor).

    .venv/bin/python bench/bench_drift.py                  # 1,000,000 rows x 20 columns
    .venv/bin/python bench/bench_drift.py --rows 200000    # a shorter run
    .venv/bin/python bench/bench_drift.py --skip-evidently

(a) Speed and memory: a baseline and a target frame of ``--rows`` rows x 20 columns (13
    numeric, 7 categorical; one numeric column shifted by 0.1 sd), written as Parquet.
    Each side runs in its own subprocess that reads both files first (not timed), then
    times the comparison and reports its peak RSS: Atelier's ``BaselineProfile`` +
    ``compare`` (every feature's distances and tests, data quality, the drift classifier)
    against ``Report([DataDriftPreset()]).run(target, baseline)``. Evidently 0.7 does not
    import with pandas 3 (Atelier's), so it runs in its own virtualenv with pandas < 3,
    made by this script with uv under ``bench/.evidently-venv``. Targets: <= 10 s and
    < 1 GiB for Atelier; >= 19x faster than Evidently.
(b) Quality: no feature flagged on ``--splits`` undrifted splits (random halves of one
    sample of ``2 x --split-rows`` rows), and the 0.1 sd shift of (a) flagged.

Results go to ``bench/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS_DIR = ROOT / "results"
EVIDENTLY_VENV = ROOT / ".evidently-venv"
TARGET_SECONDS = 10.0
TARGET_BYTES = 1 << 30
TARGET_SPEEDUP = 19.0
NUMERIC, CATEGORICAL = 13, 7

ATELIER = """
import json, resource, sys, time
import pyarrow.parquet as pq
from atelier.monitoring.metrics import BaselineProfile, plan_features
base, target = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
# warm-up on a slice: every module is imported outside the measurement
small = plan_features(base.schema, target.schema, None)
BaselineProfile.from_table(base.slice(0, 2000), small).compare(target.slice(0, 2000), 0.2)
start = time.perf_counter()
plan = plan_features(base.schema, target.schema, None)
result = BaselineProfile.from_table(base, plan).compare(target, 0.2)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak,
                  "drifted": result["drifted_features"], "magnitude": result["drift_magnitude"]}))
"""

EVIDENTLY = """
import json, resource, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
base, target = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
Report([DataDriftPreset()]).run(target.head(2000), base.head(2000))  # warm-up
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(target, base)
snapshot.dict()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak}))
"""


def frames(rows: int, seed: int, shift: float) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for index in range(NUMERIC):
        columns[f"num_{index}"] = rng.normal(index, 1 + index / 10, rows)
    columns["num_0"] = columns["num_0"] + shift
    for index in range(CATEGORICAL):
        levels = np.array([f"level_{k}" for k in range(3 + index)])
        columns[f"cat_{index}"] = pa.array(levels[rng.integers(0, len(levels), rows)])
    return pa.table(columns)


def run_child(python: str, code: str, base: Path, target: Path) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-c", code, str(base), str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{python} failed:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def evidently_python() -> str:
    """The Python of a virtualenv with Evidently and pandas < 3 (made on first use)."""
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        uv = Path(sys.executable).with_name("uv")
        subprocess.run([str(uv), "venv", "-q", str(EVIDENTLY_VENV)], check=True)
        subprocess.run(
            [str(uv), "pip", "install", "-q", "--python", str(python), "evidently", "pandas<3"],
            check=True,
        )
    return str(python)


def quality(split_rows: int, splits: int) -> dict[str, Any]:
    import numpy as np

    from atelier.monitoring.metrics import BaselineProfile, plan_features

    pool = frames(2 * split_rows, seed=7, shift=0.0)
    flagged = []
    for split in range(splits):
        order = np.random.default_rng(1000 + split).permutation(pool.num_rows)
        base, target = pool.take(order[:split_rows]), pool.take(order[split_rows:])
        plan = plan_features(base.schema, target.schema, None)
        result = BaselineProfile.from_table(base, plan, seed=split).compare(target, 0.2)
        flagged.append(result["drifted_features"])
    return {"split_rows": split_rows, "splits": splits, "flagged": flagged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--split-rows", type=int, default=200_000)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--skip-evidently", action="store_true")
    options = parser.parse_args()
    import pyarrow.parquet as pq

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="atelier-bench-drift-") as folder:
        base_path, target_path = Path(folder) / "base.parquet", Path(folder) / "target.parquet"
        pq.write_table(frames(options.rows, seed=1, shift=0.0), base_path)
        pq.write_table(frames(options.rows, seed=2, shift=0.1), target_path)
        atelier = run_child(sys.executable, ATELIER, base_path, target_path)
        print(
            f"atelier: {atelier['seconds']:.2f} s, peak {atelier['peak_bytes'] / 2**20:.0f} MiB, "
            f"flagged {atelier['drifted']} (target <= {TARGET_SECONDS:.0f} s, < 1024 MiB, "
            "only num_0)"
        )
        evidently = None
        if not options.skip_evidently:
            evidently = run_child(evidently_python(), EVIDENTLY, base_path, target_path)
            ratio = evidently["seconds"] / atelier["seconds"]
            print(
                f"evidently DataDriftPreset: {evidently['seconds']:.2f} s, peak "
                f"{evidently['peak_bytes'] / 2**20:.0f} MiB; Atelier is {ratio:.1f}x faster "
                f"(target >= {TARGET_SPEEDUP:.0f}x)"
            )
    checked = quality(options.split_rows, options.splits)
    false_alarms = sum(1 for flagged in checked["flagged"] if flagged)
    print(
        f"undrifted splits with a flagged feature: {false_alarms} of {options.splits} "
        f"({options.split_rows:,} rows a side; target 0)"
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "drift.json").write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": platform.platform(),
                "rows": options.rows,
                "atelier": atelier,
                "evidently": evidently,
                "quality": checked,
                "load": {"before": load_before, "after": os.getloadavg()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
