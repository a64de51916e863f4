"""The image registry over a server: a package goes up as one tar stream and comes down as
one (``.../archive``), and an extraction is assembled beside its place and renamed in, as
in the embedded backend."""

from __future__ import annotations

import builtins
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from atelier.client.api.models import PackageAPI
from atelier.client.http.archives import RawStream, unpack_listed
from atelier.client.http.transport import Transport, iter_stream, segment, tar_of
from atelier.core.errors import AlreadyExistsError, StorageError
from atelier.core.names import check_relative_path, check_workspace_name
from atelier.core.packages import PackageFileRecord, PackageRecord, check_image_name

MANIFEST_FILE = "manifest.json"
STAGING_PREFIX = ".atelier-extract-"


def _base(workspace: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(workspace))}/packages"


class HttpPackages:
    """``PackageAPI`` over a server."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def _version(self, workspace: str, name: str, version: int) -> str:
        return f"{_base(workspace)}/{segment(check_image_name(name))}/versions/{int(version)}"

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
        check_image_name(name)
        meta = {"label": label, "models": [list(m) for m in models], "manifest": manifest}
        meta["log"] = log
        with tempfile.TemporaryDirectory(prefix="atelier-package-") as folder:
            meta_file = Path(folder) / "package.json"
            meta_file.write_text(json.dumps(meta), encoding="utf-8")
            entries: builtins.list[tuple[str, Path, int | None]] = [
                ("package.json", meta_file, None)
            ]
            entries += [(f"files/{check_relative_path(p)}", local, None) for p, local in files]
            with tar_of(entries) as archive:
                found = self.t.json(
                    "POST",
                    _base(workspace),
                    params={"name": name},
                    content=iter_stream(archive),
                    headers={"Content-Type": "application/x-tar"},
                )
        return PackageRecord(**found)

    def get(self, workspace: str, name: str, version: int | None = None) -> PackageRecord:
        if version is None:
            path = f"{_base(workspace)}/{segment(check_image_name(name))}"
            return PackageRecord(**self.t.json("GET", path))
        return PackageRecord(**self.t.json("GET", self._version(workspace, name, version)))

    def list(self, workspace: str, name: str | None = None) -> builtins.list[PackageRecord]:
        params = {"name": name} if name is not None else None
        return [PackageRecord(**p) for p in self.t.json("GET", _base(workspace), params=params)]

    def files(self, workspace: str, name: str, version: int) -> builtins.list[PackageFileRecord]:
        found = self.t.json("GET", f"{self._version(workspace, name, version)}/files")
        return [PackageFileRecord(**item) for item in found]

    def extract(self, workspace: str, name: str, version: int, target_dir: Path) -> Path:
        """The package's build context and ``manifest.json`` as the new folder
        ``target_dir``; file paths from the server are joined safely below it."""
        record = self.get(workspace, name, version)
        found = self.files(workspace, name, version)
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
            with self.t.stream(f"{self._version(workspace, name, version)}/archive") as response:
                unpack_listed(
                    RawStream(response.iter_bytes()), staging, found, f"package {name}:{version}"
                )
            manifest = json.dumps(record.manifest, indent=2, sort_keys=True) + "\n"
            (staging / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
            if target.is_dir():
                target.rmdir()
            staging.rename(target)
        except OSError as exc:
            raise StorageError(f"cannot write the package into {target}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def _conforms(implementation: HttpPackages) -> PackageAPI:
    """mypy checks here that the class satisfies its protocol."""
    return implementation
