"""Paths from users never escape their root: the rules every layer applies to local paths;
and the home's folders and files are private to their user (0700 / 0600)."""

from __future__ import annotations

import os
from pathlib import Path

from atelier.core.errors import ValidationError
from atelier.core.names import check_relative_path

#: modes of what Atelier creates in its home: other local users read nothing of a workspace
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that resolves outside ``root``."""
    clean = check_relative_path(relative)
    base = root.resolve()
    target = (base / clean).resolve()
    if target != base and base not in target.parents:
        raise ValidationError(f"path {relative!r} resolves outside {root}; remove links or '..'")
    return target


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file below ``folder`` as (relative POSIX path, absolute path).

    A symbolic link whose target lies outside ``folder`` is refused: uploading it would
    copy a file the user did not mean to share.
    """
    base = folder.resolve()
    if not base.is_dir():
        raise ValidationError(f"{folder} is not a directory")
    found: list[tuple[str, Path]] = []
    for path in sorted(base.rglob("*")):
        if path.is_symlink():
            target = path.resolve()
            if target != base and base not in target.parents:
                raise ValidationError(
                    f"{path} is a link to {target}, outside {folder}; "
                    "copy the file in or remove the link"
                )
        if path.is_file():
            found.append((path.relative_to(base).as_posix(), path))
    return found


#: where a run's script output is stored, live and after the run
LOG_NAME = "user_logs/std_log.txt"


def run_work_dir(home: Path, run_id: str) -> Path:
    """Where this machine's supervisor keeps a run's working copy and live logs."""
    return home.expanduser().resolve() / "runs" / run_id


def private_folder(folder: Path) -> Path:
    """``folder``, created with every missing parent as 0700 (whatever the umask); folders
    that exist are left as they are."""
    missing = [folder, *folder.parents]
    for path in reversed(missing):
        if path.exists():
            continue
        try:
            path.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue  # another process made it first
        path.chmod(PRIVATE_FOLDER)  # mkdir's mode is cut by the umask; this is not
    return folder


def private_file(path: Path) -> Path:
    """``path`` created empty as 0600 when absent (its folder as by ``private_folder``);
    an existing file of this user is narrowed to 0600."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    try:
        if os.fstat(descriptor).st_uid == os.getuid():
            os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return path
