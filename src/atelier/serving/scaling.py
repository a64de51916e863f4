"""The endpoint manager's decisions about replica counts: how many a rollout starts,
when autoscaling adds or removes one, and which replicas fail their health checks.

They read a :class:`~atelier.serving.replicas.Deployment` and answer; the manager
(:mod:`atelier.serving.manager`) acts on the answer.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from atelier.serving.replicas import HOST, Deployment, Replica
from atelier.serving.upstream import Upstream, UpstreamError

__all__ = [
    "HealthWatch",
    "ScaleStep",
    "autoscale_step",
    "health_seconds",
    "health_timeout_seconds",
    "rollout_count",
]

#: a ready replica is asked for /healthz this often; this many misses in a row restart it
HEALTH_SECONDS = 2.0
HEALTH_TIMEOUT_SECONDS = 2.0
HEALTH_MISSES = 3
#: variables of the endpoint's process that change the two periods above, for an operator
#: who wants a frozen replica replaced sooner (or later): seconds, a positive number
HEALTH_SECONDS_VARIABLE = "ATELIER_ENDPOINT_HEALTH_SECONDS"
HEALTH_TIMEOUT_VARIABLE = "ATELIER_ENDPOINT_HEALTH_TIMEOUT_SECONDS"


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 else default


def health_seconds() -> float:
    """How long the endpoint's manager waits between two rounds of health checks."""
    return _seconds(HEALTH_SECONDS_VARIABLE, HEALTH_SECONDS)


def health_timeout_seconds() -> float:
    """How long a replica has to answer one health check."""
    return _seconds(HEALTH_TIMEOUT_VARIABLE, HEALTH_TIMEOUT_SECONDS)


#: below a quarter of the target for this long, an autoscaled deployment shrinks by one
SCALE_DOWN_AFTER_SECONDS = 10.0


def rollout_count(deployment: Deployment, spec: dict[str, Any]) -> int:
    """How many replicas a rollout of ``spec`` starts: the spec's count, but with
    autoscaling at least as many as serve now (a rollout must not shrink capacity that
    autoscaling reached under load), up to the maximum."""
    count = max(1, Deployment(name="", spec=spec).desired())
    if spec.get("autoscale_enabled"):
        high = int(spec.get("autoscale_max_replicas") or count)
        count = min(max(count, len(deployment.active)), high)
    return count


@dataclass(frozen=True)
class ScaleStep:
    """One autoscaling step: start one more replica, or drain ``remove``."""

    reason: str
    remove: Replica | None = None


def autoscale_step(deployment: Deployment, now: float) -> ScaleStep | None:
    """What autoscaling does now for ``deployment`` (``now`` on the monotonic clock), or
    ``None``. It grows while the replicas average more than ``autoscale_target_in_flight``
    requests in flight, and shrinks by one after :data:`SCALE_DOWN_AFTER_SECONDS` below a
    quarter of it; ``deployment.low_since`` keeps when that quiet spell began."""
    spec = deployment.spec
    if not spec.get("autoscale_enabled") or deployment.busy or not deployment.active:
        return None
    low = int(spec.get("autoscale_min_replicas") or 1)
    high = int(spec.get("autoscale_max_replicas") or low)
    target = float(spec.get("autoscale_target_in_flight") or 4)
    count = len(deployment.active) + len(deployment.starting)
    samples = deployment.samples[-10:] or [0.0]
    per_replica = sum(samples) / len(samples) / max(1, len(deployment.active))
    if per_replica > target and count < high:
        deployment.low_since = None
        return ScaleStep(
            f"autoscale: {per_replica:.1f} requests in flight per replica > {target:g}; "
            f"adding a replica to {deployment.name!r}"
        )
    if per_replica < target / 4 and len(deployment.active) > low and not deployment.starting:
        deployment.low_since = deployment.low_since or now
        if now - deployment.low_since >= SCALE_DOWN_AFTER_SECONDS:
            deployment.low_since = None
            victim = max(deployment.active, key=lambda replica: replica.index)
            return ScaleStep(f"autoscale: removing replica {victim.label}, load is low", victim)
        return None
    deployment.low_since = None
    return None


async def answers_health(replica: Replica, internal_key: str) -> bool:
    """Whether the replica answers ``GET /healthz`` with 200 within the timeout."""
    timeout = health_timeout_seconds()
    probe = Upstream(HOST, replica.port, internal_key, timeout)
    try:
        answer = await asyncio.wait_for(probe.request("GET", "/healthz"), timeout)
    except (UpstreamError, TimeoutError):
        return False
    finally:
        await probe.aclose()
    return answer.status == 200


class HealthWatch:
    """Counts each replica's health checks missed in a row."""

    def __init__(self, internal_key: str) -> None:
        self.internal_key = internal_key
        self.misses: dict[int, int] = {}

    async def failing(self, replicas: list[Replica]) -> list[Replica]:
        """Probe ``replicas`` once; those that have now missed :data:`HEALTH_MISSES` checks
        in a row. A busy replica does not miss: it scores one request at a time on its
        event loop, so during a slow ``run()`` (bounded by the scoring timeout) it cannot
        answer a probe."""
        answers = await asyncio.gather(
            *(answers_health(replica, self.internal_key) for replica in replicas)
        )
        alive = {replica.process.pid for replica in replicas}
        self.misses = {pid: count for pid, count in self.misses.items() if pid in alive}
        failing = []
        for replica, healthy in zip(replicas, answers, strict=True):
            pid = replica.process.pid
            missed = 0 if healthy or replica.busy() else self.misses.get(pid, 0) + 1
            self.misses[pid] = missed
            if missed >= HEALTH_MISSES:
                failing.append(replica)
        return failing
