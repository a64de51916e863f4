"""The in-process backend's runs: each call is one transaction through the services.

A run and what it records (the run itself, its metrics, its files, the snapshot of its
source), and the supervision of a run (``EmbeddedSupervision``: what only its supervisor
calls)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import IO, Any

from atelier.client.api.runs import (
    ArtifactAPI,
    MetricAPI,
    RunAPI,
    ScalarBatch,
    SnapshotAPI,
)
from atelier.client.api.supervision import SupervisionAPI
from atelier.client.embedded.base import Part
from atelier.core.records import (
    ArtifactRecord,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
)
from atelier.core.status import RunStatus
from atelier.services import artifacts, metrics, run_logs, runs, snapshots


class EmbeddedRuns(Part):
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


class EmbeddedMetrics(Part):
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


class EmbeddedArtifacts(Part):
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


class EmbeddedSnapshots(Part):
    def create(self, workspace: str, files: list[tuple[str, Path, int]]) -> SnapshotRecord:
        with self.db.session() as session:
            return snapshots.create(session, self.blobs, workspace, files)

    def files(self, workspace: str, snapshot_id: str) -> list[SnapshotFile]:
        with self.db.session() as session:
            return snapshots.files(session, self.blobs, workspace, snapshot_id)

    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path:
        return snapshots.restore(self.blobs, self.files(workspace, snapshot_id), destination)


class EmbeddedSupervision(Part):
    """Run supervision: heartbeats and the queue through the run service. A run's script
    reaches this same store with the supervisor's variables, so it needs none of its own."""

    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus:
        with self.db.session() as session:
            return runs.heartbeat(session, workspace, run_id, supervisor)

    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]:
        with self.db.session() as session:
            return runs.queue_state(session, workspace, run_id)

    def run_environment(self, workspace: str, run_id: str) -> dict[str, str]:
        return {}

    def stream_log(self, workspace: str, run_id: str, offset: int, data: bytes) -> int:
        # readers of an embedded home read the live file where its supervisor works; a
        # node of a home on PostgreSQL shares no folder with them (its log comes at the end)
        del workspace, run_id
        return offset + len(data)


def _conforms(
    run: EmbeddedRuns,
    metric: EmbeddedMetrics,
    artifact: EmbeddedArtifacts,
    snap: EmbeddedSnapshots,
    supervision: EmbeddedSupervision,
) -> tuple[RunAPI, MetricAPI, ArtifactAPI, SnapshotAPI, SupervisionAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return run, metric, artifact, snap, supervision
