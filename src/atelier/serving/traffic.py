"""Where an endpoint's requests go: the traffic split between its deployments, and
whether one deployment's replicas take client connections themselves."""

from __future__ import annotations

from atelier.serving.replicas import Deployment, Replica

__all__ = ["direct_deployment", "route"]


def route(
    deployments: dict[str, Deployment], traffic: dict[str, int], requested: str | None, draw: float
) -> tuple[Deployment | None, Replica | None]:
    """The deployment (by name, or by the traffic split with ``draw`` in [0, 1)) and its
    least busy ready replica; ``None`` for what is missing."""
    if requested is not None:
        deployment = deployments.get(requested)
        return deployment, deployment.pick() if deployment else None
    total = sum(traffic.values())
    point = draw * total
    for name, share in traffic.items():
        point -= share
        if point < 0 or name == next(reversed(traffic)):
            deployment = deployments.get(name)
            if deployment is None:
                return None, None
            return deployment, deployment.pick()
    return None, None


def direct_deployment(
    deployments: dict[str, Deployment], traffic: dict[str, int]
) -> Deployment | None:
    """The deployment whose replicas take client connections themselves: the only one,
    taking traffic, without model data collection or autoscaling (else the router
    proxies: autoscaling needs to see the requests queued per replica, and a replica
    scoring one request at a time cannot report those)."""
    if len(deployments) != 1:
        return None
    deployment = next(iter(deployments.values()))
    spec = deployment.spec
    if not traffic.get(deployment.name) or spec.get("collect_model_data"):
        return None
    if spec.get("autoscale_enabled"):
        return None
    return deployment
