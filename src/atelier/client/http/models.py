"""The model registry over HTTP, with downloads that appear all at once."""

from __future__ import annotations

import builtins
import dataclasses
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from atelier.client.api.models import ModelAPI
from atelier.client.http.archives import RawStream, unpack_listed
from atelier.client.http.transport import Transport, iter_stream, segment, tar_of
from atelier.core.errors import AlreadyExistsError, StorageError, ValidationError
from atelier.core.names import check_model_name
from atelier.core.records import ModelFileRecord, ModelQuery, ModelRecord, ModelSpec

STAGING_PREFIX = ".atelier-download-"


class HttpModels:
    """``ModelAPI`` over a server."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def _base(self, workspace: str, name: str) -> str:
        return f"/workspaces/{segment(workspace)}/models/{segment(check_model_name(name))}"

    def _version(self, workspace: str, name: str, version: int) -> str:
        return f"{self._base(workspace, name)}/versions/{int(version)}"

    def register(
        self, workspace: str, name: str, files: builtins.list[tuple[str, Path]], spec: ModelSpec
    ) -> ModelRecord:
        params = {"spec": json.dumps(dataclasses.asdict(spec))}
        with tar_of([(path, local, None) for path, local in files]) as archive:
            found = self.t.json(
                "POST",
                f"{self._base(workspace, name)}/versions",
                params=params,
                content=iter_stream(archive),
                headers={"Content-Type": "application/x-tar"},
            )
        return ModelRecord(**found)

    def register_from_run(
        self, workspace: str, name: str, run_id: str, path: str, spec: ModelSpec
    ) -> ModelRecord:
        body = {"run_id": run_id, "path": path, "spec": dataclasses.asdict(spec)}
        return ModelRecord(
            **self.t.json("POST", f"{self._base(workspace, name)}/from-run", json=body)
        )

    def get(self, workspace: str, name: str, version: int | None = None) -> ModelRecord:
        if version is None:
            return ModelRecord(**self.t.json("GET", self._base(workspace, name)))
        return ModelRecord(**self.t.json("GET", self._version(workspace, name, version)))

    def list(self, workspace: str, query: ModelQuery) -> builtins.list[ModelRecord]:
        found = self.t.pages(
            f"/workspaces/{segment(workspace)}/models/search", json=dataclasses.asdict(query)
        )
        return [ModelRecord(**item) for item in found]

    def files(
        self, workspace: str, name: str, version: int | None = None
    ) -> builtins.list[ModelFileRecord]:
        if version is None:
            version = self.get(workspace, name).version
        found = self.t.json("GET", f"{self._version(workspace, name, version)}/files")
        return [ModelFileRecord(**item) for item in found]

    def _patch(self, workspace: str, name: str, version: int, body: dict[str, Any]) -> ModelRecord:
        return ModelRecord(
            **self.t.json("PATCH", self._version(workspace, name, version), json=body)
        )

    def set_tags(
        self, workspace: str, name: str, version: int, tags: dict[str, Any]
    ) -> ModelRecord:
        return self._patch(workspace, name, version, {"set_tags": tags})

    def remove_tags(
        self, workspace: str, name: str, version: int, keys: builtins.list[str]
    ) -> ModelRecord:
        return self._patch(workspace, name, version, {"remove_tags": keys})

    def add_properties(
        self, workspace: str, name: str, version: int, properties: dict[str, Any]
    ) -> ModelRecord:
        return self._patch(workspace, name, version, {"properties": properties})

    def update(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelRecord:
        return self._patch(workspace, name, version, {"description": description, "tags": tags})

    def delete(self, workspace: str, name: str, version: int) -> None:
        self.t.request("DELETE", self._version(workspace, name, version))

    def download(
        self, workspace: str, name: str, version: int, target_dir: Path, exist_ok: bool
    ) -> Path:
        """Like the embedded backend: assembled beside its place, moved in with one rename."""
        found = self.files(workspace, name, version)
        asset = found[0].path.split("/", 1)[0]
        final = target_dir / asset
        if not exist_ok and (final.exists() or final.is_symlink()):
            raise AlreadyExistsError(
                f"{final} already exists; pass exist_ok=True to replace it, "
                "or download into another folder"
            )
        if target_dir.exists() and not target_dir.is_dir():
            raise ValidationError(f"target_dir {target_dir} is a file; give a folder")
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target_dir))
        except OSError as exc:
            raise StorageError(f"cannot write into {target_dir}: {exc}") from exc
        try:
            with self.t.stream(f"{self._version(workspace, name, version)}/archive") as response:
                owner = f"model {name}:{version}"
                unpack_listed(RawStream(response.iter_bytes()), staging, found, owner)
            try:
                if final.exists() or final.is_symlink():
                    final.rename(staging / f"replaced-{uuid.uuid4().hex}")
                (staging / asset).rename(final)
            except OSError as exc:
                raise StorageError(f"cannot move the model into {final}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final


def _conforms(implementation: HttpModels) -> ModelAPI:
    """mypy checks here that the class satisfies its protocol."""
    return implementation
