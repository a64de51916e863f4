"""``HttpBackend``: every Backend protocol over a server's REST API (``/api/v1``).

Errors come back as the same ``AtelierError`` subclasses the embedded backend raises;
uploads and downloads stream; listings follow the server's pages.
"""

from __future__ import annotations

import builtins
import dataclasses
from pathlib import Path
from typing import IO, Any

from atelier.client.backend import LOG_NAME, ScalarBatch
from atelier.client.http_data import HttpDatasets, HttpDatastores
from atelier.client.http_endpoints import HttpEndpoints
from atelier.client.http_models import HttpModels
from atelier.client.http_packages import HttpPackages
from atelier.client.http_secrets import HttpSecrets
from atelier.client.http_transport import (
    Transport,
    file_path,
    iter_stream,
    segment,
    tar_of,
)
from atelier.core.names import (
    check_experiment_name,
    check_relative_path,
    check_run_id,
    check_workspace_name,
)
from atelier.core.paths import run_work_dir, safe_join
from atelier.core.records import (
    ArtifactRecord,
    ComputeRecord,
    EnvironmentRecord,
    ExperimentRecord,
    RunQuery,
    RunRecord,
    SnapshotFile,
    SnapshotRecord,
    WorkspaceRecord,
)
from atelier.core.settings import load_settings
from atelier.core.status import RunStatus


def run_record(data: dict[str, Any]) -> RunRecord:
    return RunRecord(**{**data, "status": RunStatus(data["status"])})


def _ws(name: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(name))}"


def _run(workspace: str, run_id: str) -> str:
    return f"{_ws(workspace)}/runs/{segment(check_run_id(run_id))}"


class _Part:
    def __init__(self, transport: Transport) -> None:
        self.t = transport


class HttpWorkspaces(_Part):
    def create(
        self, name: str, *, description: str, location: str, tags: dict[str, str], exist_ok: bool
    ) -> WorkspaceRecord:
        body = {
            "name": name,
            "description": description,
            "location": location,
            "tags": tags,
            "exist_ok": exist_ok,
        }
        return WorkspaceRecord(**self.t.json("POST", "/workspaces", json=body))

    def get(self, name: str) -> WorkspaceRecord:
        return WorkspaceRecord(**self.t.json("GET", _ws(name)))

    def list(self) -> builtins.list[WorkspaceRecord]:
        return [WorkspaceRecord(**item) for item in self.t.pages("/workspaces")]

    def delete(self, name: str) -> None:
        self.t.request("DELETE", _ws(name))


class HttpExperiments(_Part):
    def _path(self, workspace: str, name: str) -> str:
        return f"{_ws(workspace)}/experiments/{segment(check_experiment_name(name))}"

    def get_or_create(self, workspace: str, name: str) -> ExperimentRecord:
        return ExperimentRecord(**self.t.json("PUT", self._path(workspace, name)))

    def get(self, workspace: str, name: str) -> ExperimentRecord:
        return ExperimentRecord(**self.t.json("GET", self._path(workspace, name)))

    def list(
        self, workspace: str, view_type: str, name: str | None = None
    ) -> builtins.list[ExperimentRecord]:
        params = {"view_type": view_type, **({"name": name} if name is not None else {})}
        found = self.t.pages(f"{_ws(workspace)}/experiments", params)
        return [ExperimentRecord(**item) for item in found]

    def set_archived(self, workspace: str, name: str, archived: bool) -> ExperimentRecord:
        body = {"archived": archived}
        return ExperimentRecord(**self.t.json("PATCH", self._path(workspace, name), json=body))

    def set_tags(self, workspace: str, name: str, tags: dict[str, str | None]) -> ExperimentRecord:
        body = {"tags": tags}
        return ExperimentRecord(**self.t.json("PATCH", self._path(workspace, name), json=body))


