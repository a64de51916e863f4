"""A run and what it records: its status and tags, metrics, files, and the snapshot of its
source. What only a run's supervisor calls (heartbeats, the queue) is in ``supervision``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from atelier.core.records import (
    ArtifactRecord,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
)
from atelier.core.status import RunStatus

#: one scalar series in one batch: steps, values, timestamps in ms
ScalarBatch = tuple[Sequence[int], Sequence[float], Sequence[int]]


class RunAPI(Protocol):
    """Runs of a workspace. ``transition`` follows the run state machine; ``stale_runs``
    lists unfinished runs not heard from since a time, for whoever waits on them to fail
    those whose supervisor is gone."""

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
    def stale_runs(self, workspace: str, older_than_ms: int) -> builtins.list[RunRecord]: ...
    def read_log(self, workspace: str, run_id: str, offset: int) -> tuple[bytes, bool]: ...
    def cancel(self, workspace: str, run_id: str) -> RunRecord: ...
    def set_tags(self, workspace: str, run_id: str, tags: dict[str, Any]) -> None: ...
    def remove_tags(self, workspace: str, run_id: str, keys: builtins.list[str]) -> None: ...
    def add_properties(self, workspace: str, run_id: str, properties: dict[str, Any]) -> None: ...
    def locate(self, run_id: str) -> str: ...


class MetricAPI(Protocol):
    """A run's metrics: scalar series in batches, and documents (lists, rows, tables, images)."""

    def log_scalars(self, workspace: str, run_id: str, series: dict[str, ScalarBatch]) -> int: ...
    def log_documents(
        self, workspace: str, run_id: str, entries: builtins.list[tuple[str, str, Any]]
    ) -> None: ...
    def get(
        self, workspace: str, run_ids: builtins.list[str], name: str | None = None
    ) -> dict[str, dict[str, Any]]: ...
    def history(self, workspace: str, run_id: str, name: str) -> dict[str, builtins.list[Any]]: ...


class ArtifactAPI(Protocol):
    """A run's files (outputs, logs), by their path in the run."""

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


class SnapshotAPI(Protocol):
    """Source folders as submitted, stored content-addressed: (path, local file, mode)."""

    def create(
        self, workspace: str, files: builtins.list[tuple[str, Path, int]]
    ) -> SnapshotRecord: ...
    def files(self, workspace: str, snapshot_id: str) -> builtins.list[SnapshotFile]: ...
    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path: ...
