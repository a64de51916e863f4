"""The ``ssh`` compute backend (``RemoteCompute``): a machine reached with the system OpenSSH
client (``ssh``; no Python SSH library).

``provision`` (:mod:`atelier.execution.ssh_provision`) checks the machine and records its
Python and work folder; :mod:`atelier.execution.ssh_target` builds every ``ssh`` command
line and :mod:`atelier.execution.ssh_files` copies folders. :class:`SshExecutor`
builds the run's environment on the machine (the remote Atelier's ``ensure_environment``,
cached in ``<work_root>/envs``), copies the run's folder to ``<work_root>/runs/<run>-<id>``
(``tar`` through ``ssh``), runs the command there with its output streamed back into the
run's log, then copies ``outputs/`` and ``logs/`` back into the local run folder (which the
supervisor uploads) and removes the remote folder.

The script runs as a process group on the machine: :meth:`SshProcess.stop` signals the
group (SIGTERM, then SIGKILL), and a small watcher in the group stops it when the connection
ends (the supervisor died, the network went away) or once the script has exited (so a
leftover background process cannot keep the session open).

Where the results go: the run's variables are passed to the script, among them
``ATELIER_TRACKING_URI``/``ATELIER_HOME``/``ATELIER_DATABASE_URL``/``ATELIER_BLOB_URL`` of
the submitting machine's store. That works when the "remote" machine shares that store (the
same machine, as in the tests, or the same PostgreSQL and blob URL reachable from there). A
really remote machine logs metrics through an HTTP tracking URI, which needs Atelier's
server mode; until then ``outputs/`` and ``logs/`` (copied back) and the run's printed
output (streamed) are what a remote run reports.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from atelier.core.errors import ComputeTargetException, EnvironmentBuildError, ValidationError
from atelier.execution.local import start_pumps
from atelier.execution.ssh_files import download, upload
from atelier.execution.ssh_target import (
    CONNECT_TIMEOUT_SECONDS,
    SSH_FAILED,
    SshTarget,
    failure,
    last_line,
    remote_shell,
    text,
)

#: ``provision`` is the kind's provisioner; the executor and its process live here
__all__ = ["WATCHER", "SshExecutor", "SshProcess", "remote_environment", "run_script"]

_KILL_GRACE_SECONDS = 5.0
_PID_MARKER = "@@atelier-remote-pid@@"
_RESULT_MARKER = "@@atelier-environment@@"
#: variables of the run's environment that are always passed to the script
_PASSED_PREFIXES = ("ATELIER_", "AZUREML_", "MLFLOW_")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: run on the machine by ``SshExecutor.prepare``: the spec comes on stdin
_ENVIRONMENT = f"""
import json, os, sys
from pathlib import Path
from atelier.core.errors import AtelierError
from atelier.execution.environments import ensure_environment
spec = json.load(sys.stdin)
root = Path(os.path.expanduser(sys.argv[1]))
try:
    result = {{"python": str(ensure_environment(spec, root / "envs", sys.stderr))}}
except AtelierError as exc:
    result = {{"code": exc.code, "message": exc.message}}
sys.stderr.flush()
print({_RESULT_MARKER!r} + json.dumps(result), flush=True)
"""

#: started in the script's process group before the script: stops the group once the
#: connection's stdin ends or the script (``$$`` after ``exec``) has exited; it ignores
#: SIGTERM, so the group's SIGKILL ends it last
WATCHER = """exec 3<&0
( trap '' TERM HUP INT
  cat <&3 >/dev/null 2>&1 &
  reader=$!
  while kill -0 $$ 2>/dev/null && kill -0 $reader 2>/dev/null; do sleep 1; done
  kill -s TERM -- -$$ 2>/dev/null; sleep 2; kill -s KILL -- -$$ 2>/dev/null
) </dev/null >/dev/null 2>&1 3<&3 &
exec 3<&-"""


def remote_environment(env: dict[str, str]) -> dict[str, str]:
    """The variables the remote script gets: Atelier's and azureml's, and whatever the run
    set or changed; not this machine's whole environment (the remote has its own)."""
    return {
        key: value
        for key, value in env.items()
        if key != "PATH"
        and _VARIABLE_NAME.match(key)
        and (
            key.startswith(_PASSED_PREFIXES)
            or key == "PYTHONUNBUFFERED"
            or os.environ.get(key) != value
        )
    }


def run_script(
    command: list[str], workdir: Path, remote_dir: str, env: dict[str, str], python: str
) -> str:
    """The ``sh`` script that runs ``command`` in ``remote_dir`` (paths of the local
    ``workdir`` replaced), as the leader of its process group, after printing its pid."""
    local = str(workdir)
    lines = [f'echo "{_PID_MARKER} $$"', WATCHER]
    lines.append(f"cd {shlex.quote(remote_dir)} || exit 1")
    for key, value in sorted(remote_environment(env).items()):
        lines.append(f"export {shlex.quote(key + '=' + value.replace(local, remote_dir))}")
    lines.append(f'PATH={shlex.quote(str(Path(python).parent))}:"$PATH"; export PATH')
    args = [arg.replace(local, remote_dir) for arg in command]
    lines.append(f"exec {shlex.join(args)} </dev/null")
    return "\n".join(lines)


