"""Runs on a Ray node that shares no filesystem with the submitter: submit -> first line.

A Ray head and a second Ray node (its own processes, temp and node folders; pinned by a
custom resource) on this machine, and a workspace server on SQLite. Each repeat submits a
trivial script to the node through the server (the run's supervisor starts on the node,
fetches the snapshot, finds the node's cached uv environment and starts the script), and
the script prints the wall-clock time of its first line. Both run on this machine, so the
clocks agree. Two targets on the same node: ``warm`` (the default: the run is handed to the
node's warm launcher, a Ray job kept from an earlier run) and ``job per run``
(``launcher_idle_seconds=0``: a Ray job per run, as before the launcher).

Anchor, measured in the same run, alternating with Atelier's repeats: Ray's own job start,
a bare Jobs API job pinned to the same node whose entrypoint prints the time (Python start
included, Atelier's nothing). Target: first line < 2 s median with a cached environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test helpers start the node and the server

SCRIPT = "import time\nprint('first line at', repr(time.time()), flush=True)\n"


def _atelier(ws: Any, source: Path, environment: Any, target: str) -> float:
    from atelier import Experiment, ScriptRunConfig
    from atelier.core.paths import LOG_NAME

    config = ScriptRunConfig(source_directory=source, script="t.py", compute_target=target)
    config.run_config.environment = environment
    start = time.time()
    run = Experiment(ws, "first-line").submit(config)
    details = run.wait_for_completion(timeout_seconds=300, raise_on_error=False)
    if details["status"] != "Completed":
        raise RuntimeError(f"the bench run did not complete: {details}")
    log = run.download_file(LOG_NAME, source / f"{run.id}.log").read_text()
    printed = float(log.split("first line at ", 1)[1].split()[0])
    return printed - start


def _ray(address: str, resource: str, folder: Path) -> float:
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    stamp = folder / f"ray-{time.time_ns()}.txt"
    code = f"import time; open({str(stamp)!r}, 'w').write(repr(time.time()))"
    start = time.time()
    job = client.submit_job(
        entrypoint=f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}",
        entrypoint_resources={resource: 1},
    )
    while not client.get_job_status(job).is_terminal():
        time.sleep(0.05)
    return float(stamp.read_text()) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-ray-"))
    os.environ["ATELIER_HOME"] = str(folder / "client")
    from atelier import Workspace
    from atelier.client.http.transport import write_credentials
    from atelier.client.registry import reset_backends
    from atelier.execution.ray_provision import start_local_head, stop_local_head
    from atelier.sdk.compute.environment import Environment
    from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
    from tests.execution.ray_nodes import host_node
    from tests.helpers.server import start_server, stop_server

    load_before = os.getloadavg()
    head = {**start_local_head(folder / "head"), "started_head": True}
    node = server = None
    try:
        # two units: a warm launcher holds one while idle, the anchor's job takes the other
        node = host_node(head, folder / "node", units=2)
        server = start_server(folder / "server", None)
        write_credentials(server.url, server.admin_token, folder / "client")
        reset_backends()
        ws = Workspace.create("bench-scale-ray")
        config = AmlCompute.provisioning_configuration(
            address=head["address"], resources={node.resource: 1}
        )
        ComputeTarget.create(ws, "nodes", config)
        config = AmlCompute.provisioning_configuration(
            address=head["address"], resources={node.resource: 1}, launcher_idle_seconds=0
        )
        ComputeTarget.create(ws, "per-job", config)
        source = folder / "src"
        source.mkdir()
        (source / "t.py").write_text(SCRIPT)
        environment = Environment("bench-node-env")  # a uv environment, built on the node
        environment.python.user_managed_dependencies = False
        # builds it (later runs find it) and starts the node's warm launcher
        cold = _atelier(ws, source, environment, "nodes")
        atelier, per_job, ray = [], [], []
        for _ in range(args.repeats):
            ray.append(_ray(head["address"], node.resource, folder))
            per_job.append(_atelier(ws, source, environment, "per-job"))
            atelier.append(_atelier(ws, source, environment, "nodes"))
    finally:
        if server is not None:
            stop_server(server)
        if node is not None:
            node.stop()
        stop_local_head(head)
    result: dict[str, Any] = {
        "atelier_first_line_s": atelier,
        "atelier_median_s": statistics.median(atelier),
        "atelier_cold_s": cold,
        "job_per_run_s": per_job,
        "job_per_run_median_s": statistics.median(per_job),
        "ray_job_start_s": ray,
        "ray_median_s": statistics.median(ray),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    ratio = result["atelier_median_s"] / result["ray_median_s"]
    print("submit -> first line on a remote Ray node (no shared filesystem), cached env")
    print(f"  Atelier, warm launcher:          median {result['atelier_median_s']:.2f} s "
          f"(first run, building the env and starting the launcher: {cold:.2f} s)")  # fmt: skip
    print(f"  Atelier, a Ray job per run:      median {result['job_per_run_median_s']:.2f} s")
    print(f"  anchor, Ray's own job start:     median {result['ray_median_s']:.2f} s")
    print(f"  ratio Atelier (warm) / Ray job start: {ratio:.2f}x   target: < 2 s")
    print(f"  load average before {load_before[0]:.2f}, after {result['load_after'][0]:.2f}")
    out = REPO / "bench" / "results" / "scale_ray.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
