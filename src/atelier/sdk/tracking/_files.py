"""The files half of ``Run``: upload, list and download the run's files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.names import check_relative_path
from atelier.core.paths import folder_files, safe_join
from atelier.core.records import ArtifactRecord

if TYPE_CHECKING:
    from atelier.client.backend import Backend


class FilesMixin:
    _backend: Backend
    _workspace_name: str

    @property
    def id(self) -> str:
        raise NotImplementedError

    def upload_file(
        self,
        name: str,
        path_or_stream: str | os.PathLike[str] | IO[bytes],
        datastore_name: str | None = None,
    ) -> ArtifactRecord:
        """Store a local file or a binary stream as the run's file ``name`` (write-once)."""
        del datastore_name
        if isinstance(path_or_stream, str | os.PathLike):
            local = Path(path_or_stream)
            if not local.is_file():
                raise NotFoundError(f"cannot upload {local}: no such file")
            with local.open("rb") as handle:
                return self._backend.artifacts.upload(self._workspace_name, self.id, name, handle)
        if not hasattr(path_or_stream, "read"):
            raise ValidationError("path_or_stream must be a path or a binary stream")
        return self._backend.artifacts.upload(self._workspace_name, self.id, name, path_or_stream)

    def upload_files(
        self, names: list[str], paths: list[str | os.PathLike[str]], **kwargs: Any
    ) -> list[ArtifactRecord]:
        """Upload several files at once: all of them or, on any error, none."""
        if len(names) != len(paths):
            raise ValidationError("names and paths must have the same length")
        files = []
        for name, path in zip(names, paths, strict=True):
            local = Path(path)
            if not local.is_file():
                raise NotFoundError(f"cannot upload {local}: no such file")
            files.append((name, local))
        return self._backend.artifacts.upload_files(self._workspace_name, self.id, files)

    def upload_folder(
        self, name: str, path: str | os.PathLike[str], **kwargs: Any
    ) -> list[ArtifactRecord]:
        """Upload every file below ``path`` under the prefix ``name`` (all or nothing).

        A link pointing outside the folder is refused with ``ValidationError``."""
        prefix = check_relative_path(name, what="folder name")
        files = [(f"{prefix}/{relative}", local) for relative, local in folder_files(Path(path))]
        return self._backend.artifacts.upload_files(self._workspace_name, self.id, files)

    def get_file_names(self) -> list[str]:
        return [r.path for r in self._backend.artifacts.list(self._workspace_name, self.id)]

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> Path:
        """Write the run's file ``name`` to ``output_file_path`` (a file or an existing folder;
        default: its base name in the current folder)."""
        clean = check_relative_path(name)
        base_name = clean.rsplit("/", 1)[-1]
        target = Path(output_file_path) if output_file_path is not None else Path(base_name)
        if target.is_dir():
            target = target / base_name
        self._backend.artifacts.download(self._workspace_name, self.id, clean, target)
        return target

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: list[str] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        **kwargs: Any,
    ) -> list[Path]:
        """Download the files under ``prefix`` (all when None) below ``output_directory``."""
        del output_paths, batch_size
        root = Path(output_directory) if output_directory is not None else Path.cwd()
        clean_prefix = check_relative_path(prefix, what="prefix") if prefix else ""
        written = []
        for record in self._backend.artifacts.list(self._workspace_name, self.id, clean_prefix):
            relative = record.path
            if not append_prefix and clean_prefix:
                relative = relative[len(clean_prefix) :].lstrip("/") or relative.rsplit("/", 1)[-1]
            target = safe_join(root, relative)
            self._backend.artifacts.download(self._workspace_name, self.id, record.path, target)
            written.append(target)
        return written
