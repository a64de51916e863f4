"""A run's script output: the uploaded log once the run has ended, else the live file
when the run's supervisor works in this home (the embedded backend's or the server's), else
the copy a supervisor on another machine (a Ray node) streams to the server while the
script runs (:func:`append_streamed`)."""

from __future__ import annotations

from pathlib import Path

from atelier.core.errors import NotFoundError
from atelier.core.names import check_run_id
from atelier.core.paths import LOG_NAME, run_work_dir
from atelier.core.status import TERMINAL_STATUSES
from atelier.services import artifacts, runs
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

#: the server's folder (in its home) of script output streamed from other machines
STREAMED_FOLDER = "streamed-logs"


def read_log(
    db: Database, blobs: BlobStore, home: Path, workspace: str, run_id: str, offset: int
) -> tuple[bytes, bool]:
    """Script output from ``offset`` and whether the run has ended: the uploaded
    ``user_logs/std_log.txt`` of an ended run, else the live file while the run works under
    ``home`` (empty when it has none here). ``NotFoundError`` if the run does not exist."""
    with db.session() as session:
        record = runs.get(session, workspace, run_id)
        ended = record.status in TERMINAL_STATUSES
        stored = None
        if ended:
            try:
                stored = artifacts.get(session, workspace, run_id, LOG_NAME)
            except NotFoundError:
                stored = None
    if stored is not None:
        with blobs.open(stored.digest) as handle:
            handle.seek(offset)
            return handle.read(), True
    for live in (run_work_dir(home, run_id) / LOG_NAME, streamed_path(home, run_id)):
        try:
            with live.open("rb") as handle:
                handle.seek(offset)
                return handle.read(), ended
        except FileNotFoundError:
            continue
    return b"", ended


def streamed_path(home: Path, run_id: str) -> Path:
    """Where the server keeps the script output a remote supervisor streams to it."""
    return home / STREAMED_FOLDER / check_run_id(run_id)


def append_streamed(
    db: Database, home: Path, workspace: str, run_id: str, offset: int, data: bytes
) -> int:
    """Write ``data`` at ``offset`` of the run's streamed output (a chunk sent again is
    written again in place) and return the size the server now has; a chunk past that
    size, or for a run that has ended, is not written (the sender goes on from the size)."""
    with db.session() as session:
        ended = runs.get(session, workspace, run_id).status in TERMINAL_STATUSES
    path = streamed_path(home, run_id)
    if ended:
        return path.stat().st_size if path.exists() else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:  # created if missing; never truncated
        size = handle.tell()
    if offset > size:
        return size
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)
        return max(size, offset + len(data))


def drop_streamed(db: Database, home: Path, workspace: str, run_id: str) -> None:
    """Remove the streamed copy once the run has ended with its log uploaded (a run whose
    node died keeps it: it is all there is of its output)."""
    path = streamed_path(home, run_id)
    if not path.exists():
        return
    with db.session() as session:
        if runs.get(session, workspace, run_id).status not in TERMINAL_STATUSES:
            return
        try:
            artifacts.get(session, workspace, run_id, LOG_NAME)
        except NotFoundError:
            return
    path.unlink(missing_ok=True)
