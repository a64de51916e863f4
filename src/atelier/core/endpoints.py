"""Records for endpoints and their deployments: plain data that services return and
backends carry.

An *endpoint* is one scoring address (a port on this host) with two keys and a traffic
split; behind it run one or more named *deployments* (``blue``, ``green``…), each a set of
replica processes serving one entry script with one set of models. A deployment's
``generation`` grows with every update; the endpoint manager reports which generation it
serves (``served_generation``) and ``applied_revision`` says which endpoint revision it
has acted on, so a caller can wait for its change to take effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from atelier.core.errors import ValidationError

#: endpoint and deployment states, as azureml names them
TRANSITIONING = "Transitioning"
HEALTHY = "Healthy"
FAILED = "Failed"
UNHEALTHY = "Unhealthy"
STATES = (TRANSITIONING, HEALTHY, FAILED, UNHEALTHY)

#: endpoint kinds
LOCAL = "local"
CONTAINER = "container"
KINDS = (LOCAL, CONTAINER)

_ENDPOINT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,31}")
_DEPLOYMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,31}")


def check_endpoint_name(name: object) -> str:
    if not isinstance(name, str) or not _ENDPOINT_NAME.fullmatch(name):
        raise ValidationError(
            f"endpoint name {name!r} must be 3-32 letters, digits or '-', starting with a letter"
        )
    return name


def check_deployment_name(name: object) -> str:
    if not isinstance(name, str) or not _DEPLOYMENT_NAME.fullmatch(name):
        raise ValidationError(
            f"deployment name {name!r} must be 1-32 letters, digits or '-', starting with a "
            "letter (e.g. 'blue')"
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaRecord:
    """One replica process of a deployment as its manager last reported it."""

    index: int
    pid: int
    port: int
    generation: int
    state: str
    restarts: int = 0
    started_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRecord:
    """A named deployment behind an endpoint: the spec it should run and what runs.

    ``spec`` holds what the manager needs to start a replica (entry script, source and
    model folders, the Python to use, replica and autoscale settings, data collection)."""

    name: str
    generation: int
    spec: dict[str, Any]
    models: tuple[str, ...]
    state: str
    served_generation: int = 0
    error: str | None = None
    replicas: tuple[ReplicaRecord, ...] = ()
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointRecord:
    """An endpoint: where it listens, its key digests, traffic split and deployments."""

    id: str
    workspace: str
    name: str
    kind: str
    port: int
    auth_enabled: bool = True
    config: dict[str, Any] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    key_digests: tuple[str, ...] = ()
    manager_pid: int = 0
    revision: int = 1
    applied_revision: int = 0
    deployments: tuple[DeploymentRecord, ...] = ()
    created_ms: int
    updated_ms: int

    def deployment(self, name: str) -> DeploymentRecord | None:
        """The deployment called ``name``, if there is one."""
        return next((d for d in self.deployments if d.name == name), None)

    @property
    def state(self) -> str:
        """``Healthy`` when every deployment serves its latest generation, ``Failed``
        when one failed, ``Transitioning`` while one starts or rolls out."""
        states = [d.state for d in self.deployments]
        if not states:
            return TRANSITIONING
        if FAILED in states:
            return FAILED
        if UNHEALTHY in states:
            return UNHEALTHY
        if all(s == HEALTHY for s in states) and self.applied_revision >= self.revision:
            return HEALTHY
        return TRANSITIONING


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaReport:
    """What an endpoint manager reports about one deployment."""

    deployment: str
    generation: int
    state: str
    served_generation: int
    error: str | None = None
    replicas: tuple[ReplicaRecord, ...] = ()


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def model_data_prefix(
    workspace: str, endpoint: str, deployment: str | None = None, day: str | None = None
) -> str:
    """Where an endpoint's collected model data lives in the workspace's storage:
    ``workspaces/<ws>/modeldata/<endpoint>/<deployment>/date=YYYY-MM-DD``."""
    check_endpoint_name(endpoint)
    parts = ["workspaces", workspace, "modeldata", endpoint]
    if deployment is not None:
        parts.append(check_deployment_name(deployment))
        if day is not None:
            if not _DAY.fullmatch(day):
                raise ValidationError(f"day {day!r} must be YYYY-MM-DD")
            parts.append(f"date={day}")
    return "/".join(parts)
