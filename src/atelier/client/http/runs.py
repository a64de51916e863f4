"""Runs over a server: a run and what it records (the run itself, its metrics, its files,
streamed up and down, and the snapshot of its source), and the supervision of a run
(``HttpSupervision``: what only its supervisor calls)."""

from __future__ import annotations

import builtins
import dataclasses
import uuid
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
from atelier.client.http.base import Part, run_path, run_record, workspace_path
from atelier.client.http.transport import file_path, iter_stream, segment, tar_of
from atelier.core.names import check_experiment_name, check_relative_path, check_run_id
from atelier.core.paths import LOG_NAME, run_work_dir, safe_join
from atelier.core.records import (
    ArtifactRecord,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
)
from atelier.core.settings import load_settings
from atelier.core.status import RunStatus


class HttpRuns(Part):
    def create(self, workspace: str, experiment: str, **fields: Any) -> RunRecord:
        experiment_name = segment(check_experiment_name(experiment))
        path = f"{workspace_path(workspace)}/experiments/{experiment_name}/runs"
        body = {k: (v.value if isinstance(v, RunStatus) else v) for k, v in fields.items()}
        # the server creates one run per request id, so a retry after a lost answer
        # finds the run instead of creating a second
        body.setdefault("request_id", uuid.uuid4().hex)
        return run_record(self.t.json("POST", path, json=body, idempotent=True))

    def get(self, workspace: str, run_id: str, with_latest_metrics: bool = False) -> RunRecord:
        params = {"with_latest_metrics": "true"} if with_latest_metrics else None
        return run_record(self.t.json("GET", run_path(workspace, run_id), params=params))

    def list(
        self, workspace: str, experiment: str | None, query: RunQuery
    ) -> builtins.list[RunRecord]:
        body = dataclasses.asdict(query)
        body["status"] = [status.value for status in query.status]
        body["experiment"] = experiment
        found = self.t.pages(f"{workspace_path(workspace)}/runs/search", json=body)
        return [run_record(item) for item in found]

    def children(self, workspace: str, run_id: str, recursive: bool) -> builtins.list[RunRecord]:
        params = {"recursive": "true" if recursive else "false"}
        found = self.t.pages(f"{run_path(workspace, run_id)}/children", params)
        return [run_record(item) for item in found]

    def transition(
        self,
        workspace: str,
        run_id: str,
        status: RunStatus,
        error: dict[str, Any] | None = None,
        exit_code: int | None = None,
    ) -> RunRecord:
        value = status.value if isinstance(status, RunStatus) else status
        body = {"status": value, "error": error, "exit_code": exit_code}
        # repeating the run's current status is a no-op, so a retry is safe
        path = f"{run_path(workspace, run_id)}/status"
        return run_record(self.t.json("POST", path, json=body, idempotent=True))

    def stale_runs(self, workspace: str, older_than_ms: int) -> builtins.list[RunRecord]:
        params = {"older_than_ms": older_than_ms}
        found = self.t.json("GET", f"{workspace_path(workspace)}/stale-runs", params=params)
        return [run_record(item) for item in found]

    def read_log(self, workspace: str, run_id: str, offset: int) -> tuple[bytes, bool]:
        """The server's copy once the run ended; while it runs, the live file of a
        supervisor on this machine (runs submitted from here), else what the server has."""
        path = f"{run_path(workspace, run_id)}/log"
        response = self.t.request("GET", path, params={"offset": offset})
        if response.headers.get("x-atelier-run-ended") == "1":
            return response.content, True
        live = run_work_dir(load_settings().home, check_run_id(run_id)) / LOG_NAME
        try:
            with live.open("rb") as handle:
                handle.seek(offset)
                return handle.read(), False
        except FileNotFoundError:
            return response.content, False

    def cancel(self, workspace: str, run_id: str) -> RunRecord:
        return run_record(self.t.json("POST", f"{run_path(workspace, run_id)}/cancel"))

    def set_tags(self, workspace: str, run_id: str, tags: dict[str, Any]) -> None:
        self.t.request("PATCH", run_path(workspace, run_id), json={"tags": tags})

    def remove_tags(self, workspace: str, run_id: str, keys: builtins.list[str]) -> None:
        self.t.request("PATCH", run_path(workspace, run_id), json={"remove_tags": keys})

    def add_properties(self, workspace: str, run_id: str, properties: dict[str, Any]) -> None:
        self.t.request("PATCH", run_path(workspace, run_id), json={"properties": properties})

    def locate(self, run_id: str) -> str:
        found = self.t.json("GET", f"/runs/{segment(check_run_id(run_id))}/workspace")
        return str(found["workspace"])


