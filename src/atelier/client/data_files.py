"""The files behind a dataset: resolve its sources, apply file-level steps, check them
against a registered version's record, and copy them out.

Used by the SDK's datasets and by the run supervisor (to give a run its inputs), so it
lives below both. A source is ``{"datastore": name, "path": pattern}`` or
``{"local": "/abs/pattern"}`` (embedded mode); patterns may use ``*``, ``?`` and ``**``.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from atelier.core.data_records import DataFile
from atelier.core.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    StorageError,
    ValidationError,
)

if TYPE_CHECKING:
    from atelier.client.backend import Backend, DatastoreFilesAPI

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResolvedFile:
    """A file a dataset reads now: its stable key, its path below the source's base
    folder (what ``to_path`` and downloads use), and its current size and mtime."""

    key: str
    relative: str
    size: int
    mtime_ms: int
    store: DatastoreFilesAPI | None
    location: str

    def open(self) -> IO[bytes]:
        if self.store is None:
            try:
                return Path(self.location).open("rb")
            except OSError as exc:
                raise StorageError(f"cannot read {self.location}: {exc}") from exc
        return self.store.open(self.location)

    def as_record(self, digest: str = "") -> DataFile:
        return DataFile(path=self.key, size=self.size, mtime_ms=self.mtime_ms, digest=digest)


def static_prefix(pattern: str) -> str:
    """The folder part of a pattern before its first wildcard."""
    parts: list[str] = []
    for part in pattern.strip("/").split("/"):
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return "/".join(parts)


def _base_of(pattern: str, is_file: bool) -> str:
    prefix = static_prefix(pattern)
    if prefix == pattern.strip("/") and is_file:
        return prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    return prefix


def _resolve_datastore(
    backend: Backend, workspace: str, source: dict[str, Any]
) -> list[ResolvedFile]:
    store = backend.datastores.files(workspace, source["datastore"])
    pattern = str(source.get("path") or "**").strip("/") or "**"
    found = store.list_files(pattern)
    single = len(found) == 1 and found[0].path == pattern
    base = _base_of(pattern, single)
    return [
        ResolvedFile(
            key=f"{store.name}:{f.path}",
            relative=f.path[len(base) :].lstrip("/") if base else f.path,
            size=f.size,
            mtime_ms=f.mtime_ms,
            store=store,
            location=f.path,
        )
        for f in found
    ]


def _resolve_local(source: dict[str, Any]) -> list[ResolvedFile]:
    pattern = str(source["local"])
    path = Path(pattern)
    if not any(ch in pattern for ch in "*?["):
        if path.is_file():
            paths, base = [path], path.parent
        elif path.is_dir():
            paths, base = sorted(p for p in path.rglob("*") if p.is_file()), path
        else:
            paths, base = [], path
    else:
        base = Path("/" + static_prefix(pattern))
        rest = pattern.strip("/")[len(static_prefix(pattern)) :].strip("/")
        paths = sorted(p for p in base.glob(rest) if p.is_file()) if base.is_dir() else []
    found = []
    for item in paths:
        stat = item.stat()
        found.append(
            ResolvedFile(
                key=f"file:{item}",
                relative=item.relative_to(base).as_posix(),
                size=stat.st_size,
                mtime_ms=int(stat.st_mtime * 1000),
                store=None,
                location=str(item),
            )
        )
    return found


def describe(source: dict[str, Any]) -> str:
    if "datastore" in source:
        return f"{source.get('path') or '**'!r} on datastore {source['datastore']!r}"
    return repr(source.get("local"))


def resolve(
    backend: Backend | None, workspace: str | None, sources: list[dict[str, Any]]
) -> list[ResolvedFile]:
    """Every file the sources match now; ``NotFoundError`` naming a source matching nothing."""
    files: list[ResolvedFile] = []
    for source in sources:
        if "datastore" in source:
            if workspace is None or backend is None:
                raise ValidationError("this dataset reads a datastore but has no workspace")
            found = _resolve_datastore(backend, workspace, source)
        elif "local" in source:
            found = _resolve_local(source)
        else:
            raise ValidationError(f"unknown dataset source {source!r}")
        if not found:
            raise NotFoundError(
                f"the path {describe(source)} matches no files; check the path or glob "
                "(use '**' to match folders at any depth)"
            )
        files.extend(found)
    return files


# --- steps on the list of files -----------------------------------------------------------
def _sample_mask(count: int, probability: float, seed: int) -> list[bool]:
    rng = random.Random(seed)
    return [rng.random() < probability for _ in range(count)]


def apply_file_steps(files: list[ResolvedFile], steps: list[dict[str, Any]]) -> list[ResolvedFile]:
    """``take``, ``skip``, ``sample``, ``split`` and ``filter`` on the file list."""
    for step in steps:
        op = step["op"]
        if op == "take":
            files = files[: int(step["count"])]
        elif op == "skip":
            files = files[int(step["count"]) :]
        elif op == "sample":
            mask = _sample_mask(len(files), float(step["probability"]), int(step["seed"]))
            files = [f for f, keep in zip(files, mask, strict=True) if keep]
        elif op == "split":
            mask = _sample_mask(len(files), float(step["percentage"]), int(step["seed"]))
            first = step["part"] == 0
            files = [f for f, keep in zip(files, mask, strict=True) if keep == first]
        elif op == "filter":
            files = _filter_files(files, str(step["expression"]))
        else:
            raise ValidationError(f"a file dataset cannot apply the step {op!r}")
    return files


def _filter_files(files: list[ResolvedFile], expression: str) -> list[ResolvedFile]:
    import pyarrow as pa

    from atelier.core.data_expr import compile_filter

    table = pa.table(
        {
            "path": [f.relative for f in files],
            "name": [f.relative.rsplit("/", 1)[-1] for f in files],
            "size": pa.array([f.size for f in files], pa.int64()),
            "modified": pa.array([f.mtime_ms for f in files], pa.timestamp("ms")),
            "index": pa.array(range(len(files)), pa.int64()),
        }
    )
    kept = table.filter(compile_filter(expression, table.schema)).column("index").to_pylist()
    return [files[i] for i in kept]


# --- versions ----------------------------------------------------------------------------
def digest_of(file: ResolvedFile) -> str:
    hasher = hashlib.sha256()
    with file.open() as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def digests(files: list[ResolvedFile]) -> list[str]:
    """Content hashes, batched per datastore (object stores read in parallel)."""
    result: dict[str, str] = {}
    by_store: dict[int, list[ResolvedFile]] = {}
    for item in files:
        if item.store is None:
            result[item.key] = digest_of(item)
        else:
            by_store.setdefault(id(item.store), []).append(item)
    for group in by_store.values():
        store = group[0].store
        assert store is not None
        for item, digest in zip(group, store.digests([f.location for f in group]), strict=True):
            result[item.key] = digest
    return [result[f.key] for f in files]


def select_recorded(
    label: str, files: list[ResolvedFile], recorded: list[DataFile]
) -> list[ResolvedFile]:
    """The files a registered version recorded, in its order, as they are now; refuses to
    go on when one is gone or its content changed since registration (files that appeared
    since are not part of the version and are left out)."""
    now = {f.key: f for f in files}
    missing = [r.path for r in recorded if r.path not in now]
    if missing:
        raise InvalidStateError(
            f"{label} changed since it was registered: {missing[0]} is gone "
            f"({len(missing)} file(s) missing); restore it, or register the data as it is now "
            "as a new version (create_new_version=True)"
        )
    chosen = [now[r.path] for r in recorded]
    suspects = [
        (f, r)
        for f, r in zip(chosen, recorded, strict=True)
        if (f.size, f.mtime_ms) != (r.size, r.mtime_ms)
    ]
    if suspects:
        current = digests([f for f, _ in suspects])
        for (item, record), digest in zip(suspects, current, strict=True):
            if digest != record.digest:
                raise InvalidStateError(
                    f"{label} changed since it was registered: {item.key} has different "
                    "content now; register the data as it is now as a new version "
                    "(create_new_version=True)"
                )
    return chosen


# --- copying out -----------------------------------------------------------------------
def download(files: list[ResolvedFile], target: Path, overwrite: bool) -> list[Path]:
    """Write the files below ``target`` at their relative paths; they appear all at once
    (assembled in a hidden folder beside ``target``, then moved in)."""
    from atelier.core.names import check_relative_path

    planned = [(f, target / check_relative_path(f.relative)) for f in files]
    if not overwrite:
        for _, path in planned:
            if path.exists():
                raise AlreadyExistsError(f"{path} already exists; pass overwrite=True")
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".atelier-download-", dir=target))
    try:
        for item, path in planned:
            staged = staging / path.relative_to(target)
            staged.parent.mkdir(parents=True, exist_ok=True)
            with item.open() as source, staged.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
        for _, path in planned:
            path.parent.mkdir(parents=True, exist_ok=True)
            (staging / path.relative_to(target)).replace(path)
    except OSError as exc:
        raise StorageError(f"downloading into {target} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [path for _, path in planned]


def cache_folder(home: Path, files: list[ResolvedFile]) -> Path:
    """Where a read-only copy of exactly these files is kept (keyed by their identity)."""
    hasher = hashlib.sha256()
    for f in files:
        hasher.update(f"{f.key}\0{f.size}\0{f.mtime_ms}\n".encode())
    return home.expanduser().resolve() / "cache" / "mounts" / hasher.hexdigest()[:24]


def populate_cache(files: list[ResolvedFile], folder: Path) -> Path:
    """Fill ``folder`` once with read-only copies of the files; reuse it afterwards."""
    ready = folder / ".complete"
    if ready.exists():
        return folder / "files"
    work = folder.with_name(f"{folder.name}.{uuid.uuid4().hex[:8]}.part")
    download(files, work / "files", overwrite=True)
    for path in (work / "files").rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    (work / ".complete").write_text("")
    try:
        work.replace(folder)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)  # another process filled it first
    return folder / "files"


def mount_view(home: Path, files: list[ResolvedFile], mount_point: Path) -> None:
    """A read-only view of the files at ``mount_point``: links into a cache folder filled
    once per exact set of files (no FUSE driver is used)."""
    cache = populate_cache(files, cache_folder(home, files))
    mount_point.mkdir(parents=True, exist_ok=True)
    if any(mount_point.iterdir()):
        raise ValidationError(f"mount point {mount_point} is not empty")
    for item in files:
        link = mount_point / item.relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(cache / item.relative)


def dataset_files(
    backend: Backend, workspace: str, definition: dict[str, Any], dataset_id: str | None, label: str
) -> list[ResolvedFile]:
    """A file dataset's files as its definition selects them (a registered version's
    recorded files, checked), with its steps applied."""
    found = resolve(backend, workspace, definition.get("sources", []))
    if dataset_id is not None:
        found = select_recorded(label, found, backend.datasets.files(workspace, dataset_id))
    return apply_file_steps(found, definition.get("steps", []))