class HttpRuns(_Part):
    def create(self, workspace: str, experiment: str, **fields: Any) -> RunRecord:
        path = f"{_ws(workspace)}/experiments/{segment(check_experiment_name(experiment))}/runs"
        body = {k: (v.value if isinstance(v, RunStatus) else v) for k, v in fields.items()}
        return run_record(self.t.json("POST", path, json=body))

    def get(self, workspace: str, run_id: str, with_latest_metrics: bool = False) -> RunRecord:
        params = {"with_latest_metrics": "true"} if with_latest_metrics else None
        return run_record(self.t.json("GET", _run(workspace, run_id), params=params))

    def list(
        self, workspace: str, experiment: str | None, query: RunQuery
    ) -> builtins.list[RunRecord]:
        body = dataclasses.asdict(query)
        body["status"] = [status.value for status in query.status]
        body["experiment"] = experiment
        found = self.t.pages(f"{_ws(workspace)}/runs/search", json=body)
        return [run_record(item) for item in found]

    def children(self, workspace: str, run_id: str, recursive: bool) -> builtins.list[RunRecord]:
        params = {"recursive": "true" if recursive else "false"}
        found = self.t.pages(f"{_run(workspace, run_id)}/children", params)
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
        return run_record(self.t.json("POST", f"{_run(workspace, run_id)}/status", json=body))

    def heartbeat(
        self, workspace: str, run_id: str, supervisor: dict[str, Any] | None = None
    ) -> RunStatus:
        body = {"supervisor": supervisor}
        found = self.t.json("POST", f"{_run(workspace, run_id)}/heartbeat", json=body)
        return RunStatus(found["status"])

    def queue_state(self, workspace: str, run_id: str) -> tuple[int, int]:
        found = self.t.json("GET", f"{_run(workspace, run_id)}/queue")
        return int(found["ahead"]), int(found["limit"])

    def stale_runs(self, workspace: str, older_than_ms: int) -> builtins.list[RunRecord]:
        params = {"older_than_ms": older_than_ms}
        found = self.t.json("GET", f"{_ws(workspace)}/stale-runs", params=params)
        return [run_record(item) for item in found]

    def read_log(self, workspace: str, run_id: str, offset: int) -> tuple[bytes, bool]:
        """The server's copy once the run ended; while it runs, the live file of a
        supervisor on this machine (runs submitted from here), else what the server has."""
        path = f"{_run(workspace, run_id)}/log"
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
        return run_record(self.t.json("POST", f"{_run(workspace, run_id)}/cancel"))

    def set_tags(self, workspace: str, run_id: str, tags: dict[str, Any]) -> None:
        self.t.request("PATCH", _run(workspace, run_id), json={"tags": tags})

    def remove_tags(self, workspace: str, run_id: str, keys: builtins.list[str]) -> None:
        self.t.request("PATCH", _run(workspace, run_id), json={"remove_tags": keys})

    def add_properties(self, workspace: str, run_id: str, properties: dict[str, Any]) -> None:
        self.t.request("PATCH", _run(workspace, run_id), json={"properties": properties})

    def locate(self, run_id: str) -> str:
        found = self.t.json("GET", f"/runs/{segment(check_run_id(run_id))}/workspace")
        return str(found["workspace"])


class HttpMetrics(_Part):
    def log_scalars(self, workspace: str, run_id: str, series: dict[str, ScalarBatch]) -> int:
        body = {
            "series": {
                name: {"steps": list(s), "values": list(v), "timestamps": list(t)}
                for name, (s, v, t) in series.items()
            }
        }
        found = self.t.json("POST", f"{_run(workspace, run_id)}/metrics/scalars", json=body)
        return int(found["count"])

    def log_documents(
        self, workspace: str, run_id: str, entries: builtins.list[tuple[str, str, Any]]
    ) -> None:
        body = {"entries": [list(entry) for entry in entries]}
        self.t.request("POST", f"{_run(workspace, run_id)}/metrics/documents", json=body)

    def get(
        self, workspace: str, run_ids: builtins.list[str], name: str | None = None
    ) -> dict[str, dict[str, Any]]:
        body = {"run_ids": run_ids, "name": name}
        found: dict[str, dict[str, Any]] = self.t.json(
            "POST", f"{_ws(workspace)}/metrics/search", json=body
        )
        return found

    def history(self, workspace: str, run_id: str, name: str) -> dict[str, builtins.list[Any]]:
        found: dict[str, builtins.list[Any]] = self.t.json(
            "GET", f"{_run(workspace, run_id)}/metrics/history", params={"name": name}
        )
        return found


