"""Checks on the home an embedded backend opens, so a broken home is one typed error that
names it and what to do, never a long traceback or a silently recreated empty database."""

from __future__ import annotations

import os
from pathlib import Path

from atelier.core.errors import HomeError
from atelier.core.paths import private_folder
from atelier.core.settings import Settings
from atelier.store.database import opened_in_this_process

SQLITE_MAGIC = b"SQLite format 3\x00"


def _holds_files(folder: Path) -> bool:
    try:
        return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))
    except OSError:
        return False


def check_home(settings: Settings) -> None:
    """Raise ``HomeError`` for a home that is not a writable folder, a database file that
    is not SQLite, or a missing or empty database beside blobs that still hold runs' files."""
    home = settings.home.expanduser()
    fix = f"set ATELIER_HOME to another folder, or repair {home}"
    if home.exists() and not home.is_dir():
        raise HomeError(f"the Atelier home {home} is a file, not a folder; {fix}")
    try:
        private_folder(home)  # 0700, as the store and blob folders are
    except OSError as exc:
        raise HomeError(f"cannot create the Atelier home {home}: {exc.strerror}; {fix}") from None
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        raise HomeError(
            f"the Atelier home {home} is not readable and writable by this user; "
            f"fix its permissions (chmod u+rwx {home}) or {fix}"
        )
    if settings.database_url is not None:
        return  # a database elsewhere (PostgreSQL, a named file): the server or its owner's
    database = home / "atelier.db"
    blob_url = settings.resolved_blob_url
    blobs = None if "://" in blob_url else Path(blob_url)
    size = database.stat().st_size if database.exists() else 0
    if size == 0:
        if blobs is not None and _holds_files(blobs):
            state = "is empty" if database.exists() else "is missing"
            raise HomeError(
                f"the database {database} {state}, but {blobs} still holds the files of runs "
                "and models: it is not re-created empty. Restore atelier.db (with its -wal "
                f"file) from a backup, or move {home} aside to start a new, empty home"
            )
        return
    if opened_in_this_process(database):
        return  # checked when first opened; reading it now would drop SQLite's locks
    try:
        with database.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise HomeError(f"cannot read the database {database}: {exc.strerror}; {fix}") from None
    if magic != SQLITE_MAGIC:
        raise HomeError(
            f"the database {database} is not a SQLite database (corrupted?); restore it "
            f"from a backup, or move {home} aside to start a new, empty home"
        )
