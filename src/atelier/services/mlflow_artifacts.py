"""The MLflow artifact proxy's paths, mapped onto run files and registered model files.

``<experiment id>/<run id>/artifacts/<path>`` is the run's file ``<path>``;
``registry/<model name>/<version>/<path>`` is a registered model's file (read only). A
version registered from plain files (no ``MLmodel`` of its own) also lists a generated
``registry/<model name>/<version>/MLmodel`` whose ``python_function`` flavor loads them with
:mod:`atelier.sdk.models.pyfunc`, so ``mlflow.pyfunc.load_model("models:/name/1")`` works.
Every path is checked before it names anything: no ``..``, no absolute or drive paths,
no backslashes, no ``%`` (a second round of percent-decoding must not change it), no
empty segments and no NUL.
"""

from __future__ import annotations

import json
import platform
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
MLMODEL = "MLmodel"
#: the module whose ``_load_pyfunc`` loads a version registered from plain files
PYFUNC_LOADER = "atelier.sdk.models.pyfunc"


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
        if not where.path or where.path == MLMODEL:
            generated = generated_mlmodel(session, workspace, *where.model)
            if generated is not None:
                files.append((MLMODEL, len(generated)))
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


def generated_mlmodel(session: Session, workspace: str, name: str, version: int) -> bytes | None:
    """The ``MLmodel`` an MLflow client is shown for a version registered from plain files
    (a pickle, a joblib file, a folder without an ``MLmodel``); None for an MLflow model."""
    files = models.files(session, workspace, name, version)
    if not files or any(f.path.rsplit("/", 1)[-1] == MLMODEL for f in files):
        return None
    asset = files[0].path.split("/", 1)[0]
    text = (
        "flavors:\n"
        "  python_function:\n"
        f"    loader_module: {PYFUNC_LOADER}\n"
        f"    data: {_yaml_text(asset)}\n"
        f"    python_version: {platform.python_version()}\n"
        f"model_uuid: {_yaml_text(f'{name}-{version}')}\n"
    )
    return text.encode()


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is valid YAML)."""
    return json.dumps(value)


def read_generated(session: Session, workspace: str, path: str) -> bytes | None:
    """The generated ``MLmodel`` at ``path`` (``registry/<name>/<version>/MLmodel``), or None
    when the path names a stored file instead."""
    where = locate(session, workspace, path)
    if where.model is None or where.path != MLMODEL:
        return None
    return generated_mlmodel(session, workspace, *where.model)
