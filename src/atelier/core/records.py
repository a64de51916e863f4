"""Records that services return and backends carry: plain data, no behaviour."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from atelier.core.status import RunStatus


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class WorkspaceRecord(_Record):
    id: str
    name: str
    description: str = ""
    location: str = "local"
    tags: dict[str, str] = Field(default_factory=dict)
    created_ms: int


class ExperimentRecord(_Record):
    id: str
    workspace_id: str
    name: str
    archived: bool = False
    tags: dict[str, str] = Field(default_factory=dict)
    created_ms: int


class RunRecord(_Record):
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
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    latest_metrics: dict[str, float] | None = None
    definition: dict[str, Any] | None = None
    snapshot_id: str | None = None
    exit_code: int | None = None
    heartbeat_ms: int | None = None
    supervisor: dict[str, Any] | None = None


class MetricPoint(_Record):
    """One scalar point: the value logged at a step and when."""

    step: int
    value: float
    timestamp_ms: int


class ArtifactRecord(_Record):
    path: str
    digest: str
    size: int
    created_ms: int


class RunQuery(_Record):
    """What ``Run.list`` and ``Experiment.get_runs`` filter and order by."""

    status: tuple[RunStatus, ...] = ()
    run_type: str | None = None
    tags: dict[str, str | None] = Field(default_factory=dict)
    properties: dict[str, str | None] = Field(default_factory=dict)
    include_children: bool = False
    parent_run_id: str | None = None
    order_by_metric: str | None = None
    descending: bool = True
    limit: int | None = None
    with_latest_metrics: bool = False


class EnvironmentRecord(_Record):
    """A registered environment version. ``spec`` is ``Environment.to_spec()``'s dict."""

    id: str
    name: str
    version: int
    spec_hash: str
    spec: dict[str, Any]
    created_ms: int


class SnapshotRecord(_Record):
    id: str
    file_count: int
    total_size: int
    created_ms: int


class SnapshotFile(_Record):
    path: str
    digest: str
    size: int
    mode: int = 0o644


class ComputeRecord(_Record):
    """A compute target: ``kind`` is local, ray or ssh; ``state`` azureml's provisioning state."""

    id: str
    name: str
    kind: str
    config: dict[str, Any] = Field(default_factory=dict)
    state: str = "Succeeded"
    error: dict[str, Any] | None = None
    created_ms: int
