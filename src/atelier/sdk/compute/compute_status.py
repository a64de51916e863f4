"""``ComputeTarget.get_status()``'s answer, shaped as azureml's status objects.

It is the provisioning state as a string (``status == "Succeeded"`` still works) that also
carries azureml's attributes: ``state``, ``provisioning_state``, ``provisioning_errors``,
the node counts and ``serialize()``.
"""

from __future__ import annotations

from typing import Any

from atelier.core.records import ComputeRecord

#: provisioning state -> the running state azureml reports beside it
_STATES = {"Succeeded": "Running", "Creating": "Creating", "Failed": "Failed"}


class ComputeTargetStatus(str):
    """The state of a compute target when it was read."""

    state: str
    provisioning_state: str
    provisioning_errors: list[dict[str, Any]]
    current_node_count: int
    target_node_count: int
    node_state_counts: dict[str, int]
    vm_size: str | None
    #: why the scaling settings are not applied as asked (None when they are)
    scaling_warning: str | None

    def __new__(
        cls, record: ComputeRecord, counts: dict[str, int] | None = None
    ) -> ComputeTargetStatus:
        """``counts``: a Ray cluster's nodes as it reported them (``ray_cluster.node_counts``:
        the head counts, it runs runs too; ``pending``: nodes its autoscaler is launching);
        without them a Ray target counts ``max_nodes``."""
        status = super().__new__(cls, record.state)
        config = record.config
        ready = record.state == "Succeeded"
        nodes = int(config.get("max_nodes") or 1) if record.kind == "ray" else 1
        pending = 0
        if counts is not None:
            nodes = counts["alive"]
            pending = counts.get("pending", 0)
        status.state = _STATES.get(record.state, record.state)
        status.provisioning_state = record.state
        status.provisioning_errors = [{"error": dict(record.error)}] if record.error else []
        status.current_node_count = nodes if ready else 0
        # the nodes alive and those the cluster's autoscaler is launching
        status.target_node_count = nodes + pending
        status.node_state_counts = {
            "idleNodeCount": status.current_node_count,
            "runningNodeCount": 0,
            "preparingNodeCount": pending if ready else nodes,
            "unusableNodeCount": (counts or {}).get("dead", 0),
            "leavingNodeCount": 0,
            "preemptedNodeCount": 0,
        }
        status.vm_size = config.get("vm_size")
        status.scaling_warning = config.get("scaling_warning")
        return status

    def serialize(self) -> dict[str, Any]:
        """The status as azureml's JSON keys."""
        return {
            "state": self.state,
            "provisioningState": self.provisioning_state,
            "provisioningErrors": list(self.provisioning_errors),
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": dict(self.node_state_counts),
            "vmSize": self.vm_size,
            "scalingWarning": self.scaling_warning,
        }
