"""An environment's packages as wheels, resolved on the host and cached by their hash.

A container does not trust the host's certificate authority, and it may have no network:
the host's pip (with its index, certificates and ``--find-links``) builds or downloads
every wheel into a folder that the image build installs from with ``--no-index
--find-links``. The folder is keyed by the requirements, so an unchanged environment
reuses it and its image layer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from atelier.core.errors import EnvironmentBuildError

__all__ = ["WHEELS_READY", "host_wheels", "wheels_key"]

WHEELS_READY = ".ready"
_TIMEOUT = 1800


def wheels_key(requirements: Sequence[str]) -> str:
    """The cache key of a requirements list: the host's Python version and the lines."""
    text = f"{sys.version_info.major}.{sys.version_info.minor}\n" + "\n".join(requirements)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def host_wheels(requirements: Sequence[str], cache_root: Path, log: IO[str]) -> Path:
    """A folder holding a wheel for every requirement and its dependencies (made once per
    requirements list, under a lock). ``EnvironmentBuildError`` with pip's last lines when
    a requirement cannot be resolved; nothing half-made is kept."""
    key = wheels_key(requirements)
    target = cache_root / key
    if (target / WHEELS_READY).is_file():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    with (cache_root / f"{key}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if (target / WHEELS_READY).is_file():
                return target
            _make(requirements, cache_root, target, log)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return target


def _make(requirements: Sequence[str], cache_root: Path, target: Path, log: IO[str]) -> None:
    scratch = Path(tempfile.mkdtemp(prefix=".wheels-", dir=cache_root))
    try:
        lines = [line for line in requirements if line.strip()]
        (scratch / "requirements.txt").write_text("".join(f"{r}\n" for r in lines))
        if lines:
            command = [
                sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check",
                "--quiet", "--wheel-dir", str(scratch), "-r", str(scratch / "requirements.txt"),
            ]  # fmt: skip
            log.write(f"[atelier] resolving {len(lines)} requirements into wheels on the host\n")
            log.flush()
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=_TIMEOUT, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise EnvironmentBuildError(f"could not run pip wheel: {exc}") from exc
            log.write(done.stdout + done.stderr)
            if done.returncode != 0:
                tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
                raise EnvironmentBuildError(f"resolving the image's packages failed:\n{tail}")
        (scratch / WHEELS_READY).write_text("")
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(scratch)
