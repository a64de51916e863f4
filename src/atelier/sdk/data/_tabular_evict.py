"""Keeping the columnar dataset cache (:mod:`atelier.sdk.data._tabular_cache`) within its
size: entries marked when used, removed least recently used first, and removed whole
(renamed away before deletion, so a reader finds an entry whole or not at all).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path

from atelier.sdk.data._tabular_entry import META

#: leftovers of a writer that crashed are removed once they are this old
STALE_SECONDS = 6 * 3600


def touch(entry: Path) -> None:
    """Mark the entry used now (its meta file's mtime, from the fine clock: the kernel's
    own file times can tie for reads a few milliseconds apart)."""
    now = time.time_ns()
    with contextlib.suppress(OSError):
        os.utime(entry / META, ns=(now, now))


def discard(entry: Path) -> None:
    """Remove an entry: renamed away first (readers then find it whole or not at all)."""
    trash = entry.with_name(f".trash-{uuid.uuid4().hex}")
    try:
        entry.rename(trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _folder_size(folder: Path) -> int:
    total = 0
    with os.scandir(folder) as found:
        for item in found:
            with contextlib.suppress(OSError):
                total += item.stat(follow_symlinks=False).st_size
    return total


def evict(root: Path, limit: int, keep: str | None = None) -> None:
    """Remove the least recently used entries until the cache holds at most ``limit``
    bytes (``keep`` stays), and leftovers of writers that crashed long ago."""
    entries: list[tuple[float, int, Path]] = []
    now = time.time()
    try:
        children = list(root.iterdir())
    except OSError:
        return
    for child in children:
        try:
            if child.name.startswith("."):
                if now - child.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(child, ignore_errors=True)
                continue
            meta = child / META
            used = meta.stat().st_mtime if meta.exists() else child.stat().st_mtime
            entries.append((used, _folder_size(child), child))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if entry.name == keep:
            continue
        discard(entry)
        total -= size
