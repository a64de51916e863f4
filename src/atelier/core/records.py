"""Records that services return and backends carry: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atelier.core.status import RunStatus

# Frozen, slotted dataclasses: listing thousands of runs builds thousands of these, and a
# dataclass costs a microsecond where a validating model costs ten.


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceRecord:
    id: str
    name: str
    description: str = ""
    location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created_ms: int
    #: azureml's Azure coordinates as given at creation; None where never given
    subscription_id: str | None = None
    resource_group: str | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRecord:
    id: str
    workspace_id: str
    name: str
    archived: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    run_id: str
    experiment_id: str
    experiment_name: str
    workspace_name: str
    number: int
    parent_run_id: str | None = None
    display_name: str = ""
    run_type: str = "interactive"
    target: str = "local"
    status: RunStatus
    created_ms: int
    started_ms: int | None = None
    ended_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    latest_metrics: dict[str, float] | None = None
    definition: dict[str, Any] | None = None
    snapshot_id: str | None = None
    exit_code: int | None = None
    heartbeat_ms: int | None = None
    supervisor: dict[str, Any] | None = None


#: a run's latest metrics may be NaN or infinite: the server writes them as JSON's
#: ``NaN``/``Infinity`` tokens (which Python's ``json`` reads) instead of ``null``
RunRecord.__pydantic_config__ = {"ser_json_inf_nan": "constants"}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricPoint:
    """One scalar point: the value logged at a step and when."""

    step: int
    value: float
    timestamp_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRecord:
    path: str
    digest: str
    size: int
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunQuery:
    """What ``Run.list`` and ``Experiment.get_runs`` filter and order by."""

    status: tuple[RunStatus, ...] = ()
    run_type: str | None = None
    tags: dict[str, str | None] = field(default_factory=dict)
    properties: dict[str, str | None] = field(default_factory=dict)
    include_children: bool = False
    parent_run_id: str | None = None
    order_by_metric: str | None = None
    descending: bool = True
    limit: int | None = None
    with_latest_metrics: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentRecord:
    """A registered environment version. ``spec`` is ``Environment.to_spec()``'s dict."""

    id: str
    name: str
    version: int
    spec_hash: str
    spec: dict[str, Any]
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRecord:
    id: str
    file_count: int
    total_size: int
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotFile:
    path: str
    digest: str
    size: int
    mode: int = 0o644


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeRecord:
    """A compute target: ``kind`` is local, ray or ssh; ``state`` azureml's provisioning state."""

    id: str
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)
    state: str = "Succeeded"
    error: dict[str, Any] | None = None
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """What a registration says about a model besides its name and files."""

    description: str = ""
    framework: str | None = None
    framework_version: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRecord:
    """A registered model version; ``run_id`` is the run it came from, if any."""

    id: str
    name: str
    version: int
    description: str = ""
    framework: str | None = None
    framework_version: str | None = None
    run_id: str | None = None
    created_ms: int
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFileRecord:
    """One file of a model: its path inside the model and the blob holding it.

    Every path starts with the model's asset name: the registered file's name, or the
    registered folder's name followed by the path inside that folder."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelQuery:
    """What ``Model.list`` filters by; ``latest`` keeps the newest matching version per name."""

    name: str | None = None
    tags: dict[str, str | None] = field(default_factory=dict)
    properties: dict[str, str | None] = field(default_factory=dict)
    run_id: str | None = None
    framework: str | None = None
    latest: bool = False