class HttpArtifacts(_Part):
    def upload(self, workspace: str, run_id: str, path: str, source: IO[bytes]) -> ArtifactRecord:
        url = f"{_run(workspace, run_id)}/files/{file_path(check_relative_path(path))}"
        headers = {"Content-Type": "application/octet-stream"}
        found = self.t.json("PUT", url, content=iter_stream(source), headers=headers)
        return ArtifactRecord(**found)

    def upload_files(
        self, workspace: str, run_id: str, files: builtins.list[tuple[str, Path]]
    ) -> builtins.list[ArtifactRecord]:
        with tar_of([(name, local, None) for name, local in files]) as archive:
            found = self.t.json(
                "POST",
                f"{_run(workspace, run_id)}/files",
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return [ArtifactRecord(**item) for item in found]

    def list(
        self, workspace: str, run_id: str, prefix: str | None = None
    ) -> builtins.list[ArtifactRecord]:
        params = {"prefix": prefix} if prefix else None
        found = self.t.pages(f"{_run(workspace, run_id)}/files", params)
        return [ArtifactRecord(**item) for item in found]

    def download(self, workspace: str, run_id: str, path: str, destination: Path) -> None:
        clean = check_relative_path(path)
        self.t.download(f"{_run(workspace, run_id)}/files/{file_path(clean)}", destination)


class HttpSnapshots(_Part):
    def create(self, workspace: str, files: builtins.list[tuple[str, Path, int]]) -> SnapshotRecord:
        with tar_of([(name, local, mode) for name, local, mode in files]) as archive:
            found = self.t.json(
                "POST",
                f"{_ws(workspace)}/snapshots",
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return SnapshotRecord(**found)

    def files(self, workspace: str, snapshot_id: str) -> builtins.list[SnapshotFile]:
        found = self.t.json("GET", f"{_ws(workspace)}/snapshots/{segment(snapshot_id)}/files")
        return [SnapshotFile(**item) for item in found]

    def restore(self, workspace: str, snapshot_id: str, destination: Path) -> Path:
        destination.mkdir(parents=True, exist_ok=True)
        base = f"{_ws(workspace)}/snapshots/{segment(snapshot_id)}/files"
        for entry in self.files(workspace, snapshot_id):
            target = safe_join(destination, entry.path)
            self.t.download(f"{base}/{file_path(entry.path)}", target)
            target.chmod((entry.mode & 0o777) | 0o600)
        return destination


class HttpEnvironments(_Part):
    def register(self, workspace: str, name: str, spec: dict[str, Any]) -> EnvironmentRecord:
        path = f"{_ws(workspace)}/environments/{segment(name)}"
        return EnvironmentRecord(**self.t.json("POST", path, json={"spec": spec}))

    def get(self, workspace: str, name: str, version: int | None = None) -> EnvironmentRecord:
        params = {"version": version} if version is not None else None
        path = f"{_ws(workspace)}/environments/{segment(name)}"
        return EnvironmentRecord(**self.t.json("GET", path, params=params))

    def list(self, workspace: str) -> builtins.list[EnvironmentRecord]:
        found = self.t.pages(f"{_ws(workspace)}/environments")
        return [EnvironmentRecord(**item) for item in found]


class HttpCompute(_Part):
    def create(self, workspace: str, name: str, kind: str, config: dict[str, Any]) -> ComputeRecord:
        body = {"name": name, "kind": kind, "config": config}
        return ComputeRecord(**self.t.json("POST", f"{_ws(workspace)}/computes", json=body))

    def get(self, workspace: str, name: str) -> ComputeRecord:
        return ComputeRecord(**self.t.json("GET", f"{_ws(workspace)}/computes/{segment(name)}"))

    def list(self, workspace: str) -> builtins.list[ComputeRecord]:
        return [ComputeRecord(**item) for item in self.t.pages(f"{_ws(workspace)}/computes")]

    def update(
        self,
        workspace: str,
        name: str,
        *,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> ComputeRecord:
        body = {"state": state, "config": config, "error": error}
        path = f"{_ws(workspace)}/computes/{segment(name)}"
        return ComputeRecord(**self.t.json("PATCH", path, json=body))

    def delete(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", f"{_ws(workspace)}/computes/{segment(name)}")


class HttpBackend:
    """A workspace server at ``url``, reached with ``token``."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.tracking_uri = url.rstrip("/")
        self.transport = Transport(url, token)
        self.workspaces = HttpWorkspaces(self.transport)
        self.experiments = HttpExperiments(self.transport)
        self.runs = HttpRuns(self.transport)
        self.metrics = HttpMetrics(self.transport)
        self.artifacts = HttpArtifacts(self.transport)
        self.snapshots = HttpSnapshots(self.transport)
        self.environments = HttpEnvironments(self.transport)
        self.compute = HttpCompute(self.transport)
        self.models = HttpModels(self.transport)
        self.secrets = HttpSecrets(self.transport)
        self.packages = HttpPackages(self.transport)
        self.datastores = HttpDatastores(self.transport)
        self.datasets = HttpDatasets(self.transport)
        self.endpoints = HttpEndpoints(self.transport)

    def child_environment(self) -> dict[str, str]:
        """What a supervisor started on this machine needs: the server, this token, and
        a local home for its working copies (the run's script gets a run token instead,
        from :meth:`run_environment`)."""
        home = load_settings().home.expanduser().resolve()
        return {
            "ATELIER_TRACKING_URI": self.tracking_uri,
            "ATELIER_TOKEN": self.transport.token,
            "ATELIER_HOME": str(home),
        }

    def run_environment(self, workspace: str, run_id: str) -> dict[str, str]:
        """Variables for a run's own script: a token that can touch only that run."""
        found = self.transport.json("POST", f"{_run(workspace, run_id)}/token")
        return {"ATELIER_TOKEN": str(found["token"])}

    def close(self) -> None:
        self.transport.close()
