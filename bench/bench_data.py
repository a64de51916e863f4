"""Datasets: reading a large CSV, and registering many small files.

    .venv/bin/python bench/bench_data.py                 # a 1 GB CSV, 10,000 files
    .venv/bin/python bench/bench_data.py --size-mb 300   # a shorter run
    .venv/bin/python bench/bench_data.py --csv big.csv --repeat 3 --files 100
                                          # a CSV made before (generating 1 GB takes minutes)

(a) ``Dataset.Tabular.from_delimited_files(csv).to_pandas_dataframe()`` against
    ``pandas.read_csv(csv)`` with default options (the anchor), on one generated CSV,
    twice: cold (the first read: the dataset cache is empty, so the CSV is parsed and the
    cache written) and warm (a second read, in a new process: from the columnar cache in
    ``$ATELIER_HOME/cache/tabular``). Each read runs in its own subprocess, warmed up by
    reading a 100-line file (so module imports are not measured), which reports its wall
    time, the frame's size (``memory_usage(deep=True)``) and its peak RSS above the RSS it
    had just before reading. Targets: the first read >= 1x pandas' speed, a later
    read >= 5x; Atelier's peak <= 1.5x the frame. ``--repeat N`` runs the three reads N
    times, one round after another, and keeps each one's median time; every round's
    times, its own ratios to that round's pandas read, and the load average before it are
    reported too (on a shared machine the load moves between rounds), with each read's
    CPU time (user + system, all threads) and pandas' CPU time over Atelier's: when every
    core is busy, each session gets its share of the CPU whatever its thread count, so
    the read that needs less CPU is the faster one.
(b) Registering a file dataset of 10,000 small files (listing, sizes, times and SHA-256
    of every file, one database transaction) against just walking and hashing the same
    files (the anchor). Target: < 10 s.

Results go to ``bench/results/data.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: the first read (parse, cache written behind it) and a later read (from the cache)
TARGET_SPEEDUP = {"cold": 1.0, "warm": 5.0}
TARGET_MEMORY = 1.5
TARGET_REGISTER_SECONDS = 10.0

READER = """
import json, os, resource, sys, time
method, path, tiny = sys.argv[1], sys.argv[2], sys.argv[3]
import pandas as pd
if method != "pandas":
    from atelier.sdk.data.dataset import Dataset
    # a warm-up read of a tiny file loads every module first, outside the measurement
    Dataset.Tabular.from_delimited_files(tiny, validate=False).to_pandas_dataframe()
    dataset = Dataset.Tabular.from_delimited_files(path, validate=False)
else:
    pd.read_csv(tiny)
def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()
def cpu() -> float:
    times = os.times()
    return times.user + times.system
