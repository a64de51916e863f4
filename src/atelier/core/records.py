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
