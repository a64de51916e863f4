"""The embedded backend's model registry: one transaction through the service per call,
and downloads that appear all at once."""

from __future__ import annotations

import builtins
import errno
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from atelier.client.api.models import ModelAPI
from atelier.core.errors import AlreadyExistsError, StorageError, ValidationError
from atelier.core.paths import safe_join
from atelier.core.records import ModelFileRecord, ModelQuery, ModelRecord, ModelSpec
from atelier.services import models
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

#: prefix of the folder a download is assembled in, beside its final place
STAGING_PREFIX = ".atelier-download-"


class EmbeddedModels:
    """``ModelAPI`` over this process's database and blob store."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def register(
        self, workspace: str, name: str, files: builtins.list[tuple[str, Path]], spec: ModelSpec
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.register(session, self.blobs, workspace, name, files, spec)

    def register_from_run(
        self, workspace: str, name: str, run_id: str, path: str, spec: ModelSpec
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.register_from_run(session, workspace, name, run_id, path, spec)

    def get(self, workspace: str, name: str, version: int | None = None) -> ModelRecord:
        with self.db.session() as session:
            return models.get(session, workspace, name, version)

    def list(self, workspace: str, query: ModelQuery) -> builtins.list[ModelRecord]:
        with self.db.session() as session:
            return models.list_models(session, workspace, query)

    def files(
        self, workspace: str, name: str, version: int | None = None
    ) -> builtins.list[ModelFileRecord]:
        with self.db.session() as session:
            return models.files(session, workspace, name, version)

    def set_tags(
        self, workspace: str, name: str, version: int, tags: dict[str, Any]
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.set_tags(session, workspace, name, version, tags)

    def remove_tags(
        self, workspace: str, name: str, version: int, keys: builtins.list[str]
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.remove_tags(session, workspace, name, version, keys)

    def add_properties(
        self, workspace: str, name: str, version: int, properties: dict[str, Any]
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.add_properties(session, workspace, name, version, properties)

    def update(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> ModelRecord:
        with self.db.session() as session:
            return models.update(
                session, workspace, name, version, description=description, tags=tags
            )

    def delete(self, workspace: str, name: str, version: int) -> None:
        # The blobs stay: a run's files or a snapshot may hold the same content, and
        # snapshot manifests are not indexed in the database, so only a collector that
        # reads them could tell which objects nothing uses any more.
        with self.db.session() as session:
            models.delete_version(session, workspace, name, version)

    def download(
        self, workspace: str, name: str, version: int, target_dir: Path, exist_ok: bool
    ) -> Path:
        with self.db.session() as session:
            found = models.files(session, workspace, name, version)
        return write_model(self.blobs, found, target_dir, exist_ok)


def write_model(
    blobs: BlobStore, files: builtins.list[ModelFileRecord], target_dir: Path, exist_ok: bool
) -> Path:
    """Write the model's asset (its file or folder) into ``target_dir``; return its path.

    The files are assembled in a hidden folder beside the final place and moved there in
    one rename, so a reader never sees half a model and a failure leaves nothing behind.
    An existing file or folder of that name raises ``AlreadyExistsError`` unless
    ``exist_ok``, which replaces it.
    """
    asset = files[0].path.split("/", 1)[0]
    final = target_dir / asset
    if not exist_ok and _occupied(final):
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
        for entry in files:
            blobs.copy_to(entry.digest, safe_join(staging, entry.path))
        _move_into_place(staging / asset, final, staging, exist_ok)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _occupied(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _move_into_place(ready: Path, final: Path, staging: Path, exist_ok: bool) -> None:
    try:
        if _occupied(final):
            if not exist_ok:
                raise AlreadyExistsError(f"{final} appeared while downloading; try again")
            # moved aside into the staging folder, which is removed afterwards
            final.rename(staging / f"replaced-{uuid.uuid4().hex}")
        ready.rename(final)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise AlreadyExistsError(f"{final} appeared while downloading; try again") from exc
        raise StorageError(f"cannot move the model into {final}: {exc}") from exc


def _conforms(implementation: EmbeddedModels) -> ModelAPI:
    """mypy checks here that the class satisfies its protocol."""
    return implementation