before = rss()
cpu_before = cpu()
start = time.perf_counter()
frame = pd.read_csv(path) if method == "pandas" else dataset.to_pandas_dataframe()
seconds = time.perf_counter() - start
cpu_seconds = cpu() - cpu_before
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": cpu_seconds,
    "rows": len(frame),
    "frame_bytes": int(frame.memory_usage(deep=True).sum()),
    "peak_above_start_bytes": peak - before,
}))
"""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate_csv(path: Path, size_mb: int) -> int:
    """A CSV of about ``size_mb`` MB: ids, floats, a timestamp-like text and a category."""
    rng = random.Random(42)
    target = size_mb * 1024 * 1024
    categories = ["setosa", "versicolor", "virginica", "unknown"]
    written = 0
    rows = 0
    with path.open("w", encoding="utf-8") as handle:
        header = "id,sepal_length,sepal_width,petal_length,petal_width,score,day,label\n"
        handle.write(header)
        written += len(header)
        while written < target:
            lines = []
            for _ in range(10_000):
                rows += 1
                line = (
                    f"{rows},{rng.uniform(4, 8):.3f},{rng.uniform(2, 4.5):.3f},"
                    f"{rng.uniform(1, 7):.3f},{rng.uniform(0.1, 2.5):.3f},"
                    f"{rng.random():.6f},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
                    f"{categories[rows % 4]}\n"
                )
                lines.append(line)
            chunk = "".join(lines)
            handle.write(chunk)
            written += len(chunk)
    return rows


def read_in_subprocess(method: str, path: Path, home: Path) -> dict[str, Any]:
    tiny = home.with_name("tiny.csv")
    with path.open(encoding="utf-8") as source:
        tiny.write_text("".join(source.readline() for _ in range(100)), encoding="utf-8")
    if method == "cold":
        shutil.rmtree(home / "cache" / "tabular", ignore_errors=True)
    env = {**os.environ, "ATELIER_HOME": str(home)}
    env.pop("ATELIER_DATASET_CACHE_MB", None)  # the default cap
    done = subprocess.run(
        [sys.executable, "-c", READER, method, str(path), str(tiny)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"{method} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_read(folder: Path, size_mb: int, repeat: int, csv: Path | None) -> dict[str, Any]:
    if csv is None:
        path = folder / "big.csv"
        say(f"(a) generating a {size_mb} MB CSV ...")
        rows = generate_csv(path, size_mb)
    else:
        path = csv.resolve()
        with path.open("rb") as handle:
            rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
        rows -= 1  # the header
        say(f"(a) reading {path}")
    actual_mb = path.stat().st_size / 1024 / 1024
    say(f"    {rows:,} rows, {actual_mb:.0f} MB")
    home = folder / "read-home"
    runs: dict[str, list[dict[str, Any]]] = {"pandas": [], "cold": [], "warm": []}
    rounds = []
    for number in range(repeat):
        load = _load_average()
        for method, done in runs.items():  # pandas, atelier's first read, its second
            done.append(read_in_subprocess(method, path, home))
        seconds = {method: done[-1]["seconds"] for method, done in runs.items()}
        cpu = {method: done[-1]["cpu_seconds"] for method, done in runs.items()}
        ratios = {m: round(seconds["pandas"] / seconds[m], 2) for m in ("cold", "warm")}
        cpu_ratios = {m: round(cpu["pandas"] / max(cpu[m], 1e-3), 2) for m in ("cold", "warm")}
        rounds.append(
            {
                "load_before": load,
                "seconds": seconds,
                "speedup": ratios,
                "cpu_seconds": cpu,
                "cpu_ratio": cpu_ratios,
            }
        )
        say(
            f"    round {number + 1} (load {load}): pandas {seconds['pandas']:.2f} s "
            f"(cpu {cpu['pandas']:.2f} s), first read {seconds['cold']:.2f} s "
            f"(cpu {cpu['cold']:.2f} s): {ratios['cold']:.2f}x, cpu {cpu_ratios['cold']:.2f}x; "
            f"second {seconds['warm']:.2f} s: {ratios['warm']:.2f}x"
        )
    assert all(r["rows"] == rows for done in runs.values() for r in done)
    anchor = _median_run(runs["pandas"])
    anchor_memory = anchor["peak_above_start_bytes"] / anchor["frame_bytes"]
    say(f"    pandas.read_csv: {anchor['seconds']:.2f} s, peak {anchor_memory:.2f}x its frame")
    result: dict[str, Any] = {"csv_mb": round(actual_mb, 1), "rows": rows, "repeat": repeat}
    result["rounds"] = rounds
    result["pandas"] = anchor
    for method, label in (("cold", "first read (cache empty)"), ("warm", "second read (cached)")):
        ours = _median_run(runs[method])
        speedup = anchor["seconds"] / ours["seconds"]
        memory = ours["peak_above_start_bytes"] / ours["frame_bytes"]
        ok = speedup >= TARGET_SPEEDUP[method] and memory <= TARGET_MEMORY
        say(
            f"    atelier to_pandas_dataframe, {label}: {ours['seconds']:.2f} s, "
            f"peak {memory:.2f}x its frame ({ours['frame_bytes'] / 2**20:.0f} MB)\n"
            f"      speedup {speedup:.2f}x (target >= {TARGET_SPEEDUP[method]}x), "
            f"memory {memory:.2f}x "
            f"(target <= {TARGET_MEMORY}x): {'meets' if ok else 'does NOT meet'} the target"
        )
        result[method] = {
            **ours,
            "speedup": round(speedup, 2),
            "peak_over_frame": round(memory, 2),
            "ok": ok,
        }
    meeting = [m for m in ("cold", "warm") if result[m]["ok"]]
    result["meets_target"] = meeting
    say(f"    meets the target: {' and '.join(meeting) if meeting else 'neither'}")
    return result


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _median_run(done: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (of an even count, the slower middle one)."""
    return sorted(done, key=lambda r: r["seconds"])[len(done) // 2]


def bench_register(folder: Path, count: int) -> dict[str, Any]:
    files = folder / "small"
    say(f"(b) writing {count:,} small files ...")
    for index in range(count):
        sub = files / f"part-{index // 1000:02d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{index:05d}.txt").write_text(f"sample {index}\n" * (1 + index % 7))
    start = time.perf_counter()
    for path in sorted(files.rglob("*")):
        if path.is_file():
            hashlib.sha256(path.read_bytes()).hexdigest()
    anchor = time.perf_counter() - start
    os.environ["ATELIER_HOME"] = str(folder / "home")
    from atelier import Workspace
    from atelier.sdk.data.dataset import Dataset

    ws = Workspace.create("bench", exist_ok=True)
    start = time.perf_counter()
    dataset = Dataset.File.from_files(str(files), validate=False).register(ws, "many-files")
    ours = time.perf_counter() - start
    listed = len(ws._backend.datasets.files(ws.name, dataset.id or ""))
    assert listed == count, listed
    say(
        f"    walk + hash only: {anchor:.2f} s; register: {ours:.2f} s "
        f"({ours / anchor:.1f}x the anchor; target < {TARGET_REGISTER_SECONDS:.0f} s)"
    )
    return {
        "files": count,
        "anchor_walk_and_hash_seconds": round(anchor, 3),
        "register_seconds": round(ours, 3),
        "ratio_to_anchor": round(ours / anchor, 2),
        "ok": ours < TARGET_REGISTER_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated CSV")
    parser.add_argument("--files", type=int, default=10_000, help="files in the dataset")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each read (median)")
    parser.add_argument(
        "--csv", type=Path, help="read this CSV (one made by an earlier run) instead of a new one"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atelier-bench-data-") as tmp:
        folder = Path(tmp)
        read = bench_read(folder, args.size_mb, max(1, args.repeat), args.csv)
        if args.csv is None:
            (folder / "big.csv").unlink()
        register = bench_register(folder, args.files)
    result = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "size_mb_requested": args.size_mb,
        "read_csv": read,
        "register": register,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "data.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                "read_csv": {
                    "csv_mb": read["csv_mb"],
                    **{
                        m: {k: read[m][k] for k in ("seconds", "speedup", "peak_over_frame", "ok")}
                        for m in ("cold", "warm")
                    },
                    "meets_target": read["meets_target"],
                    "rounds": read["rounds"],
                },
                "register": register,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
