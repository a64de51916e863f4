"""Distributed runs: a run whose definition holds a ``distributed_job_config`` (from
``MpiConfiguration`` / ``PyTorchConfiguration``) starts one process per rank.

Each process is a child run of the submitted run (``Run.get_context()`` in it returns its
own child, named ``rank-N``) and gets the variables ``torch.distributed``'s ``env://``
rendezvous reads (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``) and those azureml and Open MPI set (``AZ_BATCH_MASTER_NODE``,
``OMPI_COMM_WORLD_RANK`` ...). The group ends when every process has; its exit code is the
first non-zero one. On a local target all processes run on this machine (one node); on a
Ray target each of the ``node_count`` nodes is a bundle of a placement group on the
cluster and its ranks run there (:mod:`atelier.execution.distributed_ray`).
"""

from __future__ import annotations

import collections
import contextlib
import socket
from pathlib import Path
from typing import IO, Any

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.core.errors import AtelierError, ValidationError
from atelier.core.status import RunStatus
from atelier.execution import distributed_ray
from atelier.execution.compute import Executor, ScriptProcess
from atelier.execution.distributed_ray import NodePlacement

#: where the processes of one machine meet
MASTER_ADDR = "127.0.0.1"


def process_count(definition: dict[str, Any]) -> int:
    """How many processes the run's definition asks for (1 when it is not distributed)."""
    nodes, per_node = node_layout(definition)
    return nodes * per_node


def node_layout(definition: dict[str, Any]) -> tuple[int, int]:
    """``(node_count, process_count_per_node)`` of the run's definition."""
    config = definition.get("distributed_job_config") or {}
    if not config:
        return 1, 1
    return int(config.get("node_count") or 1), int(config.get("process_count_per_node") or 1)


def rank_environment(
    rank: int,
    world_size: int,
    master_port: int,
    master_addr: str = MASTER_ADDR,
    per_node: int | None = None,
) -> dict[str, str]:
    """The variables process ``rank`` of ``world_size`` is started with; ranks
    ``n * per_node ...`` run on node ``n`` (one node when ``per_node`` is not given)."""
    per_node = per_node or world_size
    node, local = divmod(rank, per_node)
    return {
        "MASTER_ADDR": master_addr,
        "MASTER_PORT": str(master_port),
        "RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "LOCAL_RANK": str(local),
        "LOCAL_WORLD_SIZE": str(per_node),
        "NODE_RANK": str(node),
        "GROUP_RANK": str(node),
        "AZ_BATCH_MASTER_NODE": f"{master_addr}:{master_port}",
        "AZ_BATCHAI_MPI_MASTER_NODE": master_addr,
        "AZUREML_NODE_COUNT": str(world_size // per_node),
        "OMPI_COMM_WORLD_RANK": str(rank),
        "OMPI_COMM_WORLD_SIZE": str(world_size),
        "OMPI_COMM_WORLD_LOCAL_RANK": str(local),
        "OMPI_COMM_WORLD_LOCAL_SIZE": str(per_node),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((MASTER_ADDR, 0))
        port: int = probe.getsockname()[1]
        return port


class ProcessGroup:
    """The processes of a distributed run, seen by the supervisor as one script."""

    def __init__(
        self,
        processes: list[ScriptProcess],
        children: list[str],
        backend: Backend,
        workspace: str,
        placement: NodePlacement | None = None,
    ) -> None:
        self.placement = placement
        self.processes = processes
        self.children = children
        self.backend = backend
        self.workspace = workspace
        self.codes: list[int | None] = [None] * len(processes)

    @property
    def local_pid(self) -> int | None:
        return self.processes[0].local_pid

    def wait(self, timeout: float) -> int | None:
        share = timeout / max(1, len(self.processes))
        for index, process in enumerate(self.processes):
            if self.codes[index] is None:
                self.codes[index] = process.wait(share)
                if self.codes[index] is not None:
                    self._end_child(index)
        if any(code is None for code in self.codes):
            if any(code for code in self.codes):  # one rank failed: the others would hang
                for index, process in enumerate(self.processes):
                    if self.codes[index] is None:
                        process.stop()
            return None
        return next((code for code in self.codes if code), 0)

    def _end_child(self, index: int) -> None:
        code = self.codes[index]
        status = RunStatus.COMPLETED if code == 0 else RunStatus.FAILED
        error = None if code == 0 else {"message": f"rank {index} exited with code {code}"}
        with contextlib.suppress(AtelierError):
            self.backend.runs.transition(
                self.workspace, self.children[index], status, error=error, exit_code=code
            )

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def close(self) -> None:
        for process in self.processes:
            process.close()
        if self.placement is not None:
            self.placement.release()


def start_group(
    runner: Executor,
    backend: Backend,
    supervision: SupervisionAPI,
    workspace: str,
    run: dict[str, Any],
    command: list[str],
    workdir: Path,
    env: dict[str, str],
    out: IO[bytes],
    stderr_tail: collections.deque[str],
) -> ProcessGroup:
    """Create a child run per rank and start the ranks (``run``: its id, experiment and
    definition). ``ValidationError`` when the target cannot hold the processes."""
    nodes, per_node = node_layout(run["definition"])
    count = nodes * per_node
    ray = distributed_ray.ray_config(runner)
    if count > 64 and ray is None:
        raise ValidationError(
            f"a distributed run on one machine takes at most 64 processes, not {count}"
        )
    placement = None
    if ray is not None:
        placement = distributed_ray.place_nodes(ray, nodes, per_node, out)
        master, port = placement.ips[0], placement.master_port
    else:
        master, port = MASTER_ADDR, free_port()
    children: list[str] = []
    processes: list[ScriptProcess] = []
    try:
        for rank in range(count):
            child = backend.runs.create(
                workspace,
                run["experiment"],
                parent_run_id=run["run_id"],
                display_name=f"rank-{rank}",
                status=RunStatus.RUNNING,
                run_type="azureml.scriptrun",
                target=run["target"],
            )
            children.append(child.run_id)
            rank_env = {
                **env,
                **supervision.run_environment(workspace, child.run_id),
                **rank_environment(rank, count, port, master, per_node),
                "ATELIER_RUN_ID": child.run_id,
                "AZUREML_RUN_ID": child.run_id,
            }
            if placement is not None:
                rank_env[distributed_ray.NODE_VARIABLE] = placement.pin(rank // per_node)
            processes.append(runner.start(command, workdir, rank_env, out, stderr_tail))
    except BaseException:
        for process in processes:
            process.stop()
        if placement is not None:
            placement.release()
        for child_id in children:
            with contextlib.suppress(AtelierError):
                backend.runs.transition(
                    workspace,
                    child_id,
                    RunStatus.FAILED,
                    error={"message": "the distributed run did not start"},
                )
        raise
    return ProcessGroup(processes, children, backend, workspace, placement)
