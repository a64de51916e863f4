"""The ``ssh`` compute backend (``RemoteCompute``): a machine reached with the system OpenSSH
client (``ssh``; no Python SSH library).

``provision`` checks that the machine answers, that the login works without a prompt and
that it has a Python with Atelier importable (``python3``/``python`` on the remote ``PATH``,
or the ``python`` setting); it records that interpreter and a work folder there
(``~/.atelier-remote`` or the ``work_root`` setting, made absolute). :class:`SshExecutor`
builds the run's environment on the machine (the remote Atelier's ``ensure_environment``,
cached in ``<work_root>/envs``), copies the run's folder to ``<work_root>/runs/<run>-<id>``
(``tar`` through ``ssh``), runs the command there with its output streamed back into the
run's log, then copies ``outputs/`` and ``logs/`` back into the local run folder (which the
supervisor uploads) and removes the remote folder.

Every ``ssh`` call runs with ``BatchMode=yes`` (a missing key fails instead of prompting),
no terminal, and a ``known_hosts`` file of the Atelier home (``<home>/ssh/known_hosts``):
a machine's host key is accepted the first time (``StrictHostKeyChecking=accept-new``) and
checked ever after. Password logins are not supported: give ``private_key_file`` (or have
the key in ``ssh-agent``). The machine needs a POSIX ``sh`` and ``tar``.

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
import shutil
import signal
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from atelier.core.errors import ComputeTargetException, ValidationError
from atelier.core.settings import load_settings
from atelier.execution.environments import EnvironmentBuildError
from atelier.execution.local import start_pumps

DEFAULT_WORK_ROOT = "~/.atelier-remote"
#: how long ``ssh`` may take to connect, and a quick remote command to answer
CONNECT_TIMEOUT_SECONDS = 10
_COMMAND_TIMEOUT_SECONDS = 60.0
_KILL_GRACE_SECONDS = 5.0
#: ``ssh`` exits with 255 when it fails itself (connection, login, host key)
_SSH_FAILED = 255
_PID_MARKER = "@@atelier-remote-pid@@"
_RESULT_MARKER = "@@atelier-environment@@"
#: variables of the run's environment that are always passed to the script
_PASSED_PREFIXES = ("ATELIER_", "AZUREML_", "MLFLOW_")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_UNREACHABLE = (
    "Connection refused",
    "Connection timed out",
    "timed out",
    "No route to host",
    "Network is unreachable",
    "Could not resolve hostname",
    "Name or service not known",
    "Connection closed",
    "Connection reset",
    "kex_exchange_identification",
)

#: run on the machine by ``provision``: is Atelier importable, where is the work folder
_PROBE = """
import json, os, platform, shutil, sys
try:
    import atelier
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    raise SystemExit(0)
root = os.path.abspath(os.path.expanduser(sys.argv[1]))
os.makedirs(os.path.join(root, "runs"), exist_ok=True)
print(json.dumps({
    "python": sys.executable,
    "python_version": platform.python_version(),
    "atelier_version": getattr(atelier, "__version__", "unknown"),
    "work_root": root,
    "tar": shutil.which("tar") is not None,
}))
"""

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
_WATCHER = """exec 3<&0
( trap '' TERM HUP INT
  cat <&3 >/dev/null 2>&1 &
  reader=$!
  while kill -0 $$ 2>/dev/null && kill -0 $reader 2>/dev/null; do sleep 1; done
  kill -s TERM -- -$$ 2>/dev/null; sleep 2; kill -s KILL -- -$$ 2>/dev/null
) </dev/null >/dev/null 2>&1 3<&3 &
exec 3<&-"""


def remote_shell(script: str) -> str:
    """The remote command line that runs ``script`` with ``sh`` whatever the login shell."""
    return "exec sh -c " + shlex.quote(script)


@dataclass(frozen=True)
class SshTarget:
    """How to reach the machine: ``ssh [options] host command``."""

    host: str
    port: int
    user: str
    key: str | None
    known_hosts: Path

    @classmethod
    def from_config(cls, config: dict[str, Any], home: Path) -> SshTarget:
        host = str(config.get("address") or "").strip()
        if not host or host.startswith("-") or any(c.isspace() for c in host):
            raise ComputeTargetException(
                f"invalid SSH address {host!r}: give the machine's host name or IP address"
            )
        return cls(
            host=host,
            port=int(config.get("ssh_port") or 22),
            user=str(config.get("username") or ""),
            key=str(config["private_key_file"]) if config.get("private_key_file") else None,
            known_hosts=home / "ssh" / "known_hosts",
        )

    @property
    def label(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}:{self.port}"

    def command(self, remote: str) -> list[str]:
        """The local ``ssh`` command line that runs the shell line ``remote`` there."""
        ssh = shutil.which("ssh")
        if ssh is None:
            raise ComputeTargetException(
                "the OpenSSH client (`ssh`) is not installed on this machine: install it "
                "(e.g. `apt-get install openssh-client`) to use SSH compute targets"
            )
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        args = [
            ssh, "-T",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "HashKnownHosts=no",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
            "-o", "LogLevel=ERROR",
            "-p", str(self.port),
        ]  # fmt: skip
        if self.key:
            args += ["-i", self.key, "-o", "IdentitiesOnly=yes"]
        if self.user:
            args += ["-l", self.user]
        return [*args, "--", self.host, remote]

    def run(
        self, script: str, doing: str, *, stdin: bytes = b"", timeout: float | None = None
    ) -> str:
        """Run ``script`` with ``sh`` there; its stdout, or ``ComputeTargetException``."""
        limit = timeout or _COMMAND_TIMEOUT_SECONDS
        try:
            done = subprocess.run(
                self.command(remote_shell(script)),
                input=stdin,
                capture_output=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComputeTargetException(
                f"{self.label} did not answer within {limit:g} s while {doing}: check that "
                "the machine is up and reachable from here"
            ) from exc
        if done.returncode != 0:
            raise failure(self, done.returncode, _text(done.stderr), doing)
        return _text(done.stdout)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def failure(target: SshTarget, code: int, stderr: str, doing: str) -> ComputeTargetException:
    """A ``ComputeTargetException`` that says what went wrong and what to do about it."""
    last = _last_line(stderr)
    if code != _SSH_FAILED:
        return ComputeTargetException(
            f"the command on {target.label} failed with exit code {code} while {doing}: {last}"
        )
    if "Permission denied" in stderr or "Too many authentication failures" in stderr:
        key = target.key or "the default keys of ~/.ssh and ssh-agent"
        user = target.user or "your user"
        return ComputeTargetException(
            f"{target.label} refused the SSH login with {key} while {doing} ({last}): add the "
            f"public key to ~/.ssh/authorized_keys of {user} on the machine, or give the right "
            "username and private_key_file (password logins are not supported)"
        )
    if "Host key verification failed" in stderr or "IDENTIFICATION HAS CHANGED" in stderr:
        name = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
        return ComputeTargetException(
            f"the host key of {target.label} is not the one recorded in {target.known_hosts} "
            f"({last}); if the machine was reinstalled, remove the old key with "
            f"`ssh-keygen -R '{name}' -f {target.known_hosts}` and attach it again"
        )
    if any(marker in stderr for marker in _UNREACHABLE):
        return ComputeTargetException(
            f"no SSH server answers at {target.host}:{target.port} while {doing} ({last}): "
            "check the address and ssh_port, that sshd runs on the machine and that no "
            "firewall blocks this machine"
        )
    return ComputeTargetException(f"ssh to {target.label} failed while {doing}: {last}")


# --- provisioning -------------------------------------------------------------------------
def provision(settings: dict[str, Any], workspace: str, name: str) -> dict[str, Any]:
    """Check the machine in ``settings`` (``address``, ``ssh_port``, ``username``,
    ``private_key_file``; optional ``python`` and ``work_root``) and return the target's
    config, with the remote ``python`` and absolute ``work_root`` found there."""
    del workspace, name
    key = settings.get("private_key_file")
    if key:
        key_path = Path(str(key)).expanduser().resolve()
        if not key_path.is_file():
            raise ComputeTargetException(
                f"private_key_file {key!r} does not exist on this machine: give the path of "
                "the private key whose public key is authorized on the remote machine"
            )
        key = str(key_path)
    elif settings.get("password"):
        raise ComputeTargetException(
            "password logins are not supported (runs use ssh without prompts): give "
            "private_key_file, the private key whose public key is in the machine's "
            "~/.ssh/authorized_keys"
        )
    home = load_settings().home.expanduser().resolve()
    config: dict[str, Any] = {
        "address": str(settings.get("address") or "").strip(),
        "ssh_port": int(settings.get("ssh_port") or 22),
        "username": str(settings.get("username") or ""),
        "private_key_file": key or None,
    }
    target = SshTarget.from_config(config, home)
    target.run("true", "connecting", timeout=CONNECT_TIMEOUT_SECONDS + 20)
    work_root = str(settings.get("work_root") or DEFAULT_WORK_ROOT)
    found = _find_python(target, settings.get("python"), work_root)
    return {
        **config,
        **found,
        "max_concurrent_runs": int(settings.get("max_concurrent_runs") or 1),
    }


def _shell_word(path: str) -> str:
    """``path`` quoted for ``sh``, with a leading ``~/`` still meaning the remote home."""
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def _find_python(target: SshTarget, configured: Any, work_root: str) -> dict[str, Any]:
    """The first remote Python that imports Atelier: the configured one, else ``python3``
    or ``python`` on the remote ``PATH``."""
    candidates = [str(configured)] if configured else ["python3", "python"]
    reasons = []
    for python in candidates:
        script = f"{_shell_word(python)} -c {shlex.quote(_PROBE)} {shlex.quote(work_root)}"
        try:
            output = target.run(script, f"looking for {python} with Atelier")
        except ComputeTargetException as exc:
            reasons.append(f"{python}: {exc.message}")
            continue
        try:
            found: dict[str, Any] = json.loads(_last_line(output))
        except json.JSONDecodeError:
            reasons.append(f"{python}: unexpected output {_last_line(output)!r}")
            continue
        if "error" in found:
            reasons.append(f"{python}: {found['error']}")
            continue
        if not found.pop("tar", False):
            raise ComputeTargetException(
                f"{target.label} has no `tar`, which copies the runs' files: install it there"
            )
        return found
    raise ComputeTargetException(
        f"{target.label} has no Python with Atelier ({'; '.join(reasons)}): install it there "
        "(`python3 -m pip install atelier-ml`, the same version as here) or give the path of "
        "a Python that has it"
    )


# --- running scripts ------------------------------------------------------------------------
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
    lines = [f'echo "{_PID_MARKER} $$"', _WATCHER]
    lines.append(f"cd {shlex.quote(remote_dir)} || exit 1")
    for key, value in sorted(remote_environment(env).items()):
        lines.append(f"export {shlex.quote(key + '=' + value.replace(local, remote_dir))}")
    lines.append(f'PATH={shlex.quote(str(Path(python).parent))}:"$PATH"; export PATH')
    args = [arg.replace(local, remote_dir) for arg in command]
    lines.append(f"exec {shlex.join(args)} </dev/null")
    return "\n".join(lines)


def upload(target: SshTarget, workdir: Path, remote_dir: str) -> None:
    """Copy the contents of ``workdir`` into a new ``remote_dir`` (``tar`` over ``ssh``)."""
    folder = shlex.quote(remote_dir)
    command = target.command(remote_shell(f"mkdir -p {folder} && tar -x -o -f - -C {folder}"))
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        ) as proc,
    ):
        assert proc.stdin is not None
        # a broken pipe means the remote side failed: its stderr says why
        with (
            contextlib.suppress(BrokenPipeError),
            tarfile.open(fileobj=proc.stdin, mode="w|") as archive,
        ):
            archive.add(workdir, arcname=".")
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        code = proc.wait()
        errors.seek(0)
        stderr = _text(errors.read())
    if code != 0:
        raise failure(target, code, stderr, "copying the run's files there")


def download(target: SshTarget, remote_dir: str, workdir: Path) -> None:
    """Copy ``outputs/`` and ``logs/`` of ``remote_dir`` into ``workdir`` (regular files and
    folders only) and remove ``remote_dir``."""
    folder = shlex.quote(remote_dir)
    script = (
        f"cd {folder} || exit 1\nmkdir -p outputs logs\ntar -cf - outputs logs\n"
        f"status=$?\ncd / && rm -rf {folder}\nexit $status"
    )
    problem = None
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            target.command(remote_shell(script)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        ) as proc,
    ):
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                for member in archive:
                    if member.isdir() or member.isfile():
                        archive.extract(member, workdir, filter="data")
        except (tarfile.TarError, OSError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        finally:
            proc.stdout.close()
        code = proc.wait()
        errors.seek(0)
        stderr = _text(errors.read())
    if code != 0:
        error = failure(target, code, stderr, "copying outputs/ and logs/ back")
        raise ComputeTargetException(error.message + (f" ({problem})" if problem else ""))
    if problem is not None:
        raise ComputeTargetException(
            f"copying outputs/ and logs/ back from {target.label} failed: {problem}"
        )


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
            stderr = _text(errors.read())
        if result is None:
            if code == _SSH_FAILED:
                raise failure(self.target, code, stderr, "getting the environment")
            raise ComputeTargetException(
                f"getting the environment on {self.target.label} failed (exit code {code}): "
                f"{_last_line(''.join(tail))}"
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
        line = _text(raw)
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
        stderr = _text(self.proc.stderr.read())
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(ComputeTargetException):
            self.target.run(f"rm -rf {shlex.quote(self.remote_dir)}", "cleaning up")
        raise failure(self.target, code, stderr, "starting the script")

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the script is still running after ``timeout`` seconds.
        Once it has ended, its ``outputs/`` and ``logs/`` are copied back first."""
        if self.exit_code is not None:
            return self.exit_code
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self.stopped and code == _SSH_FAILED:
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
