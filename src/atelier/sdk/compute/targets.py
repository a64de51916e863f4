"""Compute targets with azureml's names: ``ComputeTarget``, ``AmlCompute``, ``RemoteCompute``.

``local`` exists in every workspace. A cluster (``AmlCompute``) runs on Ray and a
``RemoteCompute`` is a machine reached over SSH; their provisioning lives in
``atelier.execution`` and is loaded only when used.
"""

from __future__ import annotations

import builtins
import contextlib
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AtelierError, ComputeTargetException, ValidationError
from atelier.core.records import ComputeRecord
from atelier.core.timeutil import ms_to_iso
from atelier.execution.compute import provision
from atelier.sdk.compute.compute_status import ComputeTargetStatus

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

_TYPES = {"local": "Local", "ray": "AmlCompute", "ssh": "RemoteCompute"}


@dataclass
class AmlComputeProvisioningConfiguration:
    """A Ray cluster: ``address`` of an existing one, or None to start a local head."""

    vm_size: str = "local"
    min_nodes: int = 0
    max_nodes: int = 1
    address: str | None = None
    idle_seconds_before_scaledown: int | None = None
    tags: dict[str, str] | None = None
    description: str | None = None
    #: False: the cluster's nodes share no filesystem with this machine (the run's
    #: supervisor runs on the node); None: decided per run (see ray_handover.node_supervised)
    shared_filesystem: bool | None = None
    #: the Ray resources a run's job needs on its node (e.g. {"CPU": 1, "trainer": 1})
    resources: dict[str, float] | None = None
    #: the interpreter on the nodes that has Atelier and Ray (default: python3 on PATH)
    node_python: str | None = None
    #: how long a node's warm launcher waits for the next run (0: a Ray job per run)
    launcher_idle_seconds: float | None = None
    kind: str = "ray"


@dataclass
class RemoteComputeAttachConfiguration:
    address: str
    ssh_port: int = 22
    username: str = ""
    private_key_file: str | None = None
    password: str | None = None
    python: str | None = None
    work_root: str | None = None
    kind: str = "ssh"


