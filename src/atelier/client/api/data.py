"""Data: datastores (named storage locations and their files) and registered dataset
versions with their lineage to runs and models."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    DatastoreRecord,
    ModelDatasetRecord,
    RunInputRecord,
)

#: progress callback: (bytes done, bytes in all, file being worked on)
DataProgress = Callable[[int, int, str], None]


class DatastoreFilesAPI(Protocol):
    """The files of one datastore (``storage.datastores.DatastoreFiles`` in-process; over
    HTTP ``fs`` is None, as the server does every file operation)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def fs(self) -> Any: ...
    @property
    def root(self) -> str: ...

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
