"""The model registry and the image registry (immutable packages built from models)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any, Protocol

from atelier.core.packages import PackageFileRecord, PackageRecord
from atelier.core.records import ModelFileRecord, ModelQuery, ModelRecord, ModelSpec


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
