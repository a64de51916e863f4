"""Paths from users never escape their root: the rules every layer applies to local paths."""

from __future__ import annotations

from pathlib import Path

from atelier.core.errors import ValidationError
from atelier.core.names import check_relative_path


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


def run_work_dir(home: Path, run_id: str) -> Path:
    """Where this machine's supervisor keeps a run's working copy and live logs."""
    return home.expanduser().resolve() / "runs" / run_id
