"""The ``local`` compute backend: scripts run as process groups on this machine."""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from atelier.execution.environments import ensure_environment

_KILL_GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


def kill_with_parent() -> None:
    """In a child process (Linux): SIGKILL it when the process that started it dies, so a
    killed supervisor (or launcher) on a Ray node leaves no script (or supervisor) running."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class LocalProcess:
    """A running script: its process group and the threads copying its output."""

    def __init__(
        self,
        command: list[str],
        workdir: Path,
        env: dict[str, str],
        out: IO[bytes],
        stderr_tail: collections.deque[str],
        die_with_parent: bool = False,
    ) -> None:
        self.proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=kill_with_parent if die_with_parent else None,  # noqa: PLW1509 - only prctl
        )
        self.readers = start_pumps(self.proc, out, stderr_tail)
        self._pidfd: int | None = None

    @property
    def local_pid(self) -> int | None:
        return self.proc.pid

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the script is still running after ``timeout`` seconds.
        Where the system has process descriptors, the exit is seen the moment it happens
        (``Popen.wait`` with a timeout polls, up to 50 ms late)."""
        if self._pidfd is None and self.proc.returncode is None and hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfd = os.pidfd_open(self.proc.pid)
        if self._pidfd is not None and self.proc.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                return None
            return self.proc.wait()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop the script and everything it started: SIGTERM to its group, then SIGKILL."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=_KILL_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        for reader in self.readers:
            reader.join(timeout=5)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class ContainerProcess(LocalProcess):
    """A script in a container (:mod:`atelier.execution.container_run`): the engine's
    foreground client is the local process; stopping stops the container, closing removes
    whatever is left of it."""

    def __init__(
        self,
        container: Any,
        workdir: Path,
        out: IO[bytes],
        stderr_tail: collections.deque[str],
        die_with_parent: bool = False,
    ) -> None:
        self.container = container
        super().__init__(container.args, workdir, container.env, out, stderr_tail, die_with_parent)

    def stop(self) -> None:
        self.container.stop()
        super().stop()

    def close(self) -> None:
        super().close()
        self.container.remove()


class LocalExecutor:
    """Builds (or finds) the environment here and runs the script as a local process."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.config = config
        self.home = home
        #: set by ``prepare`` for an environment with ``docker_enabled``: run in a container
        self.container: Any = None

    def prepare(self, spec: dict[str, Any], log: IO[str]) -> Path:
        if spec.get("docker_enabled"):
            from atelier.execution.container_run import prepare_image

            self.container = prepare_image(spec, self.home, log)
            return Path(self.container.python)
        return ensure_environment(spec, self.home / "envs", log)

    def start(
        self,
        command: list[str],
        workdir: Path,
        env: dict[str, str],
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> LocalProcess:
        die = bool(self.config.get("die_with_supervisor"))
        if self.container is not None:
            from atelier.execution.container_run import ContainerCommand

            boxed = ContainerCommand(self.container, command, workdir, env)
            return ContainerProcess(boxed, workdir, out, stderr_tail, die)
        return LocalProcess(command, workdir, env, out, stderr_tail, die_with_parent=die)


def start_pumps(
    proc: subprocess.Popen[bytes], out: IO[bytes], stderr_tail: collections.deque[str]
) -> list[threading.Thread]:
    """Copy a process's stdout and stderr into ``out`` (stderr's last lines also into
    ``stderr_tail``) on two daemon threads; return them so the caller can join."""
    lock = threading.Lock()
    readers = [
        threading.Thread(target=pump, args=(proc.stdout, out, lock, None), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, out, lock, stderr_tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    return readers


def pump(
    stream: IO[bytes] | None,
    out: IO[bytes],
    lock: threading.Lock,
    tail: collections.deque[str] | None,
) -> None:
    """Copy a stream line by line into ``out``, keeping the last lines in ``tail``."""
    if stream is None:
        return
    for line in iter(stream.readline, b""):
        with lock:
            out.write(line)
        if tail is not None:
            tail.append(line.decode("utf-8", errors="replace"))
    stream.close()