class HttpMetrics(Part):
    def log_scalars(self, workspace: str, run_id: str, series: dict[str, ScalarBatch]) -> int:
        body = {
            "series": {
                name: {"steps": list(s), "values": list(v), "timestamps": list(t)}
                for name, (s, v, t) in series.items()
            }
        }
        found = self.t.json("POST", f"{run_path(workspace, run_id)}/metrics/scalars", json=body)
        return int(found["count"])

    def log_documents(
        self, workspace: str, run_id: str, entries: builtins.list[tuple[str, str, Any]]
    ) -> None:
        body = {"entries": [list(entry) for entry in entries]}
        self.t.request("POST", f"{run_path(workspace, run_id)}/metrics/documents", json=body)

    def get(
        self, workspace: str, run_ids: builtins.list[str], name: str | None = None
    ) -> dict[str, dict[str, Any]]:
        body = {"run_ids": run_ids, "name": name}
        found: dict[str, dict[str, Any]] = self.t.json(
            "POST", f"{workspace_path(workspace)}/metrics/search", json=body
        )
        return found

    def history(self, workspace: str, run_id: str, name: str) -> dict[str, builtins.list[Any]]:
        found: dict[str, builtins.list[Any]] = self.t.json(
            "GET", f"{run_path(workspace, run_id)}/metrics/history", params={"name": name}
        )
        return found


class HttpArtifacts(Part):
    def upload(self, workspace: str, run_id: str, path: str, source: IO[bytes]) -> ArtifactRecord:
        url = f"{run_path(workspace, run_id)}/files/{file_path(check_relative_path(path))}"
        headers = {"Content-Type": "application/octet-stream"}
        found = self.t.json("PUT", url, content=iter_stream(source), headers=headers)
        return ArtifactRecord(**found)

    def upload_files(
        self, workspace: str, run_id: str, files: builtins.list[tuple[str, Path]]
    ) -> builtins.list[ArtifactRecord]:
        with tar_of([(name, local, None) for name, local in files]) as archive:
            found = self.t.json(
                "POST",
                f"{run_path(workspace, run_id)}/files",
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return [ArtifactRecord(**item) for item in found]

    def list(
        self, workspace: str, run_id: str, prefix: str | None = None
    ) -> builtins.list[ArtifactRecord]:
        params = {"prefix": prefix} if prefix else None
        found = self.t.pages(f"{run_path(workspace, run_id)}/files", params)
        return [ArtifactRecord(**item) for item in found]

    def download(self, workspace: str, run_id: str, path: str, destination: Path) -> None:
        clean = check_relative_path(path)
        self.t.download(f"{run_path(workspace, run_id)}/files/{file_path(clean)}", destination)


class HttpSnapshots(Part):
    def create(self, workspace: str, files: builtins.list[tuple[str, Path, int]]) -> SnapshotRecord:
        with tar_of([(name, local, mode) for name, local, mode in files]) as archive:
            found = self.t.json(
                "POST",
                f"{workspace_path(workspace)}/snapshots",
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return SnapshotRecord(**found)

    def files(self, workspace: str, snapshot_id: str) -> builtins.list[SnapshotFile]:
        found = self.t.json(
            "GET", f"{workspace_path(workspace)}/snapshots/{segment(snapshot_id)}/files"
        )
        return [SnapshotFile(**item) for item in found]

    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path:
        destination.mkdir(parents=True, exist_ok=True)
        base = f"{workspace_path(workspace)}/snapshots/{segment(snapshot_id)}/files"
        for entry in self.files(workspace, snapshot_id):
            target = safe_join(destination, entry.path)
            self.t.download(f"{base}/{file_path(entry.path)}", target)
            target.chmod((entry.mode & 0o777) | 0o600)
        return destination


class HttpSupervision(Part):
    """Run supervision over a server: heartbeats, the queue, and a token for the run's
    script that can touch only that run."""

    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus:
        body = {"supervisor": supervisor}
        path = f"{run_path(workspace, run_id)}/heartbeat"
        found = self.t.json("POST", path, json=body, idempotent=True)
        return RunStatus(found["status"])

    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]:
        found = self.t.json("GET", f"{run_path(workspace, run_id)}/queue")
        return int(found["ahead"]), int(found["limit"])

    def run_environment(self, workspace: str, run_id: str) -> dict[str, str]:
        """Variables for a run's own script: a token that can touch only that run."""
        found = self.t.json("POST", f"{run_path(workspace, run_id)}/token")
        return {"ATELIER_TOKEN": str(found["token"])}

    def stream_log(self, workspace: str, run_id: str, offset: int, data: bytes) -> int:
        found = self.t.json(
            "PUT",
            f"{run_path(workspace, run_id)}/log",
            params={"offset": offset},
            content=data,
            headers={"Content-Type": "application/x-atelier-log"},
        )
        return int(found["size"])


def _conforms(
    run: HttpRuns,
    metric: HttpMetrics,
    artifact: HttpArtifacts,
    snap: HttpSnapshots,
    supervision: HttpSupervision,
) -> tuple[RunAPI, MetricAPI, ArtifactAPI, SnapshotAPI, SupervisionAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return run, metric, artifact, snap, supervision
