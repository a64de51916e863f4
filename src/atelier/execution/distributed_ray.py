"""The nodes of a distributed run on a Ray target: one placement-group bundle per node.

``node_count`` nodes of ``process_count_per_node`` CPUs are reserved as a Ray placement
group (``STRICT_SPREAD``: each bundle on its own Ray node, when the cluster has that many
nodes; else ``PACK``, with a note in the run's log, so several of the run's nodes share a
Ray node). The group is held by a small Ray driver process (``python -m`` this module)
for as long as the run's ranks go: closing its stdin releases the group. That driver
reports, for each bundle, the IP of the Ray node holding it and, for bundle 0, a free
port there (the rendezvous, ``MASTER_ADDR:MASTER_PORT``). Each rank is then submitted as
its own Ray job pinned to its node: by the node's ``ray.io/node-id`` label where Ray's job
client takes label selectors (exact even where several Ray nodes share an IP, as nodes
started side by side on one machine do), else by its ``node:<ip>`` resource.

(Not by the bundle's own ``bundle_group_<i>_<group>`` resource: a job holding part of it
when the group is removed makes Ray's raylet abort.)
"""

from __future__ import annotations

import inspect
import json
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from atelier.core.errors import ComputeTargetException

#: the variable a rank's environment carries to pin its Ray job to its node:
#: ``"<node id> <ip>"`` (read back by :func:`job_pinning`)
NODE_VARIABLE = "ATELIER_RAY_NODE"
#: the label Ray gives every node, its id
NODE_ID_LABEL = "ray.io/node-id"
#: how long the cluster may take to reserve the nodes
PLACEMENT_TIMEOUT_SECONDS = 120.0


def ray_config(runner: object) -> dict[str, Any] | None:
    """The Ray target's config when ``runner`` is a Ray executor, else None (without
    importing Ray: if its executor module is not loaded, the runner is not one)."""
    module = sys.modules.get("atelier.execution.ray_compute")
    executor = getattr(module, "RayExecutor", None)
    if executor is None or not isinstance(runner, executor):
        return None
    config: dict[str, Any] = runner.config
    return config


def gcs_address(config: dict[str, Any]) -> str:
    """Where a Ray driver connects: the GCS a head started here recorded, else the one the
    cluster tells a job (its ``RAY_ADDRESS``), asked once per cluster."""
    recorded = config.get("gcs_address")
    if recorded:
        return str(recorded)
    dashboard = str(config.get("address") or "")
    if dashboard not in _gcs_addresses:
        _gcs_addresses[dashboard] = _ask_gcs_address(dashboard)
    return _gcs_addresses[dashboard]


_gcs_addresses: dict[str, str] = {}


def _ask_gcs_address(dashboard: str) -> str:
    from ray.job_submission import JobStatus, JobSubmissionClient

    deadline = time.monotonic() + PLACEMENT_TIMEOUT_SECONDS
    try:
        client = JobSubmissionClient(dashboard)
        job = client.submit_job(entrypoint='echo "gcs=$RAY_ADDRESS"')
        ended = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)
        while client.get_job_status(job) not in ended and time.monotonic() < deadline:
            time.sleep(0.2)
        lines = [line for line in client.get_job_logs(job).splitlines() if line.startswith("gcs=")]
    except Exception as exc:  # Ray's client raises many kinds
        raise ComputeTargetException(
            f"cannot ask the Ray cluster at {dashboard} for its GCS address ({exc})"
        ) from exc
    found = lines[-1].removeprefix("gcs=").strip() if lines else ""
    if not found:
        raise ComputeTargetException(f"the Ray cluster at {dashboard} gave no GCS address")
    return found


def job_pinning(env: dict[str, str]) -> dict[str, Any]:
    """The ``submit_job`` arguments that put a rank's job on its node (none for a job that
    is not a rank of a placed run)."""
    pinned = env.get(NODE_VARIABLE)
    if not pinned:
        return {}
    node_id, _, ip = pinned.partition(" ")
    from ray.job_submission import JobSubmissionClient

    if "entrypoint_label_selector" in inspect.signature(JobSubmissionClient.submit_job).parameters:
        return {"entrypoint_label_selector": {NODE_ID_LABEL: node_id}}
    return {"entrypoint_resources": {f"node:{ip}": 0.001}}  # Ray before label selectors


