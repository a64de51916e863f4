"""Containers: scoring throughput through a container endpoint against the same endpoint
run as local processes (the anchor), and package rebuild times.

::

    .venv/bin/python bench/bench_containers.py            # 10 s of load per endpoint
    .venv/bin/python bench/bench_containers.py --quick    # 3 s

Both endpoints serve the same model and entry script with one replica behind the same
router; the container runs the package's image (podman, ``--cpus 2``). Load comes from
bench/loadgen.py (closed loop, 8 connections). Then ``Model.package`` of an unchanged
package (a build cache hit) and of a changed entry script (only the last layers rebuild)
are timed. Needs podman (or docker) and the base image (made on first use: minutes).
Results go to bench/results/containers.json with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# a linear model: the weighted sum of each request's values
SCORE = """
import json
from atelier import Model

def init():
    global weights
    weights = json.loads(open(Model.get_model_path("linear")).read())["weights"]

def run(raw_data):
    values = json.loads(raw_data)["data"]
    return {"score": sum(w * v for w, v in zip(weights, values))}
"""
TARGETS = {"throughput_ratio": 0.8, "unchanged_rebuild_s": 5.0, "changed_script_rebuild_s": 30.0}


def _load(url: str, body: Path, key: str, seconds: float) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "loadgen.py"), url, str(body), "--seconds",
               str(seconds), "--concurrency", "8", "--key", key]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s of load instead of 10")
    seconds = 3.0 if parser.parse_args().quick else 10.0
    folder = Path(tempfile.mkdtemp(prefix="bench-containers-"))
    os.environ["ATELIER_HOME"] = str(folder / "home")
    from atelier import Model, Workspace
    from atelier.azureml.core.model import InferenceConfig
    from atelier.azureml.core.webservice import AciWebservice, LocalWebservice
    from atelier.containers import ensure_base_image, find_engine

    engine = find_engine()
    with (folder / "base-image.log").open("a") as log:
        ensure_base_image(engine, log)
    load_before = os.getloadavg()
    ws = Workspace.create("bench")
    (folder / "linear.json").write_text(json.dumps({"weights": [0.5] * 10}))
    model = Model.register(ws, folder / "linear.json", "linear")
    source = folder / "src"
    source.mkdir()
    (source / "score.py").write_text(SCORE)
    config = InferenceConfig(entry_script="score.py", source_directory=source)
    body = folder / "body.json"
    body.write_text(json.dumps({"data": list(range(10))}))

    results: dict[str, Any] = {"seconds": seconds}
    local = Model.deploy(ws, "local", [model], config, LocalWebservice.deploy_configuration())
    try:
        local.wait_for_deployment(timeout_sec=300)
        results["local"] = _load(local.scoring_uri, body, local.get_keys()[0], seconds)
    finally:
        local.delete()
    aci = AciWebservice.deploy_configuration(cpu_cores=2, memory_gb=2)
    container = Model.deploy(ws, "container", [model], config, aci)
    try:
        results["container"] = _load(container.scoring_uri, body, container.get_keys()[0], seconds)
    finally:
        container.delete()
    ratio = results["container"]["rps"] / max(results["local"]["rps"], 1e-9)
    results["throughput_ratio"] = ratio

    started = time.perf_counter()
    Model.package(ws, [model], config, image_name="bench")
    results["unchanged_rebuild_s"] = time.perf_counter() - started
    (source / "score.py").write_text(SCORE + f"\n# changed {time.time()}\n")
    started = time.perf_counter()
    Model.package(ws, [model], config, image_name="bench")
    results["changed_script_rebuild_s"] = time.perf_counter() - started
    results["loadavg"] = {"before": load_before, "after": os.getloadavg()}

    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    for name in ("local", "container"):
        r = results[name]
        print(f"{name:>10}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
              f"p99 {r['p99_ms']:.1f} ms  failures {r['failures']}")  # fmt: skip
    print(f"container / local throughput: {ratio:.2f}x (target >= 0.8x)")
    print(f"unchanged package rebuild: {results['unchanged_rebuild_s']:.2f} s (target < 5 s)")
    print(f"changed entry script rebuild: {results['changed_script_rebuild_s']:.2f} s "
          "(target < 30 s)")  # fmt: skip
    out = HERE / "results" / "containers.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**results, "targets": TARGETS}, indent=2) + "\n")


if __name__ == "__main__":
    main()
