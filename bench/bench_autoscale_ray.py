"""A Ray target's autoscaling: submit -> a new worker node ready -> the run's first line.

A target created without an address (a Ray head on this machine with Ray's autoscaler and
Atelier's node provider), ``min_nodes=0, max_nodes=1, idle_seconds_before_scaledown=2`` and
a custom resource only worker nodes offer. Each repeat waits until the idle node is gone,
submits a trivial script (embedded SQLite home: the job runs in this machine's run folder)
and takes the time until the cluster lists a new worker node alive and until the script's
first line (it writes the wall-clock time to its outputs).

Anchor, measured in the same run, alternating with the repeats: a worker node started by
hand (``ray start --address`` with the same flags, as the test helpers do) until the
cluster lists it: the cost of a node itself, without the autoscaler's noticing and launch.
Beside it, a bare Jobs API job needing the worker resource (no Atelier run): the
autoscaler's part without Atelier's submit and supervisor start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test helpers start the hand-made node

SCRIPT = (
    "import time\nstarted = time.time()\nimport os\nos.makedirs('outputs', exist_ok=True)\n"
    "open('outputs/first.txt', 'w').write(repr(started))\n"
)
_WAIT_SECONDS = 300.0


def _workers(address: str) -> int:
    from atelier.execution.ray_cluster import node_counts

    return int((node_counts(address, timeout=5.0) or {}).get("workers", 0))


def _until(what: str, check: Any, pause: float = 0.1) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {_WAIT_SECONDS:g} s: {what}")
        time.sleep(pause)


def _scaled(ws: Any, source: Path, address: str, workers_before: int) -> tuple[float, float]:
    """Submit -> a worker node alive, submit -> the script's first line (seconds)."""
    from atelier import Experiment, ScriptRunConfig

    config = ScriptRunConfig(source_directory=source, script="t.py", compute_target="scaling")
    start = time.time()
    run = Experiment(ws, "scale-up").submit(config)
    _until("a worker node joined", lambda: _workers(address) > workers_before)
    node_ready = time.time() - start
    details = run.wait_for_completion(timeout_seconds=_WAIT_SECONDS, raise_on_error=False)
    if details["status"] != "Completed":
        raise RuntimeError(f"the bench run did not complete: {details}")
    stamp = run.download_file("outputs/first.txt", source / f"{run.id}.txt").read_text()
    first_line = float(stamp) - start
    return node_ready, first_line


def _bare_job(address: str) -> float:
    """A Jobs API job needing the worker resource (no Atelier run): submit -> node alive,
    the autoscaler's part alone."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    start = time.time()
    job = client.submit_job(entrypoint="true", entrypoint_resources={"scale_bench": 1})
    _until("a worker node joined for the bare job", lambda: _workers(address) > 0)
    alive = time.time() - start
    _until("the bare job ended", lambda: client.get_job_status(job).is_terminal())
    return alive


def _by_hand(head: dict[str, Any], folder: Path) -> float:
    from tests.execution.ray_nodes import host_node

    start = time.time()
    node = host_node(head, folder)
    joined = time.time() - start
    node.stop()
    return joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-autoscale-ray-"))
    os.environ["ATELIER_HOME"] = str(folder / "home")
    from atelier import Workspace
    from atelier.sdk.compute.targets import AmlCompute, ComputeTarget

    source = folder / "src"
    source.mkdir()
    (source / "t.py").write_text(SCRIPT)
    ws = Workspace.create("bench-autoscale")
    began = time.time()
    target = ComputeTarget.create(
        ws,
        "scaling",
        AmlCompute.provisioning_configuration(
            min_nodes=0,
            max_nodes=1,
            idle_seconds_before_scaledown=2,
            resources={"CPU": 1, "scale_bench": 1},
        ),
    )
    head_seconds = time.time() - began
    address = str(target.config["address"])
    head = {**target.config}
    scaled: list[tuple[float, float]] = []
    by_hand: list[float] = []
    bare: list[float] = []
    try:
        for repeat in range(args.repeats):
            _until("the idle worker node left", lambda: _workers(address) == 0, pause=0.5)
            scaled.append(_scaled(ws, source, address, 0))
            by_hand.append(_by_hand(head, folder / f"hand-{repeat}"))
            _until("the idle worker node left", lambda: _workers(address) == 0, pause=0.5)
            bare.append(_bare_job(address))
    finally:
        target.delete()
    ready = statistics.median(s[0] for s in scaled)
    first = statistics.median(s[1] for s in scaled)
    hand = statistics.median(by_hand)
    job = statistics.median(bare)
    rounded = [[round(value, 1) for value in values] for values in zip(*scaled, strict=True)]
    print(f"head with autoscaler started in {head_seconds:.1f} s")
    print(f"submit -> new worker node alive: median {ready:.1f} s  {rounded[0]}")
    print(f"submit -> first line on it:      median {first:.1f} s  {rounded[1]}")
    print(f"anchor, node by hand -> alive:   median {hand:.1f} s  {[round(h, 1) for h in by_hand]}")
    print(f"bare Jobs API job -> node alive: median {job:.1f} s  {[round(b, 1) for b in bare]}")
    print(f"ratio (autoscaled node ready / node by hand): {ready / hand:.2f}")
    print(f"ratio (bare job's node ready / node by hand): {job / hand:.2f}")
    print(f"load: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
