"""Choosing what a submitted source directory's snapshot holds.

``.amlignore`` (else ``.gitignore``) at the folder's top, in gitignore syntax, says what
to leave out; ``.git``, Python's bytecode caches (``__pycache__``, ``*.pyc``) and Atelier's
own home (``ATELIER_HOME``, when it lies inside the folder: its database, blobs and the
working folders of earlier runs) are always left out. The limits (300 MB, 2,000 files by default;
``ATELIER_SNAPSHOT_MAX_MB`` / ``ATELIER_SNAPSHOT_MAX_FILES``) stop a submit that would
copy a data set or a virtualenv by mistake, naming the largest offenders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from atelier.core.errors import ValidationError
from atelier.core.paths import folder_files
from atelier.core.settings import load_settings

if TYPE_CHECKING:
    import pathspec

DEFAULT_MAX_MB = 300
DEFAULT_MAX_FILES = 2000
IGNORE_FILES = (".amlignore", ".gitignore")


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    import pathspec  # only a submit snapshots a folder: kept out of `import atelier`

    # Python's bytecode caches come and go with imports: never part of a snapshot
    lines = [".git/", "__pycache__/", "*.py[co]"]
    for name in IGNORE_FILES:
        candidate = root / name
        if candidate.is_file():
            lines += candidate.read_text(encoding="utf-8", errors="replace").splitlines()
            break
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _home_inside(root: Path) -> str | None:
    """Atelier's home as a folder path relative to ``root`` (``/`` separated, ending in
    ``/``), or None when it is not inside ``root``."""
    home = load_settings().home.expanduser()
    try:
        relative = home.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return None
    if not relative.parts:  # the home itself submitted as the source: nothing to leave out
        return None
    return relative.as_posix() + "/"


def _limits() -> tuple[int, int]:
    try:
        max_mb = int(os.environ.get("ATELIER_SNAPSHOT_MAX_MB", DEFAULT_MAX_MB))
        max_files = int(os.environ.get("ATELIER_SNAPSHOT_MAX_FILES", DEFAULT_MAX_FILES))
    except ValueError as exc:
        raise ValidationError(f"snapshot limits must be whole numbers: {exc}") from exc
    return max_mb * 1024 * 1024, max_files


def collect(source_directory: Path) -> list[tuple[str, Path, int]]:
    """The files to snapshot as (relative path, local path, mode); raises when over limits."""
    root = Path(source_directory)
    if not root.is_dir():
        raise ValidationError(f"source_directory {root} does not exist or is not a folder")
    spec = _ignore_spec(root)
    # each run would copy the store, earlier runs' copies included; no ignore file re-adds it
    home = _home_inside(root)
    chosen = []
    for relative, local in folder_files(root):
        if (home is not None and relative.startswith(home)) or spec.match_file(relative):
            continue
        chosen.append((relative, local, local.stat().st_mode & 0o777))
    max_bytes, max_files = _limits()
    sizes = [(local.stat().st_size, relative) for relative, local, _ in chosen]
    total = sum(size for size, _ in sizes)
    if total > max_bytes or len(chosen) > max_files:
        largest = ", ".join(
            f"{rel} ({size / 1e6:.1f} MB)" for size, rel in sorted(sizes)[-5:][::-1]
        )
        raise ValidationError(
            f"source_directory {root} holds {len(chosen)} files, {total / 1e6:.1f} MB; the limits "
            f"are {max_files} files and {max_bytes / 1e6:.0f} MB. Largest: {largest}. Leave data "
            "and environments out with a .amlignore file, or raise ATELIER_SNAPSHOT_MAX_MB / "
            "ATELIER_SNAPSHOT_MAX_FILES"
        )
    return chosen
