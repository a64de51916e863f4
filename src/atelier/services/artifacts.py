"""A run's files: named paths inside the run, each pointing at a content-addressed blob."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.names import check_relative_path
from atelier.core.records import ArtifactRecord
from atelier.core.timeutil import now_ms
from atelier.services import runs
from atelier.storage.blobstore import BlobStore
from atelier.store.models import ArtifactRow, ModelFileRow, PackageFileRow


def _record(row: ArtifactRow) -> ArtifactRecord:
    return ArtifactRecord(
        path=row.path, digest=row.digest, size=row.size, created_ms=row.created_ms
    )


def check_new_paths(session: Session, workspace: str, run_id: str, paths: list[str]) -> list[str]:
    """Normalized paths, refused if any is malformed or already exists in the run."""
    runs.get_rows(session, workspace, run_id)
    clean = [check_relative_path(p) for p in paths]
    taken = set(
        session.scalars(
            select(ArtifactRow.path).where(
                ArtifactRow.run_id == run_id, ArtifactRow.path.in_(clean)
            )
        )
    )
    if taken:
        first = sorted(taken)[0]
        raise AlreadyExistsError(
            f"run {run_id!r} already has a file named {first!r}; files are write-once, "
            "upload under another name"
        )
    return clean


def upload(
    session: Session,
    blobs: BlobStore,
    workspace: str,
    run_id: str,
    path: str,
    source: IO[bytes],
) -> ArtifactRecord:
    """Store the stream's bytes as the run's file ``path`` (write-once)."""
    (clean,) = check_new_paths(session, workspace, run_id, [path])
    digest, size = blobs.put(source)
    row = ArtifactRow(run_id=run_id, path=clean, digest=digest, size=size, created_ms=now_ms())
    session.add(row)
    session.flush()
    return _record(row)


def upload_files(
    session: Session, blobs: BlobStore, workspace: str, run_id: str, files: list[tuple[str, Path]]
) -> list[ArtifactRecord]:
    """Store several local files at once: every name is checked before any byte is stored,
    and the rows are added in the caller's single transaction (all or nothing)."""
    names = check_new_paths(session, workspace, run_id, [name for name, _ in files])
    if len(set(names)) != len(names):
        raise ValidationError("two of the files map to the same name in the run")
    rows: list[ArtifactRow] = []
    with ExitStack() as stack:
        for name, (_, local) in zip(names, files, strict=True):
            digest, size = blobs.put(stack.enter_context(local.open("rb")))
            rows.append(
                ArtifactRow(run_id=run_id, path=name, digest=digest, size=size, created_ms=now_ms())
            )
    session.add_all(rows)
    session.flush()
    return [_record(row) for row in rows]


def list_files(
    session: Session, workspace: str, run_id: str, prefix: str | None = None
) -> list[ArtifactRecord]:
    runs.get_rows(session, workspace, run_id)
    query = select(ArtifactRow).where(ArtifactRow.run_id == run_id)
    if prefix:
        clean = check_relative_path(prefix, what="prefix")
        query = query.where(ArtifactRow.path.startswith(clean, autoescape=True))
    return [_record(row) for row in session.scalars(query.order_by(ArtifactRow.path))]


def get(session: Session, workspace: str, run_id: str, path: str) -> ArtifactRecord:
    runs.get_rows(session, workspace, run_id)
    clean = check_relative_path(path)
    row = session.get(ArtifactRow, (run_id, clean))
    if row is None:
        raise NotFoundError(
            f"run {run_id!r} has no file {clean!r}; see run.get_file_names() for what it has"
        )
    return _record(row)


def unreferenced(session: Session, digests: set[str]) -> set[str]:
    """The digests among ``digests`` that no run file, model file or package file points at
    any more (a model registered from a run shares the run's blobs)."""
    if not digests:
        return set()
    wanted = sorted(digests)
    used = set(session.scalars(select(ArtifactRow.digest).where(ArtifactRow.digest.in_(wanted))))
    used.update(session.scalars(select(ModelFileRow.digest).where(ModelFileRow.digest.in_(wanted))))
    used.update(
        session.scalars(select(PackageFileRow.digest).where(PackageFileRow.digest.in_(wanted)))
    )
    return digests - used
