"""The Backend protocol: one small interface per resource, two implementations.

``EmbeddedBackend`` (``client/embedded.py``) calls the services in this process;
the HTTP backend calls a server. The SDK sees only these protocols.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from atelier.core.endpoints import EndpointRecord, ReplicaReport
from atelier.core.packages import PackageFileRecord, PackageRecord
from atelier.core.records import (
    ArtifactRecord,
    ComputeRecord,
    EnvironmentRecord,
    ExperimentRecord,
    ModelFileRecord,
    ModelQuery,
    ModelRecord,
    ModelSpec,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
    WorkspaceRecord,
)
from atelier.core.secrets import SecretRecord
from atelier.core.status import RunStatus

#: where a run's script output is stored, live and after the run
LOG_NAME = "user_logs/std_log.txt"
#: one scalar series in one batch: steps, values, timestamps in ms
ScalarBatch = tuple[Sequence[int], Sequence[float], Sequence[int]]


class WorkspaceAPI(Protocol):
    def create(
        self, name: str, *, description: str, location: str, tags: dict[str, str], exist_ok: bool
    ) -> WorkspaceRecord: ...
    def get(self, name: str) -> WorkspaceRecord: ...
    def list(self) -> builtins.list[WorkspaceRecord]: ...
    def delete(self, name: str) -> None: ...


class ExperimentAPI(Protocol):
    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord: ...
    def get(self, workspace: str, name: str) -> ExperimentRecord: ...
    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]: ...
    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord: ...
    def set_tags(
        self, workspace: str, name: str, tags: dict[str, str | None]
    ) -> ExperimentRecord: ...


class RunAPI(Protocol):
    def create(self, workspace: str, experiment: str, **fields: Any) -> RunRecord: ...
    def get(self, workspace: str, run_id: str, with_latest_metrics: bool = False) -> RunRecord: ...
    def list(
        self, workspace: str, experiment: str | None, query: RunQuery
    ) -> builtins.list[RunRecord]: ...
    def children(
        self, workspace: str, run_id: str, recursive: bool
    ) -> builtins.list[RunRecord]: ...
    def transition(
        self,
        workspace: str,
        run_id: str,
        status: RunStatus,
        error: dict[str, Any] | None = None,
        exit_code: int | None = None,
    ) -> RunRecord: ...
    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus: ...
    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]: ...
    def stale_runs(self, workspace: str, older_than_ms: int) -> builtins.list[RunRecord]: ...
    def read_log(self, workspace: str, run_id: str, offset: int) -> tuple[bytes, bool]: ...
    def cancel(self, workspace: str, run_id: str) -> RunRecord: ...
    def set_tags(self, workspace: str, run_id: str, tags: dict[str, Any]) -> None: ...
    def remove_tags(self, workspace: str, run_id: str, keys: builtins.list[str]) -> None: ...
    def add_properties(self, workspace: str, run_id: str, properties: dict[str, Any]) -> None: ...
    def locate(self, run_id: str) -> str: ...


class MetricAPI(Protocol):
    def log_scalars(self, workspace: str, run_id: str, series: dict[str, ScalarBatch]) -> int: ...
    def log_documents(
        self, workspace: str, run_id: str, entries: builtins.list[tuple[str, str, Any]]
    ) -> None: ...
    def get(
        self, workspace: str, run_ids: builtins.list[str], name: str | None = None
    ) -> dict[str, dict[str, Any]]: ...
    def history(self, workspace: str, run_id: str, name: str) -> dict[str, builtins.list[Any]]: ...


class ArtifactAPI(Protocol):
    def upload(
        self, workspace: str, run_id: str, path: str, source: IO[bytes]
    ) -> ArtifactRecord: ...
    def upload_files(
        self, workspace: str, run_id: str, files: builtins.list[tuple[str, Path]]
    ) -> builtins.list[ArtifactRecord]: ...
    def list(
        self, workspace: str, run_id: str, prefix: str | None = None
    ) -> builtins.list[ArtifactRecord]: ...
    def download(self, workspace: str, run_id: str, path: str, destination: Path) -> None: ...


class EnvironmentAPI(Protocol):
    def register(self, workspace: str, name: str, spec: dict[str, Any]) -> EnvironmentRecord: ...
    def get(self, workspace: str, name: str, version: int | None = None) -> EnvironmentRecord: ...
    def list(self, workspace: str) -> builtins.list[EnvironmentRecord]: ...


class SnapshotAPI(Protocol):
    def create(
        self, workspace: str, files: builtins.list[tuple[str, Path, int]]
    ) -> SnapshotRecord: ...
    def files(self, workspace: str, snapshot_id: str) -> builtins.list[SnapshotFile]: ...
    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path: ...


class ComputeAPI(Protocol):
    def create(
        self, workspace: str, name: str, kind: str, config: dict[str, Any]
    ) -> ComputeRecord: ...
    def get(self, workspace: str, name: str) -> ComputeRecord: ...
    def list(self, workspace: str) -> builtins.list[ComputeRecord]: ...
    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord: ...
    def delete(self, workspace: str, name: str) -> None: ...


class ModelAPI(Protocol):
    """The model registry. ``version`` None means the latest version of the name."""

    def register(
        self, workspace: str, name: str, files: builtins.list[tuple[str, Path]], spec: ModelSpec
    ) -> ModelRecord: ...
    def register_from_run(
        self, workspace: str, name: str, run_id: str, path: str, spec: ModelSpec
    ) -> ModelRecord: ...
    def get(self, workspace: str, name: str, version: int | None = None) -> ModelRecord: ...
    def list(self, workspace: str, query: ModelQuery) -> builtins.list[ModelRecord]: ...
    def files(
        self, workspace: str, name: str, version: int | None = None
    ) -> builtins.list[ModelFileRecord]: ...
    def set_tags(
        self, workspace: str, name: str, version: int, tags: dict[str, Any]
    ) -> ModelRecord: ...
    def remove_tags(
        self, workspace: str, name: str, version: int, keys: builtins.list[str]
    ) -> ModelRecord: ...
    def add_properties(
        self, workspace: str, name: str, version: int, properties: dict[str, Any]
    ) -> ModelRecord: ...
    def update(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelRecord: ...
    def delete(self, workspace: str, name: str, version: int) -> None: ...
    def download(
        self, workspace: str, name: str, version: int, target_dir: Path, exist_ok: bool
    ) -> Path: ...


class Backend(Protocol):
    """Where a workspace lives; ``tracking_uri`` tells a child process how to reach it."""

    tracking_uri: str
    workspaces: WorkspaceAPI
    experiments: ExperimentAPI
    runs: RunAPI
    metrics: MetricAPI
    artifacts: ArtifactAPI
    environments: EnvironmentAPI
    snapshots: SnapshotAPI
    compute: ComputeAPI
    models: ModelAPI
    datastores: DatastoreAPI
    datasets: DatasetAPI
    secrets: SecretAPI
    packages: PackageAPI
    endpoints: EndpointAPI

    def child_environment(self) -> dict[str, str]:
        """Variables a process started for a run needs to reach this backend."""
        ...


# --- data: datastores and datasets (issue 6) -------------------------------------------
from collections.abc import Callable  # noqa: E402 - the data area's imports, kept together

from atelier.core.data_records import (  # noqa: E402 - the data area's records, kept together
    DataFile,
    DatasetRecord,
    DatastoreRecord,
    ModelDatasetRecord,
    RunInputRecord,
)

#: progress callback: (bytes done, bytes in all, file being worked on)
DataProgress = Callable[[int, int, str], None]


class DatastoreFilesAPI(Protocol):
    """The files of one datastore (``storage.datastores.DatastoreFiles`` in-process)."""

    name: str
    kind: str
    fs: Any
    root: str

    def list_files(self, pattern: str = "**") -> builtins.list[DataFile]: ...
    def open(self, relative: str) -> IO[bytes]: ...
    def digests(self, relatives: builtins.list[str]) -> builtins.list[str]: ...
    def full_path(self, relative: str) -> str: ...
    def url_of(self, relative: str) -> str: ...
    def upload_files(
        self,
        files: builtins.list[tuple[str, Path]],
        overwrite: bool = False,
        progress: DataProgress | None = None,
    ) -> builtins.list[str]: ...
    def download(
        self,
        relatives: builtins.list[str],
        target: Path,
        overwrite: bool = False,
        progress: DataProgress | None = None,
        strip: str = "",
    ) -> builtins.list[Path]: ...
    def write_bytes(self, relative: str, data: bytes, overwrite: bool = False) -> None: ...
    def remove(self, relative: str) -> None: ...


class DatastoreAPI(Protocol):
    """Named storage locations. Credentials go in at registration and never come out."""

    def register(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        url: str,
        config: dict[str, Any],
        credentials: dict[str, str],
        overwrite: bool,
        validate: bool,
    ) -> DatastoreRecord: ...
    def get(self, workspace: str, name: str) -> DatastoreRecord: ...
    def get_default(self, workspace: str) -> DatastoreRecord: ...
    def set_default(self, workspace: str, name: str) -> DatastoreRecord: ...
    def list(self, workspace: str) -> builtins.list[DatastoreRecord]: ...
    def unregister(self, workspace: str, name: str) -> None: ...
    def files(self, workspace: str, name: str) -> DatastoreFilesAPI: ...


class DatasetAPI(Protocol):
    """Registered dataset versions and the lineage between datasets, runs and models."""

    def register(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        definition: dict[str, Any],
        files: builtins.list[DataFile],
        description: str,
        tags: dict[str, Any],
        create_new_version: bool,
    ) -> DatasetRecord: ...
    def get(self, workspace: str, name: str, version: int | None = None) -> DatasetRecord: ...
    def get_by_id(self, workspace: str, dataset_id: str) -> DatasetRecord: ...
    def list(self, workspace: str) -> builtins.list[DatasetRecord]: ...
    def files(self, workspace: str, dataset_id: str) -> builtins.list[DataFile]: ...
    def record_run_inputs(
        self, workspace: str, run_id: str, inputs: builtins.list[dict[str, Any]]
    ) -> None: ...
    def run_inputs(self, workspace: str, run_id: str) -> builtins.list[RunInputRecord]: ...
    def runs_using(self, workspace: str, dataset_id: str) -> builtins.list[RunInputRecord]: ...
    def link_model(
        self,
        workspace: str,
        model_name: str,
        model_version: int,
        datasets: builtins.list[tuple[str, str]],
    ) -> None: ...
    def model_datasets(
        self, workspace: str, model_name: str, model_version: int
    ) -> builtins.list[ModelDatasetRecord]: ...
    def models_using(
        self, workspace: str, dataset_id: str
    ) -> builtins.list[ModelDatasetRecord]: ...


class SecretAPI(Protocol):
    """The workspace key vault. Values go in and out only through ``set*`` and ``get*``;
    listings carry names and times. See ``services/secrets.py`` for the rules."""

    def set(self, workspace: str, values: dict[str, str]) -> builtins.list[SecretRecord]: ...
    def get(self, workspace: str, names: builtins.list[str]) -> dict[str, str]: ...
    def list(self, workspace: str) -> builtins.list[SecretRecord]: ...
    def delete(self, workspace: str, name: str) -> None: ...


class PackageAPI(Protocol):
    """The image registry: immutable model packages. ``version`` None means the latest."""

    def create(
        self,
        workspace: str,
        name: str,
        label: str | None,
        models: builtins.list[tuple[str, int]],
        files: builtins.list[tuple[str, Path]],
        manifest: dict[str, Any],
        log: str,
    ) -> PackageRecord: ...
    def get(self, workspace: str, name: str, version: int | None = None) -> PackageRecord: ...
    def list(self, workspace: str, name: str | None = None) -> builtins.list[PackageRecord]: ...
    def files(
        self, workspace: str, name: str, version: int
    ) -> builtins.list[PackageFileRecord]: ...
    def extract(self, workspace: str, name: str, version: int, target_dir: Path) -> Path: ...


class EndpointAPI(Protocol):
    """Endpoints and their deployments (``atelier.core.endpoints``). Keys are generated,
    encrypted and decrypted by the backend; records carry only their digests."""

    def create(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        port: int,
        auth_enabled: bool,
        config: dict[str, Any],
    ) -> EndpointRecord: ...
    def get(self, workspace: str, name: str) -> EndpointRecord: ...
    def list(
        self, workspace: str, model: tuple[str, int | None] | None = None
    ) -> builtins.list[EndpointRecord]: ...
    def delete(self, workspace: str, name: str) -> None: ...
    def put_deployment(
        self,
        workspace: str,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        models: builtins.list[tuple[str, int]],
    ) -> EndpointRecord: ...
    def delete_deployment(self, workspace: str, endpoint: str, name: str) -> EndpointRecord: ...
    def set_traffic(
        self, workspace: str, endpoint: str, traffic: dict[str, int]
    ) -> EndpointRecord: ...
    def get_keys(self, workspace: str, name: str) -> tuple[str, str]: ...
    def regen_key(
        self, workspace: str, name: str, slot: str, value: str | None = None
    ) -> EndpointRecord: ...
    def set_manager(self, workspace: str, name: str, pid: int) -> EndpointRecord: ...
    def report(
        self,
        workspace: str,
        name: str,
        applied_revision: int,
        reports: builtins.list[ReplicaReport],
    ) -> EndpointRecord: ...
    def mark_failed(self, workspace: str, name: str, error: str) -> EndpointRecord: ...
    def write_model_data(
        self, workspace: str, endpoint: str, deployment: str, day: str, data: bytes
    ) -> str: ...
    def model_data(
        self, workspace: str, endpoint: str, deployment: str | None = None
    ) -> builtins.list[tuple[str, bytes]]: ...
