"""Batch scoring: ParallelRunStep's driver against a hand-written multiprocessing.Pool.

    .venv/bin/python bench/bench_parallel_run.py               # 1,000,000 rows
    .venv/bin/python bench/bench_parallel_run.py --rows 200000 # a shorter run

Both score the same Parquet file (``--rows`` rows × 8 float columns) with the same
scikit-learn random forest, in 2 processes, over the same mini-batches (the row ranges of
``mini_batch_size="1MB"``), and write one prediction a line, in input order:

(anchor) a hand-written script with a ``multiprocessing.Pool(2)``: read the file with
    pandas, load the model in each process's initializer, ``imap`` the DataFrame slices,
    write the results; timed from its interpreter's start to its end.
(a) the driver a ParallelRunStep's run starts (``python -m
    atelier.sdk.parallel_run.driver``), timed the same way: read, cut, score, write.
(b) the whole step as a run: ``prepare(ParallelRunConfig, [dataset])`` submitted with
    ``Experiment.submit`` in an embedded workspace (a temporary home, never a shared
    database), timed from submit to Completed: the run's supervisor, interpreter start and
    dataset resolution are in it (after one small untimed run, so the workspace's
    supervisor agent is warm, as on any local compute in use).

The three are interleaved for ``--repeat`` rounds (default 2) and each keeps its best
time, as the machine may be shared. Throughput ratios (rows/s of (a) and (b) over the
anchor's); target >= 0.8. The outputs
are compared line by line. Results go to ``bench/results/parallel_run.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.ensemble import RandomForestClassifier

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET = 0.8
PROCESSES = 2
FEATURES = [f"f{i}" for i in range(8)]
ENTRY = """
    import os
    import joblib
    import sklearn.ensemble  # imported once by the driver, shared by its forked workers

    def init():
        global model
        model = joblib.load(os.path.join(os.path.dirname(__file__), "model.joblib"))

    def run(mini_batch):
        return model.predict(mini_batch).tolist()
"""

#: the anchor: what one would write by hand, run as its own script like the step's run
POOL_SCRIPT = """
    import json, multiprocessing, sys
    import joblib
    import pandas as pd

    def load(path):
        global model
        model = joblib.load(path)

    def score(frame):
        return model.predict(frame).tolist()

    if __name__ == "__main__":
        data, model_path, ranges, out = sys.argv[1:5]
        frame = pd.read_parquet(data)
        slices = (frame.iloc[a : a + n] for a, n in json.load(open(ranges)))
        with multiprocessing.Pool(2, initializer=load, initargs=(model_path,)) as pool:
            with open(out, "w") as sink:
                for predictions in pool.imap(score, slices):
                    sink.write("\\n".join(map(str, predictions)) + "\\n")
"""


def make_inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    data_path = folder / "lake" / "rows.parquet"
    data_path.parent.mkdir(parents=True)
    data.to_parquet(data_path, index=False)
    train = data.iloc[:20_000]
    labels = (train["f0"] + train["f1"] * train["f2"] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=30, max_depth=10, random_state=0, n_jobs=1)
    source = folder / "score"
    source.mkdir()
    joblib.dump(model.fit(train, labels), source / "model.joblib")
    (source / "score.py").write_text(textwrap.dedent(ENTRY))
    return data_path, source


def row_ranges(data_path: Path) -> list[tuple[int, int]]:
    from atelier.sdk.parallel_run._plan import _size_ranges
    from atelier.sdk.parallel_run._sizes import bytes_per_batch

    return _size_ranges(pq.read_table(data_path), bytes_per_batch("1MB"))


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def anchor(folder: Path, data_path: Path, model_path: Path, out: Path) -> float:
    """The hand-written Pool script, from its interpreter's start to its last line."""
    script = folder / "pool_score.py"
    script.write_text(textwrap.dedent(POOL_SCRIPT))
    ranges = folder / "ranges.json"
    ranges.write_text(json.dumps(row_ranges(data_path)))
    command = [sys.executable, str(script), str(data_path), str(model_path), str(ranges)]
    return _timed([*command, str(out)])


def config_dict(source: Path) -> dict[str, Any]:
    return {
        "entry_script": "score.py",
        "source_directory": str(source),
        "output_action": "append_row",
        "mini_batch_size": "1MB",
        "error_threshold": -1,
        "process_count_per_node": PROCESSES,
        "run_max_try": 3,
        "run_invocation_timeout": 600,
        "inputs": [{"name": "rows", "kind": "tabular"}],
    }


