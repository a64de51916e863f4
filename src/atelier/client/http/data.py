"""Datastores and datasets over a server. The server keeps the credentials and does every
file operation; ``HttpDatastoreFiles`` is the client's view of one datastore's files
(listing, streamed reads and downloads, all-or-nothing uploads as one tar stream)."""

from __future__ import annotations

import builtins
import dataclasses
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from atelier.client.api.data import (
    DataProgress,
    DatasetAPI,
    DatastoreAPI,
    DatastoreFilesAPI,
)
from atelier.client.http.transport import Transport, file_path, iter_stream, segment, tar_of
from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    DatastoreRecord,
    ModelDatasetRecord,
    RunInputRecord,
)
from atelier.core.errors import AlreadyExistsError, NotFoundError
from atelier.core.names import check_relative_path, check_run_id, check_workspace_name

_CHUNK = 1024 * 1024


def _ws(workspace: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(workspace))}"


def _store(workspace: str, name: str) -> str:
    return f"{_ws(workspace)}/datastores/{segment(name)}"


class HttpDatastoreFiles:
    """``DatastoreFilesAPI`` through the server (``fs`` is None: there is no filesystem
    on this side, and no credential)."""

    def __init__(self, transport: Transport, workspace: str, record: DatastoreRecord) -> None:
        self.t = transport
        self.name = record.name
        self.kind = record.kind
        self.url = record.url
        self.fs: Any = None
        root = record.url.split("://", 1)[1] if "://" in record.url else record.url
        self.root = root.rstrip("/") or "/"
        self._base = _store(workspace, record.name)

    def full_path(self, relative: str) -> str:
        if relative in ("", ".", "/"):
            return self.root
        clean = check_relative_path(relative.strip("/"), what="datastore path")
        return f"{self.root}/{clean}" if self.root != "/" else f"/{clean}"

    def url_of(self, relative: str) -> str:
        path = self.full_path(relative)
        return path if self.kind == "local" else f"{self.url.split('://')[0]}://{path}"

    def _file(self, relative: str) -> str:
        clean = check_relative_path(relative.strip("/"), what="datastore path")
        return f"{self._base}/files/{file_path(clean)}"

    def list_files(self, pattern: str = "**") -> builtins.list[DataFile]:
        found = self.t.json("GET", f"{self._base}/files", params={"pattern": pattern})
        return [DataFile(**item) for item in found]

    def open(self, relative: str) -> IO[bytes]:
        """The file's bytes, streamed into a spooled temporary file (memory when small,
        disk when large) that the caller reads and closes."""
        spool = tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK)  # noqa: SIM115 - returned
        try:
            with self.t.stream(self._file(relative)) as response:
                for chunk in response.iter_bytes(_CHUNK):
                    spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def digests(self, relatives: builtins.list[str]) -> builtins.list[str]:
        found = self.t.json("POST", f"{self._base}/digests", json={"paths": list(relatives)})
        return [str(item) for item in found]

    def upload_files(
        self,
        files: builtins.list[tuple[str, Path]],
        overwrite: bool = False,
        progress: DataProgress | None = None,
    ) -> builtins.list[str]:
        """One tar stream; the server stages it and makes it visible all at once.
        ``progress`` follows the bytes packed for sending (an exception from it stops the
        upload before anything is sent)."""
        targets = [(check_relative_path(rel, what="target path"), local) for rel, local in files]
        for _, local in targets:
            if not local.is_file():
                raise NotFoundError(f"{local} is not a file; give existing files to upload")
        total = sum(local.stat().st_size for _, local in targets)
        done = 0
        for rel, local in targets:
            done += local.stat().st_size
            if progress is not None:
                progress(done, total, rel)
        with tar_of([(rel, local, None) for rel, local in targets]) as archive:
            found = self.t.json(
                "POST",
                f"{self._base}/files",
                params={"overwrite": "true" if overwrite else "false"},
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return [str(item) for item in found]

    def download(
        self,
        relatives: builtins.list[str],
        target: Path,
        overwrite: bool = False,
        progress: DataProgress | None = None,
        strip: str = "",
    ) -> builtins.list[Path]:
        """Like the embedded datastore: each file appears whole, existing ones refused
        unless ``overwrite``; local paths are checked before anything is fetched."""
        sizes = {f.path: f.size for f in self.list_files("**")} if progress else {}
        total = sum(sizes.get(r, 0) for r in relatives)
        plan = []
        for rel in relatives:
            local_rel = rel[len(strip) :].lstrip("/") if strip and rel.startswith(strip) else rel
            destination = target / check_relative_path(local_rel)
            if destination.exists() and not overwrite:
                raise AlreadyExistsError(
                    f"{destination} already exists; pass overwrite=True or download elsewhere"
                )
            plan.append((rel, destination))
        written = []
        done = 0
        for rel, destination in plan:
            self.t.download(self._file(rel), destination)
            done += sizes.get(rel, 0)
            if progress is not None:
                progress(done, total, rel)
            written.append(destination)
        return written

    def write_bytes(self, relative: str, data: bytes, overwrite: bool = False) -> None:
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / f"payload-{uuid.uuid4().hex[:8]}"
            local.write_bytes(data)
            written = self.upload_files([(relative, local)], overwrite=overwrite)
        if not written:
            raise AlreadyExistsError(
                f"datastore {self.name!r} already has {relative!r}; pass overwrite=True"
            )

    def remove(self, relative: str) -> None:
        self.t.request("DELETE", self._file(relative))


class HttpDatastores:
    """``DatastoreAPI`` over a server."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

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
    ) -> DatastoreRecord:
        body = {
            "name": name,
            "kind": kind,
            "url": url,
            "config": config,
            "credentials": credentials,
            "overwrite": overwrite,
            "validate": validate,
        }
        return DatastoreRecord(**self.t.json("POST", f"{_ws(workspace)}/datastores", json=body))

    def get(self, workspace: str, name: str) -> DatastoreRecord:
        return DatastoreRecord(**self.t.json("GET", _store(workspace, name)))

    def get_default(self, workspace: str) -> DatastoreRecord:
        return DatastoreRecord(**self.t.json("GET", f"{_ws(workspace)}/default-datastore"))

    def set_default(self, workspace: str, name: str) -> DatastoreRecord:
        path = f"{_ws(workspace)}/default-datastore"
        return DatastoreRecord(**self.t.json("PUT", path, json={"name": name}))

    def list(self, workspace: str) -> builtins.list[DatastoreRecord]:
        found = self.t.json("GET", f"{_ws(workspace)}/datastores")
        return [DatastoreRecord(**item) for item in found]

    def unregister(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", _store(workspace, name))

    def files(self, workspace: str, name: str) -> HttpDatastoreFiles:
        return HttpDatastoreFiles(self.t, workspace, self.get(workspace, name))


class HttpDatasets:
    """``DatasetAPI`` over a server."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

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
    ) -> DatasetRecord:
        body = {
            "name": name,
            "kind": kind,
            "definition": definition,
            "files": [dataclasses.asdict(f) for f in files],
            "description": description,
            "tags": tags,
            "create_new_version": create_new_version,
        }
        return DatasetRecord(**self.t.json("POST", f"{_ws(workspace)}/datasets", json=body))

    def get(self, workspace: str, name: str, version: int | None = None) -> DatasetRecord:
        params = {"version": version} if version is not None else None
        path = f"{_ws(workspace)}/datasets/{segment(name)}"
        return DatasetRecord(**self.t.json("GET", path, params=params))

    def _by_id(self, workspace: str, dataset_id: str) -> str:
        return f"{_ws(workspace)}/dataset-ids/{segment(dataset_id)}"

    def get_by_id(self, workspace: str, dataset_id: str) -> DatasetRecord:
        return DatasetRecord(**self.t.json("GET", self._by_id(workspace, dataset_id)))

    def list(self, workspace: str) -> builtins.list[DatasetRecord]:
        return [DatasetRecord(**d) for d in self.t.json("GET", f"{_ws(workspace)}/datasets")]

    def files(self, workspace: str, dataset_id: str) -> builtins.list[DataFile]:
        found = self.t.json("GET", f"{self._by_id(workspace, dataset_id)}/files")
        return [DataFile(**item) for item in found]

    def _inputs(self, workspace: str, run_id: str) -> str:
        return f"{_ws(workspace)}/runs/{segment(check_run_id(run_id))}/inputs"

    def record_run_inputs(
        self, workspace: str, run_id: str, inputs: builtins.list[dict[str, Any]]
    ) -> None:
        self.t.request("POST", self._inputs(workspace, run_id), json={"inputs": inputs})

    def run_inputs(self, workspace: str, run_id: str) -> builtins.list[RunInputRecord]:
        found = self.t.json("GET", self._inputs(workspace, run_id))
        return [RunInputRecord(**item) for item in found]

    def runs_using(self, workspace: str, dataset_id: str) -> builtins.list[RunInputRecord]:
        found = self.t.json("GET", f"{self._by_id(workspace, dataset_id)}/runs")
        return [RunInputRecord(**item) for item in found]

    def _model(self, workspace: str, name: str, version: int) -> str:
        return f"{_ws(workspace)}/models/{segment(name)}/versions/{int(version)}/datasets"

    def link_model(
        self,
        workspace: str,
        model_name: str,
        model_version: int,
        datasets: builtins.list[tuple[str, str]],
    ) -> None:
        body = {"datasets": [list(pair) for pair in datasets]}
        self.t.request("PUT", self._model(workspace, model_name, model_version), json=body)

    def model_datasets(
        self, workspace: str, model_name: str, model_version: int
    ) -> builtins.list[ModelDatasetRecord]:
        found = self.t.json("GET", self._model(workspace, model_name, model_version))
        return [ModelDatasetRecord(**item) for item in found]

    def models_using(self, workspace: str, dataset_id: str) -> builtins.list[ModelDatasetRecord]:
        found = self.t.json("GET", f"{self._by_id(workspace, dataset_id)}/models")
        return [ModelDatasetRecord(**item) for item in found]


def _conforms(
    stores: HttpDatastores, files: HttpDatastoreFiles, datasets: HttpDatasets
) -> tuple[DatastoreAPI, DatastoreFilesAPI, DatasetAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return stores, files, datasets


__all__ = ["HttpDatasets", "HttpDatastoreFiles", "HttpDatastores"]
