"""The image registry: immutable, versioned model packages made of content-addressed files.

A package version holds the models' files under ``models/<name>/<version>/<path>`` (the
models' own blobs: nothing is copied), plus the files the caller built (entry script and
source, lock files, Dockerfile, the Atelier runtime). Its manifest lists every file with
its digest, and the package's digest is the SHA-256 of that manifest, so two packages with
the same digest hold the same bytes. Nothing changes a package after it is created.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, StoreError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_relative_path, check_version
from atelier.core.packages import (
    PackageFileRecord,
    PackageRecord,
    check_image_label,
    check_image_name,
)
from atelier.core.timeutil import ms_to_iso, now_ms
from atelier.services import models, workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.models import PackageFileRow, PackageRow, WorkspaceRow

#: each failed attempt means another package of the name committed meanwhile
_CREATE_ATTEMPTS = 20
_LOG_MAX_CHARS = 200_000
MANIFEST_SCHEMA = "atelier.model-package/1"


def _record(row: PackageRow) -> PackageRecord:
    return PackageRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        label=row.label,
        digest=row.digest,
        created_ms=row.created_ms,
        manifest=dict(row.manifest),
        log=row.log,
    )


def _get_row(session: Session, workspace: str, name: str, version: int | None) -> PackageRow:
    check_image_name(name)
    number = None if version is None else check_version("package", version)
    ws = workspaces.get_row(session, workspace)
    query = select(PackageRow).where(PackageRow.workspace_id == ws.id, PackageRow.name == name)
    if number is None:
        row = session.scalar(query.order_by(PackageRow.version.desc()).limit(1))
    else:
        row = session.scalar(query.where(PackageRow.version == number))
    if row is None:
        which = f"{name!r}" if number is None else f"{name!r} version {number}"
        raise NotFoundError(
            f"image {which} not found in workspace {workspace!r}; create it with "
            f"Model.package(ws, models, inference_config, image_name={name!r}) and list "
            f"images with 'atelier image list -w {workspace}'"
        )
    return row


def get(session: Session, workspace: str, name: str, version: int | None = None) -> PackageRecord:
    """The package version (the latest when ``version`` is None)."""
    return _record(_get_row(session, workspace, name, version))


def list_packages(session: Session, workspace: str, name: str | None = None) -> list[PackageRecord]:
    """The workspace's packages by name, newest version first within a name."""
    ws = workspaces.get_row(session, workspace)
    query = select(PackageRow).where(PackageRow.workspace_id == ws.id)
    if name is not None:
        query = query.where(PackageRow.name == check_image_name(name))
    rows = session.scalars(query.order_by(PackageRow.name, PackageRow.version.desc()))
    return [_record(row) for row in rows]


def files(
    session: Session,
    workspace: str,
    name: str,
    version: int | None = None,
    path: str | None = None,
) -> list[PackageFileRecord]:
    """The package's files sorted by path; with ``path``, only the file of that path (one
    index lookup, for a download, instead of listing every file)."""
    row = _get_row(session, workspace, name, version)
    query = select(PackageFileRow).where(PackageFileRow.package_id == row.id)
    if path is not None:
        query = query.where(PackageFileRow.path == path)
    found = session.scalars(query.order_by(PackageFileRow.path))
    return [PackageFileRecord(path=f.path, digest=f.digest, size=f.size) for f in found]


def _model_files(
    session: Session, workspace: str, wanted: list[tuple[str, int]]
) -> tuple[list[tuple[str, str, int]], list[dict[str, Any]]]:
    """Each model version's files under ``models/<name>/<version>/``, and their summaries."""
    if not wanted:
        raise ValidationError("give at least one model to package")
    if len(set(wanted)) != len(wanted):
        raise ValidationError("the same model version is listed twice")
    stored: list[tuple[str, str, int]] = []
    summaries: list[dict[str, Any]] = []
    for name, version in wanted:
        record = models.get(session, workspace, name, check_version("model", version))
        found = models.files(session, workspace, name, record.version)
        prefix = f"models/{name}/{record.version}"
        stored += [(f"{prefix}/{f.path}", f.digest, f.size) for f in found]
        summaries.append(
            {
                "name": name,
                "version": record.version,
                "id": f"{name}:{record.version}",
                "asset": found[0].path.split("/", 1)[0] if found else None,
            }
        )
    return stored, summaries


def _finish_manifest(
    base: dict[str, Any], name: str, version: int, label: str | None, stored: list[Any], now: int
) -> tuple[dict[str, Any], str]:
    manifest = {
        **base,
        "schema": MANIFEST_SCHEMA,
        "image": {"name": name, "version": version, "label": label},
        "createdTime": ms_to_iso(now),
        "files": [{"path": p, "digest": d, "size": s} for p, d, s in sorted(stored)],
    }
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return manifest, hashlib.sha256(canonical.encode()).hexdigest()


def create(
    session: Session,
    blobs: BlobStore,
    workspace: str,
    name: str,
    label: str | None,
    model_versions: list[tuple[str, int]],
    local_files: list[tuple[str, Path]],
    manifest: dict[str, Any],
    log: str,
) -> PackageRecord:
    """Create the next version of image ``name`` from the models and the caller's files.

    ``local_files`` are (path in the build context, local file); they may not use the
    ``models/`` prefix or ``manifest.json``. Raises ``ValidationError`` for a bad name,
    label or path, ``NotFoundError`` when a model version does not exist (e.g. deleted).
    """
    check_image_name(name)
    label = check_image_label(label)
    ws = workspaces.get_row(session, workspace)
    stored, summaries = _model_files(session, workspace, model_versions)
    seen = {path for path, _, _ in stored}
    for path, local in local_files:
        clean = check_relative_path(path)
        if clean.startswith("models/") or clean == "manifest.json" or clean in seen:
            raise ValidationError(f"package path {path!r} is reserved or given twice")
        seen.add(clean)
        digest, size = blobs.put_file(local)
        stored.append((clean, digest, size))
    base = {**manifest, "models": summaries}
    # serialize versions of one workspace's images (and let readers keep reading)
    session.execute(
        select(WorkspaceRow.id).where(WorkspaceRow.id == ws.id).with_for_update(key_share=True)
    )
    for _ in range(_CREATE_ATTEMPTS):
        latest = session.scalar(
            select(func.max(PackageRow.version)).where(
                PackageRow.workspace_id == ws.id, PackageRow.name == name
            )
        )
        version = (latest or 0) + 1
        now = now_ms()
        final, digest = _finish_manifest(base, name, version, label, stored, now)
        row = PackageRow(
            id=new_id(), workspace_id=ws.id, name=name, version=version, label=label,
            digest=digest, manifest=final, log=log[-_LOG_MAX_CHARS:], created_ms=now,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # another process created this version meanwhile: take the next
        session.add_all(
            PackageFileRow(package_id=row.id, path=p, digest=d, size=s) for p, d, s in stored
        )
        session.flush()
        return _record(row)
    raise StoreError(f"image {name!r} is being packaged by many processes at once; try again")
