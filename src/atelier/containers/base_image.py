"""The Python base image, made offline once per machine and kept in the engine's storage.

No registry image can be pulled on every machine, so Atelier makes its own base: Debian
bookworm's minimal root filesystem (``debootstrap --variant=minbase``) with ``python3``
and ``python3-venv`` from Debian's packages, a virtual environment at ``/opt/venv`` on
PATH, imported with ``<engine> import``. A machine-wide lock makes concurrent callers build
it once; the next caller finds it in the engine's storage.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from atelier.containers.engine import Engine
from atelier.core.errors import ImageBuildError

__all__ = ["BASE_IMAGE", "base_image_problem", "ensure_base_image"]

#: bump the tag when the recipe changes: the next build makes a new base
BASE_IMAGE = "localhost/atelier/python-base:bookworm-1"
VENV = "/opt/venv"
_SUITE = "bookworm"
_PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LOCK = Path(tempfile.gettempdir()) / "atelier-base-image.lock"
_BUILD_TIMEOUT = 1800


def base_image_problem() -> str | None:
    """Why the base image cannot be built here (None when it can): the tools it needs."""
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").is_file():
        return (
            "debootstrap is not installed ('apt-get install debootstrap'); it makes the "
            f"Python base image {BASE_IMAGE} offline"
        )
    if os.geteuid() != 0:
        return f"making the base image {BASE_IMAGE} needs root (debootstrap and chroot)"
    return None


def ensure_base_image(engine: Engine, log: IO[str], mirror: str | None = None) -> str:
    """``BASE_IMAGE``, built first when the engine does not hold it (minutes, once per
    machine). ``ImageBuildError`` says what is missing or which step failed; the
    debootstrap output is in ``log``."""
    if engine.image_exists(BASE_IMAGE):
        return BASE_IMAGE
    with _machine_lock(log):
        if engine.image_exists(BASE_IMAGE):  # another process built it meanwhile
            return BASE_IMAGE
        problem = base_image_problem()
        if problem is not None:
            raise ImageBuildError(f"the base image {BASE_IMAGE} is missing and {problem}")
        with tempfile.TemporaryDirectory(prefix="atelier-base-") as scratch:
            rootfs = Path(scratch) / "rootfs"
            _make_rootfs(rootfs, log, mirror or os.environ.get("ATELIER_DEBIAN_MIRROR"))
            _import(engine, rootfs, log)
    return BASE_IMAGE


@contextlib.contextmanager
def _machine_lock(log: IO[str]) -> Iterator[None]:
    with _LOCK.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.write(f"[atelier] waiting for another process making {BASE_IMAGE}\n")
            log.flush()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _step(command: list[str], log: IO[str], what: str) -> None:
    log.write("[atelier] $ " + " ".join(command) + "\n")
    log.flush()
    try:
        done = subprocess.run(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=_BUILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ImageBuildError(f"making the base image {BASE_IMAGE}: {what} failed: {exc}") from exc
    if done.returncode != 0:
        raise ImageBuildError(
            f"making the base image {BASE_IMAGE}: {what} exited with code {done.returncode} "
            "(its output is in the build log)"
        )


def _make_rootfs(rootfs: Path, log: IO[str], mirror: str | None) -> None:
    log.write(f"[atelier] making the base image {BASE_IMAGE} (once per machine)\n")
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    command = [
        debootstrap, "--variant=minbase", "--include=python3,python3-venv", _SUITE, str(rootfs),
    ]  # fmt: skip
    _step([*command, *([mirror] if mirror else [])], log, "debootstrap")
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    _step([chroot, str(rootfs), "/usr/bin/python3", "-m", "venv", VENV], log, "python3 -m venv")
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()


def _import(engine: Engine, rootfs: Path, log: IO[str]) -> None:
    changes = [
        f"ENV PATH={_PATH}",
        "ENV LANG=C.UTF-8",
        f"ENV VIRTUAL_ENV={VENV}",
        'CMD ["python3"]',
    ]
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    log.write(f"[atelier] $ tar -C {rootfs} -c . | {engine.name} {' '.join(args)} - {BASE_IMAGE}\n")
    log.flush()
    with subprocess.Popen(
        ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    ) as tar:
        assert tar.stdout is not None
        try:
            engine.call([*args, "-", BASE_IMAGE], stdin=tar.stdout, timeout=_BUILD_TIMEOUT)
        finally:
            tar.stdout.close()
            tar.wait()
    if tar.returncode != 0:
        raise ImageBuildError(f"making the base image {BASE_IMAGE}: tar exited {tar.returncode}")
    log.write(f"[atelier] made {BASE_IMAGE}\n")
