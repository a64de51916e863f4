"""The manager's decisions, on deployments made by hand: autoscaling steps and routing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from atelier.serving.replicas import READY, Deployment, Replica
from atelier.serving.scaling import SCALE_DOWN_AFTER_SECONDS, autoscale_step, rollout_count
from atelier.serving.traffic import direct_deployment, route
from atelier.serving.upstream import Upstream

AUTOSCALED = {
    "autoscale_enabled": True,
    "autoscale_min_replicas": 1,
    "autoscale_max_replicas": 3,
    "autoscale_target_in_flight": 4,
}


@pytest.fixture
def process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process for the replicas to stand for (only its pid is read)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield sleeper
    sleeper.kill()
    sleeper.wait()


def _deployment(
    process: subprocess.Popen[bytes], replicas: int, spec: dict[str, Any], name: str = "blue"
) -> Deployment:
    deployment = Deployment(name=name, spec=spec)
    for index in range(replicas):
        client = Upstream("127.0.0.1", 9, "key", 1.0)
        deployment.active.append(
            Replica(name, index, 1, 9, process, client, state=READY, in_flight=index)
        )
    return deployment


def test_a_busy_deployment_grows_by_one(process: subprocess.Popen[bytes]) -> None:
    deployment = _deployment(process, 1, AUTOSCALED)
    deployment.samples = [9.0] * 10
    step = autoscale_step(deployment, now=100.0)
    assert step is not None
    assert step.remove is None
    assert "adding a replica to 'blue'" in step.reason
    deployment.active.extend(_deployment(process, 2, AUTOSCALED).active)
    assert autoscale_step(deployment, now=100.0) is None  # at the maximum


def test_a_quiet_deployment_shrinks_only_after_a_quiet_spell(
    process: subprocess.Popen[bytes],
) -> None:
    deployment = _deployment(process, 2, AUTOSCALED)
    deployment.samples = [0.0] * 10
    assert autoscale_step(deployment, now=100.0) is None
    assert deployment.low_since == 100.0
    step = autoscale_step(deployment, now=100.0 + SCALE_DOWN_AFTER_SECONDS)
    assert step is not None
    assert step.remove is deployment.active[1]  # the highest index goes
    assert deployment.low_since is None


def test_no_step_without_autoscaling_or_during_a_rollout(
    process: subprocess.Popen[bytes],
) -> None:
    fixed = _deployment(process, 1, {"num_replicas": 1})
    fixed.samples = [50.0]
    assert autoscale_step(fixed, now=1.0) is None
    rolling = _deployment(process, 1, AUTOSCALED)
    rolling.samples, rolling.busy = [50.0], True
    assert autoscale_step(rolling, now=1.0) is None


def test_a_rollout_keeps_the_capacity_autoscaling_reached(
    process: subprocess.Popen[bytes],
) -> None:
    assert rollout_count(_deployment(process, 3, AUTOSCALED), AUTOSCALED) == 3
    assert rollout_count(Deployment(name="new"), {"num_replicas": 2}) == 2


def test_the_traffic_split_and_the_requested_deployment(
    process: subprocess.Popen[bytes],
) -> None:
    blue = _deployment(process, 2, {}, "blue")
    green = _deployment(process, 1, {}, "green")
    deployments = {"blue": blue, "green": green}
    traffic = {"blue": 90, "green": 10}
    assert route(deployments, traffic, None, 0.5) == (blue, blue.active[0])
    assert route(deployments, traffic, None, 0.95) == (green, green.active[0])
    assert route(deployments, traffic, "green", 0.0) == (green, green.active[0])
    assert route(deployments, traffic, "red", 0.0) == (None, None)
    assert direct_deployment(deployments, traffic) is None  # two deployments: the router
    assert direct_deployment({"blue": blue}, {"blue": 100}) is blue
