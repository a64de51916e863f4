"""Request bodies of the REST API (responses are the core records, as JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat

from atelier.core.status import RunStatus


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(Body):
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=5000)
    location: str | None = Field(default=None, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict)
    exist_ok: bool = False
    subscription_id: str | None = Field(default=None, max_length=128)
    resource_group: str | None = Field(default=None, max_length=128)
    sku: str | None = Field(default=None, max_length=64)


class ExperimentPatch(Body):
    archived: bool | None = None
    tags: dict[str, str | None] | None = None
    remove_tags: list[str] | None = Field(default=None, max_length=1000)


class RunCreate(Body):
    parent_run_id: str | None = None
    display_name: str = ""
    run_type: str = "interactive"
    target: str = "local"
    status: RunStatus = RunStatus.RUNNING
    tags: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    run_id: str | None = None
    definition: dict[str, Any] | None = None
    snapshot_id: str | None = None
    request_id: str | None = Field(
        default=None,
        max_length=64,
        description="A new id per creation (a UUID), sent again on a retry: a request id "
        "already used answers with the run it created instead of creating another.",
    )


class RunSearch(Body):
    experiment: str | None = None
    status: list[RunStatus] = Field(default_factory=list)
    run_type: str | None = None
    tags: dict[str, str | None] = Field(default_factory=dict)
    properties: dict[str, str | None] = Field(default_factory=dict)
    include_children: bool = False
    parent_run_id: str | None = None
    order_by_metric: str | None = None
    descending: bool = True
    limit: int | None = Field(default=None, ge=1, le=2**31 - 1)
    with_latest_metrics: bool = False


class Transition(Body):
    status: str = Field(max_length=32, description="A RunStatus value, e.g. Completed.")
    error: dict[str, Any] | None = None
    exit_code: int | None = None


class Heartbeat(Body):
    supervisor: dict[str, Any] | None = None


class RunPatch(Body):
    """Tags to set, tag keys to remove and properties to add (properties are write-once)."""

    tags: dict[str, Any] | None = None
    remove_tags: list[str] | None = None
    properties: dict[str, Any] | None = None


class Series(Body):
    """Values are numbers; a bool is let through to the service, which refuses it with the
    rule every entry point shares (a bool is not a metric value)."""

    steps: list[int]
    values: list[StrictFloat | StrictBool]
    timestamps: list[int]


class ScalarBatch(Body):
    series: dict[str, Series]


class DocumentBatch(Body):
    """``[name, kind, payload]`` entries: lists, rows, tables and image references."""

    entries: list[tuple[str, str, Any]]


class MetricSearch(Body):
    run_ids: list[str] = Field(max_length=10_000)
    name: str | None = None


class EnvironmentRegister(Body):
    spec: dict[str, Any]


class ComputeCreate(Body):
    name: str
    kind: str
    config: dict[str, Any] = Field(default_factory=dict)


class ComputePatch(Body):
    state: str | None = None
    config: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class ModelSpecBody(Body):
    description: str = ""
    framework: str | None = None
    framework_version: str | None = None
    tags: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)


class ModelFromRun(Body):
    run_id: str
    path: str
    spec: ModelSpecBody = Field(default_factory=ModelSpecBody)


class ModelSearch(Body):
    name: str | None = None
    tags: dict[str, str | None] = Field(default_factory=dict)
    properties: dict[str, str | None] = Field(default_factory=dict)
    run_id: str | None = None
    framework: str | None = None
    latest: bool = False


class ModelPatch(Body):
    description: str | None = None
    tags: dict[str, Any] | None = None
    set_tags: dict[str, Any] | None = None
    remove_tags: list[str] | None = None
    properties: dict[str, Any] | None = None


class UserCreate(Body):
    name: str
    admin: bool = False


class TokenCreate(Body):
    name: str = Field(default="", max_length=255)
    expires_in_days: float | None = Field(default=None, gt=0, le=36_500)
    user: str | None = None


class MemberSet(Body):
    role: str
