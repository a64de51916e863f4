"""``FileDataset``: a set of files on datastores or local folders, downloaded or mounted.

``mount`` has no FUSE here: it gives a read-only local view backed by a cache folder in
``$ATELIER_HOME/cache/mounts`` that is filled once per exact set of files (the same idea
as fsspec's local file cache), so a second mount of the same version is instant.
"""

from __future__ import annotations

import builtins
import json
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from atelier.client import data_files
from atelier.core.data_expr import parse_filter
from atelier.core.settings import load_settings
from atelier.sdk.data._dataset_base import (
    AbstractDataset,
    _check_count,
    _check_fraction,
    _seed,
    sources_from,
)
from atelier.sdk.data._inputs import DatasetConsumptionConfig
from atelier.sdk.data.data_reference import default_input_name

if TYPE_CHECKING:
    from atelier.client.data_files import ResolvedFile
    from atelier.sdk.workspace import Workspace

#: how ``mount`` is done on this machine (there is no FUSE driver in Atelier)
MOUNT_METHOD = "cache"


class MountContext:
    """A read-only view of a file dataset at ``mount_point``; ``start()``/``stop()`` or use
    it as a context manager. Files are links into a local cache of the dataset's files."""

    def __init__(self, dataset: FileDataset, mount_point: Path | None) -> None:
        self._dataset = dataset
        self._owned = mount_point is None
        self.mount_point = mount_point or Path(tempfile.mkdtemp(prefix="atelier-mount-"))
        self.method = MOUNT_METHOD

    def start(self) -> None:
        data_files.mount_view(load_settings().home, self._dataset._files(), self.mount_point)

    def stop(self) -> None:
        if self._owned:
            shutil.rmtree(self.mount_point, ignore_errors=True)
            return
        for path in sorted(self.mount_point.rglob("*"), reverse=True):
            if path.is_symlink():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FileDataset(AbstractDataset):
    """Files; create one with ``Dataset.File.from_files``."""

    _kind = "file"

    @classmethod
    def _from_sources(
        cls, sources: builtins.list[dict[str, Any]], workspace: Workspace | None
    ) -> FileDataset:
        return cls({"kind": "file", "sources": sources, "steps": []}, workspace)

    @classmethod
    def _from_path(cls, path: Any, validate: bool = True) -> FileDataset:
        sources, workspace = sources_from(path)
        dataset = cls._from_sources(sources, workspace)
        if validate:
            dataset._files()
        return dataset

    def _files(self) -> builtins.list[ResolvedFile]:
        return data_files.apply_file_steps(self._source_files(), self._definition.get("steps", []))

    # --- reading ------------------------------------------------------------------------
    def to_path(self) -> builtins.list[str]:
        """Each file's path relative to the dataset's root, as azureml shows them ('/a.csv')."""
        return ["/" + f.relative for f in self._files()]

    def download(
        self, target_path: str | Path | None = None, overwrite: bool = False
    ) -> builtins.list[str]:
        """Copy the files into ``target_path`` (a new temporary folder by default), keeping
        their relative paths; return the local paths. They appear all at once."""
        target = Path(target_path) if target_path is not None else Path(tempfile.mkdtemp())
        written = data_files.download(self._files(), target, overwrite)
        return [str(p) for p in written]

    def mount(self, mount_point: str | Path | None = None, **kwargs: Any) -> MountContext:
        """A read-only view of the files at ``mount_point`` (see :class:`MountContext`)."""
        del kwargs
        return MountContext(self, Path(mount_point) if mount_point is not None else None)

    # --- as a run's input (azureml's shortcuts for as_named_input(...).as_mount()) -----
    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """These files as a run's input, mounted read-only; in ``arguments`` it becomes
        their local folder (named ``input_<hash>`` in ``input_datasets``)."""
        return self.as_named_input(self._input_name()).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """These files as a run's input, downloaded before the script starts."""
        return self.as_named_input(self._input_name()).as_download(path_on_compute)

    def _input_name(self) -> str:
        return default_input_name(self.id or json.dumps(self._definition, sort_keys=True))

    # --- transformations ------------------------------------------------------------------
    def take(self, count: int) -> FileDataset:
        return self._with_step("take", count=_check_count("take", count))

    def skip(self, count: int) -> FileDataset:
        return self._with_step("skip", count=_check_count("skip", count))

    def take_sample(self, probability: float, seed: int | None = None) -> FileDataset:
        return self._with_step(
            "sample", probability=_check_fraction("probability", probability), seed=_seed(seed)
        )

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[FileDataset, FileDataset]:
        fraction = _check_fraction("percentage", percentage)
        chosen = _seed(seed)
        return (
            self._with_step("split", percentage=fraction, seed=chosen, part=0),
            self._with_step("split", percentage=fraction, seed=chosen, part=1),
        )

    def filter(self, expression: str) -> FileDataset:
        """Files where ``expression`` holds, over the columns ``path``, ``name``, ``size``
        and ``modified``: e.g. ``"endswith(name, '.csv') and size > 1000"``."""
        parse_filter(expression)
        return self._with_step("filter", expression=expression)

    def file_metadata(self) -> builtins.list[dict[str, Any]]:
        return [
            {"path": f.relative, "size": f.size, "modified_ms": f.mtime_ms} for f in self._files()
        ]