@dataclass
class NodePlacement:
    """The reserved nodes: each node's Ray id and IP, the rendezvous port on node 0, and
    the driver process holding the reservation."""

    node_ids: list[str]
    ips: list[str]
    master_port: int
    strategy: str
    holder: subprocess.Popen[bytes]

    def pin(self, node: int) -> str:
        """The value of :data:`NODE_VARIABLE` for the ranks of node ``node``."""
        return f"{self.node_ids[node]} {self.ips[node]}"

    def release(self) -> None:
        if self.holder.poll() is None:
            if self.holder.stdin is not None:
                self.holder.stdin.close()
            try:
                self.holder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()


def place_nodes(
    config: dict[str, Any], node_count: int, per_node: int, out: IO[bytes]
) -> NodePlacement:
    """Reserve the run's nodes on the cluster; ``ComputeTargetException`` saying why when
    the cluster cannot hold them (or cannot be reached)."""
    address = gcs_address(config)
    with tempfile.TemporaryFile() as errors:
        holder = subprocess.Popen(
            [sys.executable, "-m", __name__, address, str(node_count), str(per_node)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], PLACEMENT_TIMEOUT_SECONDS + 30)
        line = holder.stdout.readline() if ready else b""
        try:
            answer = json.loads(line) if line.strip() else {}
        except ValueError:
            answer = {}
        if "ips" not in answer:
            holder.kill()
            holder.wait()
            errors.seek(0)
            tail = errors.read().decode("utf-8", errors="replace").strip().splitlines()[-3:]
            reason = (
                answer.get("error")
                or " ".join(tail)
                or ("no answer in time" if not ready else "the placement driver ended")
            )
            raise ComputeTargetException(
                f"cannot place {node_count} node(s) of {per_node} process(es) on the Ray "
                f"cluster at {address}: {reason}"
            )
    placement = NodePlacement(
        [str(node_id) for node_id in answer["node_ids"]],
        [str(ip) for ip in answer["ips"]],
        int(answer["port"]),
        str(answer["strategy"]),
        holder,
    )
    note = f"placing {node_count} node(s) on Ray ({placement.strategy}): " + ", ".join(
        placement.ips
    )
    if answer.get("note"):
        note += f"; {answer['note']}"
    out.write((note + "\n").encode("utf-8"))
    return placement


def _hold(address: str, node_count: int, per_node: int) -> int:  # pragma: no cover - subprocess
    """The placement driver: reserve, report one JSON line, hold until stdin closes."""
    import logging
    import socket

    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    def say(answer: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()

    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    nodes = [node for node in ray.nodes() if node.get("Alive")]  # type: ignore[no-untyped-call]
    cpus = [float((node.get("Resources") or {}).get("CPU", 0)) for node in nodes]
    note = ""
    if len(nodes) >= node_count:
        strategy = "STRICT_SPREAD"
        fits = sorted(cpus, reverse=True)[node_count - 1] >= per_node
    else:
        strategy = "PACK"
        note = (
            f"the cluster has {len(nodes)} node(s) for node_count={node_count}: several of "
            "the run's nodes share a Ray node"
        )
        fits = sum(cpus) >= node_count * per_node
    if not fits:
        say(
            {
                "error": f"it has {len(nodes)} node(s) with {', '.join(f'{c:g}' for c in cpus)} "
                f"CPU(s); lower process_count_per_node or node_count, or add nodes"
            }
        )
        return 2
    group = placement_group([{"CPU": per_node}] * node_count, strategy=strategy)
    if not group.wait(PLACEMENT_TIMEOUT_SECONDS):
        remove_placement_group(group)
        say({"error": f"the nodes were not free within {PLACEMENT_TIMEOUT_SECONDS:g} s"})
        return 2

    @ray.remote(num_cpus=0)
    def where(port: bool) -> tuple[str, int]:
        free = 0
        if port:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("", 0))
                free = probe.getsockname()[1]
        return ray.get_runtime_context().get_node_id(), free

    found = ray.get(
        [
            where.options(
                scheduling_strategy=PlacementGroupSchedulingStrategy(
                    group, placement_group_bundle_index=index
                )
            ).remote(index == 0)
            for index in range(node_count)
        ]
    )
    # the address Ray knows each node by: its "node:<ip>" resource pins the rank's job
    addresses = {node["NodeID"]: node["NodeManagerAddress"] for node in nodes}
    say(
        {
            "node_ids": [node_id for node_id, _ in found],
            "ips": [addresses[node_id] for node_id, _ in found],
            "port": found[0][1],
            "strategy": strategy,
            "note": note,
        }
    )
    sys.stdin.read()  # until the supervisor closes it (or dies)
    remove_placement_group(group)
    return 0


if __name__ == "__main__":  # pragma: no cover - run by place_nodes
    sys.exit(_hold(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))


__all__ = ["NODE_VARIABLE", "NodePlacement", "job_pinning", "place_nodes", "ray_config"]
