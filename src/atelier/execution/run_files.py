"""A run's files on their way from the supervisor's machine to the backend.

The supervisor (:mod:`atelier.execution.supervisor`) writes what it does to the run's
``system_logs/supervisor.log`` (:func:`say`); on a Ray node it sends the script's output
while it runs (:func:`stream_log`), since its readers are on other machines; at the end it
uploads ``./outputs``, ``./logs`` and both logs in one all-or-nothing step
(:func:`upload_outputs`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.core.errors import AtelierError
from atelier.core.paths import LOG_NAME

__all__ = ["SUPERVISOR_LOG", "say", "stream_log", "upload_outputs"]

#: the supervisor's own log, beside the script's (``LOG_NAME``) in the run's folder
SUPERVISOR_LOG = "system_logs/supervisor.log"
#: how often a supervisor on a Ray node sends the script's new output, and at most how much
_STREAM_SECONDS = 0.5
_STREAM_CHUNK = 1 << 20


def say(log: IO[str], message: str) -> None:
    """Write ``message`` to the supervisor's log as one time-stamped line, at once."""
    log.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    log.flush()


def stream_log(
    supervision: SupervisionAPI, workspace: str, run_id: str, path: Path, ended: threading.Event
) -> None:
    """Send the script's output at ``path`` to the backend while it runs (every
    ``_STREAM_SECONDS``, and once more when ``ended`` is set), after what earlier attempts
    sent. A failed send is tried again at the next turn; the whole log is uploaded at the
    end in any case."""
    base: int | None = None
    sent = 0  # bytes of this attempt's output the backend has
    while True:
        last = ended.wait(_STREAM_SECONDS)
        with contextlib.suppress(AtelierError, OSError):
            if base is None:  # what earlier attempts sent stays before this one's
                base = supervision.stream_log(workspace, run_id, 0, b"")
            with path.open("rb") as handle:
                while True:
                    handle.seek(sent)
                    data = handle.read(_STREAM_CHUNK)
                    if not data:
                        break
                    size = supervision.stream_log(workspace, run_id, base + sent, data)
                    if size - base <= sent:
                        break  # the backend took nothing (the run has ended)
                    sent = size - base
        if last:
            return


def _output_files(run_dir: Path) -> list[tuple[str, Path]]:
    """The files of ``./outputs`` and ``./logs`` (no links) and the run's two logs, each
    with its artifact name."""
    files: list[tuple[str, Path]] = []
    for folder in ("outputs", "logs"):
        root = run_dir / "wd" / folder
        if root.is_dir() and not root.is_symlink():
            files += [
                (f"{folder}/{p.relative_to(root).as_posix()}", p)
                for p in sorted(root.rglob("*"))
                if p.is_file() and not p.is_symlink()
            ]
    for name in (LOG_NAME, SUPERVISOR_LOG):
        if (run_dir / name).is_file():
            files.append((name, run_dir / name))
    return files


def upload_outputs(
    backend: Backend,
    workspace: str,
    run_id: str,
    run_dir: Path,
    log: IO[str],
    announce: Callable[[str], None],
) -> dict[str, Any] | None:
    """Upload the run's outputs and logs that the backend does not have yet, all or none;
    ``announce`` is told what is about to be uploaded (nothing when all is there already).

    Returns the run's error when the upload failed (it is said in ``log`` too), else None.
    """
    log.flush()  # the supervisor's log goes up with the rest
    files = _output_files(run_dir)
    try:
        present = {r.path for r in backend.artifacts.list(workspace, run_id)}
        files = [(name, path) for name, path in files if name not in present]
        if files:
            announce(f"uploading {len(files)} output and log files")
            backend.artifacts.upload_files(workspace, run_id, files)
    except (AtelierError, OSError) as exc:
        message = getattr(exc, "message", str(exc))
        say(log, f"uploading outputs failed: {message}")
        return {"code": "OutputUploadFailed", "message": f"uploading outputs failed: {message}"}
    return None
