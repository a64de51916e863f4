"""The MLflow artifact proxy's paths, mapped onto run files and registered model files.

``<experiment id>/<run id>/artifacts/<path>`` is the run's file ``<path>``;
``registry/<model name>/<version>/<path>`` is a registered model's file (read only).
Every path is checked before it names anything: no ``..``, no absolute or drive paths,
no backslashes, no ``%`` (a second round of percent-decoding must not change it), no
empty segments and no NUL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from atelier.core.names import check_relative_path
from atelier.core.records import ArtifactRecord
from atelier.services import artifacts, models, runs
from atelier.storage.blobstore import BlobStore

REGISTRY = "registry"
ARTIFACTS = "artifacts"


@dataclass(frozen=True, slots=True)
class Location:
    """A run's path (``run_id`` set) or a model version's path (``model`` set)."""

    path: str
    run_id: str | None = None
    model: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    is_dir: bool
    size: int | None


def check_proxy_path(path: str) -> str:
    """The path, refused (``ValidationError``) if any part could leave its root."""
    if not isinstance(path, str) or not path or path != path.strip():
        raise ValidationError(f"artifact path {path!r} must be a non-empty relative path")
    if "\\" in path or "%" in path or "\x00" in path:
        raise ValidationError(
            f"artifact path {path!r} contains a backslash, '%' or NUL; use plain '/'-separated "
            "names"
        )
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValidationError(f"artifact path {path!r} is absolute; give a path inside a run")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts[:-1]) or parts[-1] in (".", ".."):
        raise ValidationError(f"artifact path {path!r} has an empty, '.' or '..' segment")
    return check_relative_path(path, what="artifact path")


def locate(session: Session, workspace: str, path: str, *, allow_root: bool = False) -> Location:
    """Where ``path`` points in ``workspace``; ``NotFoundError`` for an unknown run/model."""
    clean = check_proxy_path(path)
    parts = clean.split("/")
    if parts[0] == REGISTRY:
        if len(parts) < 3 or (len(parts) == 3 and not allow_root):
            raise ValidationError(f"{path!r}: use registry/<model>/<version>/<file>")
        name, version = parts[1], int(parts[2]) if parts[2].isdigit() else -1
        if version < 1:
            raise ValidationError(f"{path!r}: the model version must be a whole number")
        models.get(session, workspace, name, version)
        return Location(path="/".join(parts[3:]), model=(name, version))
    if len(parts) < 3 or parts[2] != ARTIFACTS or (len(parts) == 3 and not allow_root):
        raise ValidationError(
            f"artifact path {path!r} is not inside a run: use "
            "<experiment id>/<run id>/artifacts/<file>"
        )
    experiment_id, run_id = parts[0], parts[1]
    _, experiment = runs.get_rows(session, workspace, run_id)
    if experiment.id != experiment_id:
        raise NotFoundError(f"run {run_id!r} is not in experiment {experiment_id!r}")
    return Location(path="/".join(parts[3:]), run_id=run_id)


def upload(
    session: Session, workspace: str, blobs: BlobStore, path: str, source: IO[bytes]
) -> ArtifactRecord:
    """Store ``source`` as a run file (write-once; model versions cannot be written)."""
    where = locate(session, workspace, path)
    if where.run_id is None:
        raise PermissionDeniedError(
            "registered model files are read-only; log files to a run and register them"
        )
    return artifacts.upload(session, blobs, workspace, where.run_id, where.path, source)


def find_file(session: Session, workspace: str, path: str) -> tuple[str, int]:
    """(digest, size) of the file at ``path``."""
    where = locate(session, workspace, path)
    if where.run_id is not None:
        record = artifacts.get(session, workspace, where.run_id, where.path)
        return record.digest, record.size
    assert where.model is not None
    for item in models.files(session, workspace, where.model[0], where.model[1]):
        if item.path == where.path:
            return item.digest, item.size
    raise NotFoundError(f"model {where.model[0]!r} version {where.model[1]} has no file {path!r}")


def list_dir(session: Session, workspace: str, path: str) -> list[Entry]:
    """The immediate children of a folder (a file lists as itself; nothing else is empty)."""
    where = locate(session, workspace, path, allow_root=True)
    if where.run_id is not None:
        files = [
            (r.path, r.size)
            for r in artifacts.list_files(session, workspace, where.run_id, where.path or None)
        ]
    else:
        assert where.model is not None
        files = [(f.path, f.size) for f in models.files(session, workspace, *where.model)]
    prefix = where.path
    entries: dict[str, Entry] = {}
    for name, size in files:
        if name == prefix:
            return [Entry(name.rsplit("/", 1)[-1], False, size)]
        if prefix and not name.startswith(prefix + "/"):
            continue
        rest = name[len(prefix) + 1 :] if prefix else name
        head, slash, _ = rest.partition("/")
        entries[head] = Entry(head, bool(slash), None if slash else size)
    return sorted(entries.values(), key=lambda entry: entry.name)
