"""azureml's job configuration objects: ``DockerConfiguration`` for a run's container and
``MpiConfiguration`` / ``PyTorchConfiguration`` for a distributed run
(``ScriptRunConfig(distributed_job_config=...)``).

A distributed configuration says how many processes a run starts; each is given the
variables ``torch.distributed`` and MPI programs read (``MASTER_ADDR``, ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``OMPI_COMM_WORLD_RANK`` ...): see
``atelier.execution.distributed``.
"""

from __future__ import annotations

from typing import Any

from atelier.core.errors import ValidationError


def _count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return value


class DockerConfiguration:
    """Whether (and how) a run's environment runs in a container (azureml's shape)."""

    def __init__(
        self,
        use_docker: bool = False,
        shared_volumes: bool = True,
        arguments: list[str] | None = None,
        shm_size: str | None = "2g",
    ) -> None:
        if arguments is not None and (
            not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments)
        ):
            raise ValidationError("DockerConfiguration arguments must be a list of strings")
        self.use_docker = bool(use_docker)
        self.shared_volumes = bool(shared_volumes)
        self.arguments: list[str] = list(arguments or [])
        self.shm_size = shm_size

    def to_dict(self) -> dict[str, Any]:
        return {
            "use_docker": self.use_docker,
            "shared_volumes": self.shared_volumes,
            "arguments": list(self.arguments),
            "shm_size": self.shm_size,
        }

    def __repr__(self) -> str:
        return f"DockerConfiguration(use_docker={self.use_docker})"


class _DistributedConfiguration:
    """What both distributed configurations share: processes per node and node count."""

    framework = "Python"
    communicator = "None"

    def __init__(self, process_count_per_node: int, node_count: int) -> None:
        self.process_count_per_node = _count("process_count_per_node", process_count_per_node)
        self.node_count = _count("node_count", node_count)

    @property
    def process_count(self) -> int:
        """Processes in the whole job: per node times nodes."""
        return self.process_count_per_node * self.node_count

    def to_dict(self) -> dict[str, Any]:
        return {
            "communicator": self.communicator,
            "process_count_per_node": self.process_count_per_node,
            "node_count": self.node_count,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(process_count={self.process_count}, "
            f"node_count={self.node_count})"
        )


class MpiConfiguration(_DistributedConfiguration):
    """An MPI job: ``process_count_per_node`` processes on each of ``node_count`` nodes."""

    communicator = "IntelMpi"

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        super().__init__(process_count_per_node, node_count)


class PyTorchConfiguration(_DistributedConfiguration):
    """A ``torch.distributed`` job: ``process_count`` processes in all (default: one per
    node) over ``node_count`` nodes, rendezvous through ``MASTER_ADDR``/``MASTER_PORT``."""

    communicator = "ParameterServer"

    def __init__(
        self,
        communication_backend: str = "Nccl",
        process_count: int | None = None,
        node_count: int = 1,
    ) -> None:
        node_count = _count("node_count", node_count)
        total = node_count if process_count is None else _count("process_count", process_count)
        if total % node_count:
            raise ValidationError(
                f"process_count ({total}) must be a multiple of node_count ({node_count})"
            )
        if not isinstance(communication_backend, str) or not communication_backend:
            raise ValidationError("communication_backend must be a name such as 'Nccl' or 'Gloo'")
        super().__init__(total // node_count, node_count)
        self.communication_backend = communication_backend

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "communication_backend": self.communication_backend}


def distributed_from_dict(data: dict[str, Any] | None) -> _DistributedConfiguration | None:
    """The configuration a run definition recorded (``to_dict``), or None."""
    if not data:
        return None
    if data.get("communicator") == PyTorchConfiguration.communicator:
        return PyTorchConfiguration(
            str(data.get("communication_backend") or "Nccl"),
            int(data["process_count_per_node"]) * int(data["node_count"]),
            int(data["node_count"]),
        )
    return MpiConfiguration(int(data["process_count_per_node"]), int(data["node_count"]))
