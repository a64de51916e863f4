"""The embedded backend's image registry: one transaction per call, and extractions of a
package's build context that appear all at once."""

from __future__ import annotations

import builtins
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from atelier.client.api.models import PackageAPI
from atelier.core.errors import AlreadyExistsError, StorageError
from atelier.core.packages import PackageFileRecord, PackageRecord
from atelier.core.paths import safe_join
from atelier.services import packages
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

MANIFEST_FILE = "manifest.json"
#: prefix of the folder an extraction is assembled in, beside its final place
STAGING_PREFIX = ".atelier-extract-"


class EmbeddedPackages:
    """``PackageAPI`` over this process's database and blob store."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def create(
        self,
        workspace: str,
        name: str,
        label: str | None,
        models: builtins.list[tuple[str, int]],
        files: builtins.list[tuple[str, Path]],
        manifest: dict[str, Any],
        log: str,
    ) -> PackageRecord:
        with self.db.session() as session:
            return packages.create(
                session, self.blobs, workspace, name, label, models, files, manifest, log
            )

    def get(self, workspace: str, name: str, version: int | None = None) -> PackageRecord:
        with self.db.session() as session:
            return packages.get(session, workspace, name, version)

    def list(self, workspace: str, name: str | None = None) -> builtins.list[PackageRecord]:
        with self.db.session() as session:
            return packages.list_packages(session, workspace, name)

    def files(self, workspace: str, name: str, version: int) -> builtins.list[PackageFileRecord]:
        with self.db.session() as session:
            return packages.files(session, workspace, name, version)

    def extract(self, workspace: str, name: str, version: int, target_dir: Path) -> Path:
        """Write the package's build context (its files and ``manifest.json``) as the new
        folder ``target_dir``: assembled beside it, then renamed into place."""
        with self.db.session() as session:
            record = packages.get(session, workspace, name, version)
            found = packages.files(session, workspace, name, version)
        target = Path(target_dir)
        if target.exists() and not (target.is_dir() and not any(target.iterdir())):
            raise AlreadyExistsError(
                f"{target} already exists and is not an empty folder; give a new folder"
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
        except OSError as exc:
            raise StorageError(f"cannot write into {target.parent}: {exc}") from exc
        try:
            for entry in found:
                self.blobs.copy_to(entry.digest, safe_join(staging, entry.path))
            manifest = json.dumps(record.manifest, indent=2, sort_keys=True) + "\n"
            (staging / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
            if target.is_dir():
                target.rmdir()  # empty, checked above
            staging.rename(target)
        except OSError as exc:
            raise StorageError(f"cannot write the package into {target}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def _conforms(implementation: EmbeddedPackages) -> PackageAPI:
    """mypy checks here that the class satisfies its protocol."""
    return implementation