class ComputeTarget:
    """``ComputeTarget(ws, name)`` opens a target; ``ComputeTargetNotFoundError`` (a
    ``ComputeTargetException``) if the workspace has none of that name."""

    def __init__(self, workspace: Workspace, name: str, *, _record: ComputeRecord | None = None):
        self.workspace = workspace
        self._record = _record or workspace._backend.compute.get(workspace.name, name)

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def type(self) -> str:
        return _TYPES.get(self._record.kind, self._record.kind)

    @property
    def provisioning_state(self) -> str:
        return self._record.state

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._record.config)

    @property
    def tags(self) -> dict[str, str]:
        """The tags given to ``provisioning_configuration(tags=...)``."""
        return dict(self._record.config.get("tags") or {})

    @property
    def description(self) -> str | None:
        return self._record.config.get("description")

    @property
    def location(self) -> str | None:
        return self.workspace.location

    def serialize(self) -> dict[str, Any]:
        """The target as azureml's JSON: name, type, state, its settings and errors."""
        return {
            "id": self._record.id,
            "name": self.name,
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "computeType": self.type,
                "description": self.description,
                "provisioningState": self._record.state,
                "provisioningErrors": self.get_status().provisioning_errors,
                "createdOn": ms_to_iso(self._record.created_ms),
                "properties": {
                    k: v for k, v in self._record.config.items() if k not in ("tags", "description")
                },
            },
        }

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Register and provision a target from ``AmlCompute.provisioning_configuration``."""
        return ComputeTarget._add(workspace, name, provisioning_configuration)

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> ComputeTarget:
        """Attach an existing machine from ``RemoteCompute.attach_configuration``."""
        return ComputeTarget._add(workspace, name, attach_configuration)

    @staticmethod
    def _add(workspace: Workspace, name: str, configuration: Any) -> ComputeTarget:
        kind = getattr(configuration, "kind", None)
        if kind not in ("ray", "ssh"):
            raise ValidationError(
                "give AmlCompute.provisioning_configuration(...) or "
                "RemoteCompute.attach_configuration(...)"
            )
        # a password is never stored: only key authentication is used
        settings = {k: v for k, v in asdict(configuration).items() if k not in ("kind", "password")}
        if getattr(configuration, "password", None) and not settings.get("private_key_file"):
            raise ComputeTargetException(
                "SSH targets need a private_key_file; password logins are not supported"
            )
        backend = workspace._backend
        record = backend.compute.create(workspace.name, name, kind, settings)
        try:
            provisioned = provision(kind, settings, workspace.name, name)
        except ComputeTargetException as exc:
            if kind == "ssh":  # an attach that failed leaves nothing: the name stays free
                with contextlib.suppress(AtelierError):
                    backend.compute.delete(workspace.name, name)
                raise
            record = backend.compute.update(
                workspace.name, name, state="Failed", error={"message": exc.message}
            )
            raise
        kept = {key: settings[key] for key in ("tags", "description") if settings.get(key)}
        try:
            record = backend.compute.update(
                workspace.name, name, state="Succeeded", config={**provisioned, **kept}
            )
        except BaseException:
            if kind == "ray" and provisioned.get("started_head"):
                from atelier.execution.ray_provision import stop_local_head

                stop_local_head(provisioned)  # nothing would remember to stop it
            raise
        return ComputeTarget(workspace, name, _record=record)

    @classmethod
    def list(cls, workspace: Workspace) -> builtins.list[ComputeTarget]:
        records = workspace._backend.compute.list(workspace.name)
        return [cls(workspace, r.name, _record=r) for r in records]

    def refresh_state(self) -> None:
        self._record = self.workspace._backend.compute.get(self.workspace.name, self.name)

    def get_status(self) -> ComputeTargetStatus:
        """The target's state now: a string (``"Succeeded"``, ``"Creating"``,
        ``"Failed"``) with azureml's ``state``, ``provisioning_state``,
        ``provisioning_errors``, node counts (a Ray cluster's read from it), the
        ``scaling_warning`` and ``serialize()``."""
        self.refresh_state()
        counts = None
        if self._record.kind == "ray" and self._record.state == "Succeeded":
            from atelier.execution.ray_cluster import node_counts

            counts = node_counts(str(self._record.config.get("address") or ""), timeout=2.0)
        return ComputeTargetStatus(self._record, counts)

    def detach(self) -> None:
        """Remove an attached target from the workspace, leaving the machine (or the
        cluster at its address) as it is; ``ComputeTargetException`` for ``local``."""
        if self._record.kind == "local":
            raise ComputeTargetException("the 'local' target cannot be detached")
        self.workspace._backend.compute.delete(self.workspace.name, self.name)

    def wait_for_completion(
        self, show_output: bool = False, timeout_in_minutes: float = 20
    ) -> None:
        """Wait while the target is Creating; raise ``ComputeTargetException`` if it failed."""
        deadline = time.monotonic() + timeout_in_minutes * 60
        while self.get_status() == "Creating" and time.monotonic() < deadline:
            time.sleep(0.5)
        if show_output:
            print(f"{self.name}: {self._record.state}")
        if self._record.state == "Failed":
            message = (self._record.error or {}).get("message", "provisioning failed")
            raise ComputeTargetException(f"compute target {self.name!r} failed: {message}")

    def update(
        self,
        max_concurrent_runs: int | None = None,
        *,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
    ) -> None:
        """Change how many runs the target executes at once (the rest wait, in order) and,
        for a Ray cluster (``AmlCompute``), its scale settings: a head started for the
        target applies them at its autoscaler's next look (within a few seconds), a cluster
        given by address keeps them reported in ``get_status().scaling_warning``."""
        scale = {
            key: value
            for key, value in (
                ("min_nodes", min_nodes),
                ("max_nodes", max_nodes),
                ("idle_seconds_before_scaledown", idle_seconds_before_scaledown),
            )
            if value is not None
        }
        config: dict[str, Any] = {}
        if scale:
            if self._record.kind != "ray":
                raise ComputeTargetException(
                    f"{self.name!r} is a {self.type} target: min_nodes, max_nodes and "
                    "idle_seconds_before_scaledown apply to AmlCompute (Ray) targets only"
                )
            self.refresh_state()
            current = self._record.config
            _check_scale(
                int(scale.get("min_nodes", current.get("min_nodes") or 0)),
                int(scale.get("max_nodes", current.get("max_nodes") or 1)),
                scale.get("idle_seconds_before_scaledown"),
            )
            from atelier.execution.ray_provision import rescale

            config.update(rescale(current, scale))
        if max_concurrent_runs is not None:
            config["max_concurrent_runs"] = max_concurrent_runs
        self._record = self.workspace._backend.compute.update(
            self.workspace.name, self.name, config=config
        )

    def delete(self) -> None:
        """Delete the target (refused while it has unfinished runs); a Ray head this
        machine started for it is stopped."""
        self.workspace._backend.compute.delete(self.workspace.name, self.name)
        if self._record.kind == "ray" and self._record.config.get("started_head"):
            from atelier.execution.ray_provision import stop_local_head

            stop_local_head(self._record.config)

    def __repr__(self) -> str:
        return (
            f"ComputeTarget(name={self.name!r}, type={self.type!r}, state={self._record.state!r})"
        )


class AmlCompute(ComputeTarget):
    @staticmethod
    def provisioning_configuration(
        vm_size: str = "local",
        min_nodes: int = 0,
        max_nodes: int = 1,
        idle_seconds_before_scaledown: int | None = None,
        address: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        shared_filesystem: bool | None = None,
        resources: dict[str, float] | None = None,
        node_python: str | None = None,
        launcher_idle_seconds: float | None = None,
        **kwargs: Any,
    ) -> AmlComputeProvisioningConfiguration:
        """A Ray cluster at ``address`` (``ray://host:10001`` or a Jobs URL ``http://host:8265``),
        or, without one, a Ray head started on this machine.

        Beyond azureml's arguments: ``shared_filesystem=False`` says the cluster's nodes share
        no filesystem with this machine, so each run's supervisor runs on its node (the
        default for a workspace on a server); ``resources`` are the Ray resources a run's
        job needs (a custom resource pins runs to the nodes that have it); ``node_python``
        is the nodes' interpreter with Atelier and Ray (default ``python3`` on their PATH);
        ``launcher_idle_seconds`` is how long a node's warm launcher (a Ray job holding one
        run's ``resources``) waits for the next run after one ended (default 60; 0 starts a
        Ray job for every run).
        """
        del kwargs
        _check_scale(min_nodes, max_nodes, idle_seconds_before_scaledown)
        checked: dict[str, float] = {}
        for name, amount in (resources or {}).items():
            if not isinstance(name, str) or not name or isinstance(amount, bool):
                raise ValidationError("resources maps Ray resource names to amounts > 0")
            if not isinstance(amount, int | float) or amount <= 0:
                raise ValidationError(
                    f"resource {name!r} needs an amount > 0, got {amount!r}; e.g. {{{name!r}: 1}}"
                )
            checked[name] = float(amount)
        if launcher_idle_seconds is not None and (
            isinstance(launcher_idle_seconds, bool)
            or not isinstance(launcher_idle_seconds, int | float)
            or launcher_idle_seconds < 0
        ):
            raise ValidationError(
                "launcher_idle_seconds must be a number of seconds >= 0 (0: a Ray job per run)"
            )
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            address=address,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
            tags=dict(tags) if tags else None,
            description=description,
            shared_filesystem=shared_filesystem,
            resources=checked or None,
            node_python=node_python,
            launcher_idle_seconds=launcher_idle_seconds,
        )

    def update(  # type: ignore[override]
        self,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        max_concurrent_runs: int | None = None,
    ) -> None:
        """azureml's ``AmlCompute.update``: new scale settings for the cluster (see
        :meth:`ComputeTarget.update`)."""
        super().update(
            max_concurrent_runs,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
        )


def _check_scale(min_nodes: int, max_nodes: int, idle_seconds: int | None) -> None:
    if min_nodes < 0 or max_nodes < max(1, min_nodes):
        raise ValidationError(
            f"need 0 <= min_nodes <= max_nodes and max_nodes >= 1, got min_nodes={min_nodes}, "
            f"max_nodes={max_nodes}"
        )
    if idle_seconds is not None and idle_seconds < 0:
        raise ValidationError("idle_seconds_before_scaledown must be >= 0 (or None)")


class RemoteCompute(ComputeTarget):
    @staticmethod
    def attach_configuration(
        address: str,
        ssh_port: int = 22,
        username: str = "",
        password: str | None = None,
        private_key_file: str | None = None,
        private_key_passphrase: str | None = None,
        python: str | None = None,
        work_root: str | None = None,
        **kwargs: Any,
    ) -> RemoteComputeAttachConfiguration:
        """An SSH-reachable machine with Atelier installed (``python`` names its interpreter
        when it is not ``python3``); key authentication only."""
        del private_key_passphrase, kwargs
        if not address:
            raise ValidationError("give the machine's address")
        return RemoteComputeAttachConfiguration(
            address=address,
            ssh_port=ssh_port,
            username=username,
            private_key_file=private_key_file,
            password=password,
            python=python,
            work_root=work_root,
        )
