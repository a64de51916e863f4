"""What a Ray cluster says about itself through its dashboard: its nodes, and whether an
autoscaler runs it (what ``AmlCompute``'s ``min_nodes``/``max_nodes``/
``idle_seconds_before_scaledown`` can map onto). Plain HTTP, no Ray import: ``get_status()``
reads it on any client.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["node_counts", "scaling_report"]

_TIMEOUT_SECONDS = 5.0


def _get(address: str, path: str, timeout: float) -> dict[str, Any]:
    with urllib.request.urlopen(f"{address.rstrip('/')}{path}", timeout=timeout) as response:
        found: dict[str, Any] = json.loads(response.read() or b"{}")
    return found.get("data") or {}


def node_counts(address: str, timeout: float = _TIMEOUT_SECONDS) -> dict[str, int] | None:
    """The cluster's nodes by state (``alive``, ``dead``), its worker nodes alive and the
    nodes its autoscaler is launching (``pending``, 0 without one), or None when its
    dashboard does not answer."""
    try:
        data = _get(address, "/api/v0/nodes?limit=10000", timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    nodes = (data.get("result") or {}).get("result") or []
    alive = [node for node in nodes if node.get("state") == "ALIVE"]
    return {
        "alive": len(alive),
        "dead": len(nodes) - len(alive),
        "workers": sum(1 for node in alive if not node.get("is_head_node")),
        "pending": _pending(address, timeout),
    }


def _pending(address: str, timeout: float) -> int:
    """How many nodes the cluster's autoscaler is launching (not yet joined)."""
    try:
        data = _get(address, "/api/cluster_status", timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return 0
    report = (data.get("clusterStatus") or {}).get("autoscalerReport") or {}
    launching = report.get("pendingLaunches") or {}
    return sum(int(count) for count in launching.values()) + len(report.get("pendingNodes") or [])


def _has_autoscaler(address: str, timeout: float) -> bool | None:
    """True when the cluster's monitor lists worker node types it can launch (a cluster made
    by ``ray up`` or KubeRay); False for a fixed cluster (``ray start`` by hand, whose monitor
    lists none); None when the dashboard does not say."""
    try:
        data = _get(address, "/api/cluster_status", timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    status = str(data.get("autoscalingStatus") or "")
    if "Worker node types:" not in status:
        return None
    types = status.split("Worker node types:", 1)[1]
    return any(line.strip().startswith("- ") for line in types.splitlines())


def scaling_report(settings: dict[str, Any], address: str) -> dict[str, Any]:
    """How the target's scaling settings apply to the cluster at ``address``, for its config:
    ``autoscaler`` (True, False, or None when unknown) and, when they cannot be applied as
    asked, ``scaling_warning`` saying so (never silently ignored)."""
    defaults = {"min_nodes": 0, "max_nodes": 1, "idle_seconds_before_scaledown": None}
    asked = {
        key: settings.get(key)
        for key, default in defaults.items()
        if settings.get(key) is not None and settings.get(key) != default
    }
    autoscaler = _has_autoscaler(address, _TIMEOUT_SECONDS)
    report: dict[str, Any] = {"autoscaler": autoscaler}
    counts = node_counts(address) or {}
    if autoscaler:
        if asked:
            report["scaling_warning"] = (
                f"{_listed(asked)}: the cluster's Ray autoscaler scales it within the bounds of "
                "its own configuration (max_workers, min_workers, idle_timeout_minutes of its "
                "cluster YAML or RayCluster resource); runs ask it for nodes through their "
                "resources"
            )
        return report
    if asked:
        alive = counts.get("alive")
        have = f"it has {alive} node(s)" if alive is not None else "its node count is unknown"
        report["scaling_warning"] = (
            f"{_listed(asked)} not applied: this Ray cluster has no autoscaler ({have}); "
            "start it with one (ray up, KubeRay) to scale, or add nodes with `ray start "
            "--address <head>`"
        )
    return report


def _listed(asked: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in asked.items())