def driver(folder: Path, data_path: Path, source: Path, out_dir: Path) -> float:
    """The step's driver as its own process, as the step's run starts it."""
    config = folder / "driver.json"
    config.write_text(json.dumps(config_dict(source)))
    module = "atelier.sdk.parallel_run.driver"
    arguments = ["--config", str(config), "--input", str(data_path), "--output", str(out_dir)]
    return _timed([sys.executable, "-m", module, *arguments])


def step_run(folder: Path, data_path: Path, source: Path) -> Callable[[], tuple[float, Path]]:
    """A workspace with the dataset, warmed by a small run; the returned function times
    one submit of the whole step."""
    os.environ["ATELIER_HOME"] = str(folder / "home")
    os.environ.pop("ATELIER_DATABASE_URL", None)
    from atelier import Experiment, Workspace
    from atelier.sdk.compute.environment import Environment
    from atelier.sdk.data.dataset import Dataset
    from atelier.sdk.data.datastore import Datastore
    from atelier.sdk.parallel_run import ParallelRunConfig, prepare

    ws = Workspace.create("bench-parallel-run")
    lake = Datastore.register_local(ws, "lake", data_path.parent)
    table = Dataset.Tabular.from_parquet_files((lake, data_path.name))
    environment = Environment("bench")
    environment.python.user_managed_dependencies = True
    config = ParallelRunConfig(
        environment=environment,
        entry_script="score.py",
        source_directory=str(source),
        error_threshold=-1,
        output_action="append_row",
        compute_target="local",
        node_count=1,
        process_count_per_node=PROCESSES,
        mini_batch_size="1MB",
        run_invocation_timeout=600,
    )
    # a first small run warms the workspace's supervisor agent and the environment check,
    # as for any run on cached local compute; it is not timed
    warm_path = data_path.parent / "warm.parquet"
    pq.write_table(pq.read_table(data_path).slice(0, 1000), warm_path)
    warm = Dataset.Tabular.from_parquet_files((lake, warm_path.name))
    warm_launch = prepare(config, [warm.as_named_input("rows")])
    Experiment(ws, "bench").submit(warm_launch.script_run_config()).wait_for_completion()
    launch = prepare(config, [table.as_named_input("rows")])

    def once() -> tuple[float, Path]:
        start = time.perf_counter()
        run = Experiment(ws, "bench").submit(launch.script_run_config())
        run.wait_for_completion()
        elapsed = time.perf_counter() - start
        target = folder / "step-out.txt"
        run.download_file("outputs/parallel_run_step.txt", str(target))
        return elapsed, target

    return once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; each keeps its best")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-parallel-run-") as name:
        folder = Path(name)
        data_path, source = make_inputs(folder, args.rows)
        os.chdir(folder)
        submit_step = step_run(folder, data_path, source)
        # the machine may be shared: the three are interleaved and each keeps its best time
        pools, drivers, steps = [], [], []
        for _ in range(args.repeat):
            model = source / "model.joblib"
            pools.append(anchor(folder, data_path, model, folder / "pool-out.txt"))
            drivers.append(driver(folder, data_path, source, folder / "driver-out"))
            seconds, step_out = submit_step()
            steps.append(seconds)
        pool_seconds, driver_seconds, step_seconds = min(pools), min(drivers), min(steps)
        expected = (folder / "pool-out.txt").read_text()
        same_driver = (folder / "driver-out" / "parallel_run_step.txt").read_text() == expected
        same_step = step_out.read_text() == expected
    rows = args.rows
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {sys.version.split()[0]}",
        "rows": rows,
        "processes": PROCESSES,
        "rounds": {"pool": pools, "driver": drivers, "step_run": steps},
        "pool_seconds": round(pool_seconds, 3),
        "driver_seconds": round(driver_seconds, 3),
        "step_run_seconds": round(step_seconds, 3),
        "driver_ratio": round(pool_seconds / driver_seconds, 3),
        "step_run_ratio": round(pool_seconds / step_seconds, 3),
        "outputs_equal": same_driver and same_step,
    }
    print(f"rows: {rows:,} in {PROCESSES} processes, mini_batch_size 1MB")
    pool_rate = rows / pool_seconds
    print(f"  multiprocessing.Pool (anchor): {pool_seconds:7.2f} s  {pool_rate:>10,.0f} rows/s")
    print(
        f"  ParallelRunStep driver:        {driver_seconds:7.2f} s  {rows / driver_seconds:>10,.0f}"
        " "
        f"rows/s  ratio {result['driver_ratio']:.2f} (target >= {TARGET})"
    )
    print(
        f"  ParallelRunStep as a run:      {step_seconds:7.2f} s  {rows / step_seconds:>10,.0f} "
        f"rows/s  ratio {result['step_run_ratio']:.2f} (target >= {TARGET})"
    )
    print(f"  outputs identical: {result['outputs_equal']}")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "parallel_run.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