class SshExecutor:
    """Builds (or finds) the environment on the machine and runs the script there."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.config = config
        self.home = home
        self.target = SshTarget.from_config(config, home)
        self.python = str(config.get("python") or "")
        self.work_root = str(config.get("work_root") or "")
        if not self.python or not self.work_root:
            raise ComputeTargetException(
                "this SSH compute target has no remote Python recorded; delete it and attach "
                "it again with ComputeTarget.attach(ws, name, RemoteCompute.attach_configuration"
                "(...))"
            )
        self.prepared: str | None = None

    def prepare(self, spec: dict[str, Any], log: IO[str]) -> Path:
        """Build the environment on the machine (its output goes to ``log``); the remote
        interpreter's path."""
        script = (
            f"{shlex.quote(self.python)} -c {shlex.quote(_ENVIRONMENT)} "
            f"{shlex.quote(self.work_root)} 2>&1"
        )
        with (
            tempfile.TemporaryFile() as errors,
            subprocess.Popen(
                self.target.command(remote_shell(script)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
            ) as proc,
        ):
            assert proc.stdin is not None and proc.stdout is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(json.dumps(spec).encode())
                proc.stdin.close()
            result, tail = _read_result(proc.stdout, log)
            code = proc.wait()
            errors.seek(0)
            stderr = text(errors.read())
        if result is None:
            if code == SSH_FAILED:
                raise failure(self.target, code, stderr, "getting the environment")
            raise ComputeTargetException(
                f"getting the environment on {self.target.label} failed (exit code {code}): "
                f"{last_line(''.join(tail))}"
            )
        if "python" not in result:
            message = f"{result.get('message')} (on {self.target.label})"
            if result.get("code") == ValidationError.code:
                raise ValidationError(message)
            raise EnvironmentBuildError(message)
        self.prepared = str(result["python"])
        return Path(self.prepared)

    def start(
        self,
        command: list[str],
        workdir: Path,
        env: dict[str, str],
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> SshProcess:
        run = env.get("ATELIER_RUN_ID") or "run"
        remote_dir = f"{self.work_root.rstrip('/')}/runs/{run}-{uuid.uuid4().hex[:8]}"
        upload(self.target, workdir, remote_dir)
        script = run_script(command, workdir, remote_dir, env, self.prepared or self.python)
        return SshProcess(self.target, script, remote_dir, workdir, out, stderr_tail)


def _read_result(
    stream: IO[bytes], log: IO[str]
) -> tuple[dict[str, Any] | None, collections.deque[str]]:
    """Copy the remote builder's lines into ``log`` until its result line."""
    result: dict[str, Any] | None = None
    tail: collections.deque[str] = collections.deque(maxlen=20)
    for raw in iter(stream.readline, b""):
        line = text(raw)
        if line.startswith(_RESULT_MARKER):
            with contextlib.suppress(json.JSONDecodeError):
                result = json.loads(line[len(_RESULT_MARKER) :])
            continue
        log.write(line)
        log.flush()
        tail.append(line)
    return result, tail


class SshProcess:
    """The script running on the machine: a local ``ssh`` whose output is the script's, and
    the remote process group it leads."""

    def __init__(
        self,
        target: SshTarget,
        script: str,
        remote_dir: str,
        workdir: Path,
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> None:
        self.target = target
        self.remote_dir = remote_dir
        self.workdir = workdir
        self.out = out
        self.stopped = False
        self.exit_code: int | None = None
        self.proc = subprocess.Popen(
            target.command(remote_shell(script)),
            stdin=subprocess.PIPE,  # never written: its end tells the watcher to stop
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.remote_pid = self._read_pid()
        self.readers = start_pumps(self.proc, out, stderr_tail)

    def _read_pid(self) -> int:
        """The remote group's pid from the script's first line (earlier lines, such as a
        login message, go to the log); ``ComputeTargetException`` if it never started."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for line in iter(self.proc.stdout.readline, b""):
            if line.startswith(_PID_MARKER.encode()):
                return int(line.split()[1])
            self.out.write(line)
        stderr = text(self.proc.stderr.read())
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(ComputeTargetException):
            self.target.run(f"rm -rf {shlex.quote(self.remote_dir)}", "cleaning up")
        raise failure(self.target, code, stderr, "starting the script")

    @property
    def local_pid(self) -> int | None:
        # the ssh client: stopping its group ends the remote script through the watcher
        return self.proc.pid

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the script is still running after ``timeout`` seconds.
        Once it has ended, its ``outputs/`` and ``logs/`` are copied back first."""
        if self.exit_code is not None:
            return self.exit_code
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self.stopped and code == SSH_FAILED:
            code = -signal.SIGTERM  # ssh reports a script ended by a signal as 255
        self.exit_code = code
        try:
            download(self.target, self.remote_dir, self.workdir)
        except ComputeTargetException as exc:
            if not self.stopped:
                raise
            self.out.write(f"[atelier] {exc.message}\n".encode())
        return code

    def _signal(self, name: str) -> None:
        with contextlib.suppress(ComputeTargetException):
            self.target.run(
                f"kill -s {name} -- -{self.remote_pid} 2>/dev/null || true",
                f"stopping the script ({name})",
                timeout=CONNECT_TIMEOUT_SECONDS + 10,
            )

    def stop(self) -> None:
        """Stop the script and everything it started there: SIGTERM to its process group,
        then SIGKILL; the local ``ssh`` ends with it (or is killed if the machine is gone)."""
        self.stopped = True
        for name in ("TERM", "KILL"):
            if self.proc.poll() is not None:
                break
            self._signal(name)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=_KILL_GRACE_SECONDS)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        for reader in self.readers:
            reader.join(timeout=5)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
