"""The composites: ``Backend``, what the SDK holds (user-facing resources only), and
``Connection``, what an implementation provides (``Backend`` plus run supervision,
endpoint reporting and ``close``). The registry makes connections and hands out
narrower views: ``backend_for`` a ``Backend``, ``supervision_for`` a
``SupervisionAPI``, ``reporting_for`` an ``EndpointReportingAPI``.

The per-resource protocols live in ``atelier.client.api``; the names below that the SDK
imports from here (``ScalarBatch``, ``DataProgress``, ``DatastoreFilesAPI``)
are the same objects.
"""

from __future__ import annotations

from typing import Protocol

from atelier.client.api import (
    ArtifactAPI,
    ComputeAPI,
    DataProgress,
    DatasetAPI,
    DatastoreAPI,
    DatastoreFilesAPI,
    EndpointAPI,
    EndpointReportingAPI,
    EnvironmentAPI,
    ExperimentAPI,
    MetricAPI,
    ModelAPI,
    PackageAPI,
    PipelineAPI,
    RunAPI,
    ScalarBatch,
    ScheduleAPI,
    SecretAPI,
    SnapshotAPI,
    SupervisionAPI,
    WorkspaceAPI,
)

__all__ = [
    "Backend",
    "Connection",
    "DataProgress",
    "DatastoreFilesAPI",
    "ScalarBatch",
]


class Backend(Protocol):
    """Where a workspace lives, as the SDK sees it: one read-only member per resource.
    ``tracking_uri`` and ``child_environment`` tell a process started from here (a run's
    supervisor, a local endpoint) how to reach the same place."""

    @property
    def tracking_uri(self) -> str: ...
    @property
    def workspaces(self) -> WorkspaceAPI: ...
    @property
    def experiments(self) -> ExperimentAPI: ...
    @property
    def runs(self) -> RunAPI: ...
    @property
    def metrics(self) -> MetricAPI: ...
    @property
    def artifacts(self) -> ArtifactAPI: ...
    @property
    def environments(self) -> EnvironmentAPI: ...
    @property
    def snapshots(self) -> SnapshotAPI: ...
    @property
    def compute(self) -> ComputeAPI: ...
    @property
    def models(self) -> ModelAPI: ...
    @property
    def datastores(self) -> DatastoreAPI: ...
    @property
    def datasets(self) -> DatasetAPI: ...
    @property
    def secrets(self) -> SecretAPI: ...
    @property
    def packages(self) -> PackageAPI: ...
    @property
    def endpoints(self) -> EndpointAPI: ...
    @property
    def pipelines(self) -> PipelineAPI: ...
    @property
    def schedules(self) -> ScheduleAPI: ...

    def child_environment(self) -> dict[str, str]:
        """Variables a process started for a run needs to reach this backend."""
        ...


class Connection(Backend, Protocol):
    """What an implementation (embedded, HTTP) provides. Only the registry holds one; the
    processes that supervise runs or serve endpoints get the narrow protocol they need."""

    @property
    def supervision(self) -> SupervisionAPI: ...
    @property
    def reporting(self) -> EndpointReportingAPI: ...

    def close(self) -> None:
        """Release connections and pools; the object is not used afterwards."""
        ...
