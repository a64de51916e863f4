"""AutoML iterations on a workspace's SSH target (``RemoteCompute``).

The search stays in the calling process (the study, the child runs, the ensembles). Its
featurized data (a copy of the search without its run) are copied once into the
machine's work folder, ``<work_root>/automl/<parent run>-<id>/worker.pkl``; each iteration
is then one ``ssh`` session that runs ``python -m atelier.sdk.automl._sshjobs`` there with
the model family, its hyperparameters and the scores so far, and sends its answer (the
validation predictions, every metric, the refitted model when it is among the best) back
on its output: at most ``max_concurrent_iterations`` sessions at once. An iteration past
its limit is stopped as a forked one is: its local ``ssh`` is killed, and the watcher on
the machine (the one SSH runs use) stops the remote process when the connection ends. The
folder is removed when the search ends. Jobs are :class:`_bounded.Job`, waited for and
read by :mod:`_bounded` (the local ``ssh`` is the job's process, its output the pipe).
"""

from __future__ import annotations

import base64
import contextlib
import os
import pickle
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO, Any

from atelier.core.errors import ComputeTargetException
from atelier.sdk.automl import _bounded as bounded
from atelier.sdk.automl._remote import iterate, worker_copy

__all__ = ["SshJobs", "main"]

_COPY_TIMEOUT_SECONDS = 300.0
#: how _bounded reports a job whose process ended without an answer
_DIED = "the iteration's process died"


class SshJobs:
    """Start, wait for and stop iterations on the SSH machine of ``config`` (a
    ``RemoteCompute`` target's settings)."""

    def __init__(self, config: dict[str, Any], search: Any) -> None:
        from atelier.core.settings import load_settings
        from atelier.execution.ssh_target import SshTarget

        self.target = SshTarget.from_config(config, load_settings().home.expanduser().resolve())
        self.python = str(config.get("python") or "")
        root = str(config.get("work_root") or "")
        if not self.python or not root:
            raise ComputeTargetException(
                "this SSH compute target has no remote Python recorded; delete it and attach "
                "it again with ComputeTarget.attach(ws, name, RemoteCompute.attach_configuration"
                "(...))"
            )
        self.folder = f"{root.rstrip('/')}/automl/{search.parent.id}-{uuid.uuid4().hex[:8]}"
        folder = shlex.quote(self.folder)
        self.target.run(
            f"mkdir -p {folder} && cat > {folder}/worker.pkl",
            "copying the search's data there",
            stdin=pickle.dumps(worker_copy(search)),
            timeout=_COPY_TIMEOUT_SECONDS,
        )
        #: by the job's ssh pid: the write end of its stdin (held open: its end tells the
        #: remote watcher to stop) and the file of its stderr
        self._open: dict[int, tuple[int, IO[bytes]]] = {}

    def spawn(
        self, name: str, params: dict[str, Any], scores: list[float], seconds: float, tag: Any
    ) -> bounded.Job:
        from atelier.execution.ssh_compute import WATCHER
        from atelier.execution.ssh_target import remote_shell

        payload = base64.b64encode(pickle.dumps((name, params, scores))).decode()
        worker = shlex.quote(f"{self.folder}/worker.pkl")
        script = (
            f"{WATCHER}\nexec {shlex.quote(self.python)} -m atelier.sdk.automl._sshjobs "
            f"{worker} {payload} </dev/null"
        )
        command = self.target.command(remote_shell(script))
        stdin_read, stdin_write = os.pipe()
        out_read, out_write = os.pipe()
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _release / close
        actions = [
            (os.POSIX_SPAWN_DUP2, stdin_read, 0),
            (os.POSIX_SPAWN_DUP2, out_write, 1),
            (os.POSIX_SPAWN_DUP2, errors.fileno(), 2),
        ]
        try:
            pid = os.posix_spawn(command[0], command, dict(os.environ), file_actions=actions)
        finally:
            os.close(stdin_read)
            os.close(out_write)
        self._open[pid] = (stdin_write, errors)
        return bounded.Job(tag, seconds, time.monotonic() + max(seconds, 0.0), pid=pid, fd=out_read)

    def _release(self, pid: int, job: bounded.Job) -> None:
        """Close what the job held here; a session that ended without an answer says why
        (the last line ``ssh`` or the remote Python wrote)."""
        stdin_write, errors = self._open.pop(pid, (-1, None))
        if stdin_write >= 0:
            with contextlib.suppress(OSError):
                os.close(stdin_write)
        if errors is None:
            return
        with errors:
            errors.seek(0)
            lines = errors.read().decode("utf-8", errors="replace").strip().splitlines()
        if job.answer == (False, _DIED):
            reason = lines[-1] if lines else "no output"
            job.answer = (
                False,
                f"the iteration on {self.target.label} ended without an answer: {reason}",
            )

    def kill(self, job: bounded.Job) -> None:
        pid = job.pid
        bounded.kill(job)
        self._release(pid, job)

    def wait(self, jobs: list[bounded.Job], timeout: float) -> list[bounded.Job]:
        pids = {id(job): job.pid for job in jobs}
        ended = bounded.wait(jobs, timeout)
        for job in ended:
            self._release(pids[id(job)], job)
        return ended

    def close(self) -> None:
        from atelier.execution.ssh_target import CONNECT_TIMEOUT_SECONDS

        for stdin_write, errors in self._open.values():
            with contextlib.suppress(OSError):
                os.close(stdin_write)
            errors.close()
        self._open.clear()
        with contextlib.suppress(ComputeTargetException):
            self.target.run(
                f"rm -rf {shlex.quote(self.folder)}",
                "removing the search's data",
                timeout=CONNECT_TIMEOUT_SECONDS + 20,
            )


def main() -> None:
    """On the machine: one iteration of the search in ``argv[1]`` (its family, parameters
    and the scores so far in ``argv[2]``); the pickled answer on stdout, which nothing
    else may write to (library output goes to stderr)."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        with Path(sys.argv[1]).open("rb") as handle:
            worker = pickle.load(handle)  # the search's own copy, written by SshJobs
        name, params, scores = pickle.loads(base64.b64decode(sys.argv[2]))
        answer: tuple[bool, Any] = (True, iterate(worker, name, params, scores))
    except BaseException as exc:  # the search records it as the iteration's failure
        answer = (False, f"{type(exc).__name__}: {exc}")
    with os.fdopen(answer_fd, "wb") as out:
        out.write(pickle.dumps(answer))


if __name__ == "__main__":
    main()
