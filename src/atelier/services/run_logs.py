"""A run's script output: the uploaded log once the run has ended, else the live file
when the run's supervisor works in this home (the embedded backend's or the server's)."""

from __future__ import annotations

from pathlib import Path

from atelier.core.errors import NotFoundError
from atelier.core.paths import LOG_NAME, run_work_dir
from atelier.core.status import TERMINAL_STATUSES
from atelier.services import artifacts, runs
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


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
    live = run_work_dir(home, run_id) / LOG_NAME
    try:
        with live.open("rb") as handle:
            handle.seek(offset)
            return handle.read(), ended
    except FileNotFoundError:
        return b"", ended
