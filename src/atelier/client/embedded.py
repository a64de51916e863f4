"""The in-process backend: each call is one transaction through the services."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import IO, Any

from atelier.client.backend import ScalarBatch
from atelier.client.embedded_data import EmbeddedDatasets, EmbeddedDatastores
from atelier.client.embedded_endpoints import EmbeddedEndpoints
from atelier.client.embedded_environments import EmbeddedEnvironments
from atelier.client.embedded_models import EmbeddedModels
from atelier.client.embedded_packages import EmbeddedPackages
from atelier.client.embedded_secrets import EmbeddedSecrets
from atelier.core.records import (
    ArtifactRecord,
    ComputeRecord,
    ExperimentRecord,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
    WorkspaceRecord,
)
from atelier.core.settings import Settings
from atelier.core.status import RunStatus
from atelier.services import (
    artifacts,
    compute,
    experiments,
    metrics,
    run_logs,
    runs,
    snapshots,
    workspaces,
)
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


class _Part:
    def __init__(self, db: Database, blobs: BlobStore, settings: Settings) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings


class EmbeddedWorkspaces(_Part):
    def create(
        self, name: str, *, description: str, location: str, tags: dict[str, str], exist_ok: bool
    ) -> WorkspaceRecord:
        with self.db.session() as session:
            return workspaces.create(
                session,
                name,
                description=description,
                location=location,
                tags=tags,
                exist_ok=exist_ok,
            )

    def get(self, name: str) -> WorkspaceRecord:
        with self.db.session() as session:
            return workspaces.get(session, name)

    def list(self) -> builtins.list[WorkspaceRecord]:
        with self.db.session() as session:
            return workspaces.list_all(session)

    def delete(self, name: str) -> None:
        with self.db.session() as session:
            digests = workspaces.delete(session, name)
        with self.db.session() as session:
            orphans = artifacts.unreferenced(session, digests)
        for digest in orphans:
            self.blobs.delete(digest)


class EmbeddedExperiments(_Part):
    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.get_or_create(session, workspace, name)

    def get(self, workspace: str, name: str) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.get(session, workspace, name)

    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]:
        with self.db.session() as session:
            return experiments.list_all(session, workspace, view_type, name)  # type: ignore[arg-type]

    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.set_archived(session, workspace, name, archived)

    def set_tags(self, workspace: str, name: str, tags: dict[str, str | None]) -> ExperimentRecord:
        with self.db.session() as session:
            return experiments.set_tags(session, workspace, name, tags)


class EmbeddedRuns(_Part):
    def create(self, workspace: str, experiment: str, **fields: Any) -> RunRecord:
        with self.db.session() as session:
            return runs.create(session, workspace, experiment, **fields)

    def get(self, workspace: str, run_id: str, with_latest_metrics: bool = False) -> RunRecord:
        with self.db.session() as session:
            return runs.get(session, workspace, run_id, with_latest_metrics)

    def list(
        self, workspace: str, experiment: str | None, query: RunQuery
    ) -> builtins.list[RunRecord]:
        with self.db.session() as session:
            return runs.list_runs(session, workspace, experiment, query)

    def children(self, workspace: str, run_id: str, recursive: bool) -> builtins.list[RunRecord]:
        with self.db.session() as session:
            return runs.descendants(session, workspace, run_id, recursive)

    def transition(
        self,
        workspace: str,
        run_id: str,
        status: RunStatus,
        error: dict[str, Any] | None = None,
        exit_code: int | None = None,
    ) -> RunRecord:
        with self.db.session() as session:
            return runs.transition(session, workspace, run_id, status, error, exit_code)

    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus:
        with self.db.session() as session:
            return runs.heartbeat(session, workspace, run_id, supervisor)

    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]:
        with self.db.session() as session:
            return runs.queue_state(session, workspace, run_id)

    def stale_runs(self, workspace: str, older_than_ms: int) -> builtins.list[RunRecord]:
        with self.db.session() as session:
            return runs.stale_runs(session, workspace, older_than_ms)

    def read_log(self, workspace: str, run_id: str, offset: int) -> tuple[bytes, bool]:
        return run_logs.read_log(self.db, self.blobs, self.settings.home, workspace, run_id, offset)

    def cancel(self, workspace: str, run_id: str) -> RunRecord:
        with self.db.session() as session:
            return runs.cancel(session, workspace, run_id)

    def set_tags(self, workspace: str, run_id: str, tags: dict[str, Any]) -> None:
        with self.db.session() as session:
            runs.set_tags(session, workspace, run_id, tags)

    def remove_tags(self, workspace: str, run_id: str, keys: builtins.list[str]) -> None:
        with self.db.session() as session:
            runs.remove_tags(session, workspace, run_id, keys)

    def add_properties(self, workspace: str, run_id: str, properties: dict[str, Any]) -> None:
        with self.db.session() as session:
            runs.add_properties(session, workspace, run_id, properties)

    def locate(self, run_id: str) -> str:
        with self.db.session() as session:
            return runs.workspace_of(session, run_id)


class EmbeddedMetrics(_Part):
    def log_scalars(self, workspace: str, run_id: str, series: dict[str, ScalarBatch]) -> int:
        with self.db.session() as session:
            return metrics.log_scalars(session, workspace, run_id, series)

    def log_documents(
        self, workspace: str, run_id: str, entries: builtins.list[tuple[str, str, Any]]
    ) -> None:
        with self.db.session() as session:
            metrics.log_documents(session, workspace, run_id, entries)

    def get(
        self, workspace: str, run_ids: builtins.list[str], name: str | None = None
    ) -> dict[str, dict[str, Any]]:
        with self.db.session() as session:
            return metrics.get_metrics(session, workspace, run_ids, name)

    def history(self, workspace: str, run_id: str, name: str) -> dict[str, builtins.list[Any]]:
        with self.db.session() as session:
            return metrics.get_history(session, workspace, run_id, name)


class EmbeddedArtifacts(_Part):
    def upload(self, workspace: str, run_id: str, path: str, source: IO[bytes]) -> ArtifactRecord:
        with self.db.session() as session:
            return artifacts.upload(session, self.blobs, workspace, run_id, path, source)

    def upload_files(
        self, workspace: str, run_id: str, files: builtins.list[tuple[str, Path]]
    ) -> builtins.list[ArtifactRecord]:
        with self.db.session() as session:
            return artifacts.upload_files(session, self.blobs, workspace, run_id, files)

    def list(
        self, workspace: str, run_id: str, prefix: str | None = None
    ) -> builtins.list[ArtifactRecord]:
        with self.db.session() as session:
            return artifacts.list_files(session, workspace, run_id, prefix)

    def download(self, workspace: str, run_id: str, path: str, destination: Path) -> None:
        with self.db.session() as session:
            record = artifacts.get(session, workspace, run_id, path)
        self.blobs.copy_to(record.digest, destination)


class EmbeddedSnapshots(_Part):
    def create(self, workspace: str, files: list[tuple[str, Path, int]]) -> SnapshotRecord:
        with self.db.session() as session:
            return snapshots.create(session, self.blobs, workspace, files)

    def files(self, workspace: str, snapshot_id: str) -> list[SnapshotFile]:
        with self.db.session() as session:
            return snapshots.files(session, self.blobs, workspace, snapshot_id)

    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path:
        return snapshots.restore(self.blobs, self.files(workspace, snapshot_id), destination)


class EmbeddedCompute(_Part):
    def create(self, workspace: str, name: str, kind: str, config: dict[str, Any]) -> ComputeRecord:
        with self.db.session() as session:
            return compute.create(session, workspace, name, kind, config)

    def get(self, workspace: str, name: str) -> ComputeRecord:
        with self.db.session() as session:
            return compute.get(session, workspace, name)

    def list(self, workspace: str) -> list[ComputeRecord]:
        with self.db.session() as session:
            return compute.list_all(session, workspace)

    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord:
        with self.db.session() as session:
            return compute.update(session, workspace, name, state=state, config=config, error=error)

    def delete(self, workspace: str, name: str) -> None:
        with self.db.session() as session:
            compute.delete(session, workspace, name)


class EmbeddedBackend:
    """Services in this process over a SQLite or PostgreSQL database and an fsspec blob store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tracking_uri = f"file://{settings.home.expanduser().resolve()}"
        self.db = Database(settings.resolved_database_url)
        self.blobs = BlobStore(settings.resolved_blob_url)
        self.workspaces = EmbeddedWorkspaces(self.db, self.blobs, settings)
        self.experiments = EmbeddedExperiments(self.db, self.blobs, settings)
        self.runs = EmbeddedRuns(self.db, self.blobs, settings)
        self.metrics = EmbeddedMetrics(self.db, self.blobs, settings)
        self.artifacts = EmbeddedArtifacts(self.db, self.blobs, settings)
        self.snapshots = EmbeddedSnapshots(self.db, self.blobs, settings)
        self.compute = EmbeddedCompute(self.db, self.blobs, settings)
        self.environments = EmbeddedEnvironments(self.db, self.blobs)
        self.models = EmbeddedModels(self.db, self.blobs)
        self.datastores = EmbeddedDatastores(self.db, settings)
        self.datasets = EmbeddedDatasets(self.db)
        self.secrets = EmbeddedSecrets(self.db, settings)
        self.packages = EmbeddedPackages(self.db, self.blobs)
        self.endpoints = EmbeddedEndpoints(self.db, self.blobs, settings)

    def child_environment(self) -> dict[str, str]:
        """Variables a process started for a run needs to reach this same store."""
        return {
            "ATELIER_TRACKING_URI": self.tracking_uri,
            "ATELIER_HOME": str(self.settings.home.expanduser().resolve()),
            "ATELIER_DATABASE_URL": self.settings.resolved_database_url,
            "ATELIER_BLOB_URL": self.settings.resolved_blob_url,
        }

    def close(self) -> None:
        self.db.dispose()
