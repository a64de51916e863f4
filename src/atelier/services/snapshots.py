"""Snapshots: a source directory as submitted, stored content-addressed.

Each file is a blob (stored once however many snapshots hold it); the snapshot itself is
a manifest blob listing (path, digest, size, mode), and its id is the manifest's digest,
so submitting an unchanged folder twice yields the same snapshot.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.names import check_relative_path
from atelier.core.paths import safe_join
from atelier.core.records import SnapshotFile, SnapshotRecord
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.models import SnapshotRow


def _record(row: SnapshotRow) -> SnapshotRecord:
    return SnapshotRecord(
        id=row.id, file_count=row.file_count, total_size=row.total_size, created_ms=row.created_ms
    )


def create(
    session: Session, blobs: BlobStore, workspace: str, files: list[tuple[str, Path, int]]
) -> SnapshotRecord:
    """Store the files ``(relative path, local path, mode)`` and their manifest."""
    ws = workspaces.get_row(session, workspace)
    entries: list[dict[str, Any]] = []
    for relative, local, mode in sorted(files):
        clean = check_relative_path(relative)
        digest, size = blobs.put_file(local)
        entries.append({"path": clean, "digest": digest, "size": size, "mode": mode & 0o777})
    paths = [entry["path"] for entry in entries]
    if len(set(paths)) != len(paths):
        raise ValidationError("two files in the snapshot have the same path")
    manifest = json.dumps({"files": entries}, sort_keys=True).encode()
    snapshot_id, _ = blobs.put_bytes(manifest)
    row = session.get(SnapshotRow, (ws.id, snapshot_id))
    if row is None:
        row = SnapshotRow(
            workspace_id=ws.id,
            id=snapshot_id,
            file_count=len(entries),
            total_size=sum(int(entry["size"]) for entry in entries),
            created_ms=now_ms(),
        )
        session.add(row)
        session.flush()
    return _record(row)


def files(
    session: Session, blobs: BlobStore, workspace: str, snapshot_id: str
) -> list[SnapshotFile]:
    """The manifest of a snapshot of this workspace."""
    ws = workspaces.get_row(session, workspace)
    if session.get(SnapshotRow, (ws.id, snapshot_id)) is None:
        raise NotFoundError(f"snapshot {snapshot_id!r} not found in workspace {workspace!r}")
    with blobs.open(snapshot_id) as handle:
        manifest = json.loads(handle.read())
    return [SnapshotFile(**entry) for entry in manifest["files"]]


def restore(blobs: BlobStore, manifest: list[SnapshotFile], destination: Path) -> Path:
    """Write the snapshot's files below ``destination`` (created if needed)."""
    destination.mkdir(parents=True, exist_ok=True)
    for entry in manifest:
        target = safe_join(destination, entry.path)
        blobs.copy_to(entry.digest, target)
        target.chmod((entry.mode & 0o777) | stat.S_IRUSR | stat.S_IWUSR)
    return destination
