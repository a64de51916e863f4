"""A real OpenSSH server on a free loopback port, for the SSH compute tests.

:func:`running_sshd` generates a host key and a client key pair (``ssh-keygen -t ed25519``),
writes an ``sshd_config`` that lets only that client key in, starts ``sshd -D -e`` as a
child process and stops that process (and only it) at the end. Sessions get the ``PATH``
and ``HOME`` given, so the "remote" machine's ``python3`` is this test session's Python
and its home (where ``~/.atelier-remote`` goes) is a temporary folder.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 10.0


class SshdUnavailableError(Exception):
    """No ``sshd`` (or ``ssh-keygen``) here, or it would not start; the message says why."""


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    user: str
    key: Path
    home: Path
    log: Path


def sshd_binary() -> str:
    """The absolute path of ``sshd`` (it refuses to run from a relative one)."""
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return str(Path(candidate).resolve())
    raise SshdUnavailableError("no sshd binary (apt-get install openssh-server)")


def _keygen(path: Path) -> None:
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        raise SshdUnavailableError("no ssh-keygen (apt-get install openssh-client)")
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "atelier-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, path: str, home: Path) -> Path:
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"HostKey {folder / 'host_key'}",
                f"AuthorizedKeysFile {folder / 'client_key.pub'}",
                "PidFile none",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "MaxStartups 50",
                "LogLevel INFO",
                f"SetEnv PATH={path} HOME={home}",
                "",
            ]
        )
    )
    return config


def _privilege_separation_dir() -> None:
    """Running as root, sshd needs ``/run/sshd`` (the package's service creates it)."""
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)


def _start(binary: str, config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start sshd on a free port and wait until it accepts connections (a port taken
    meanwhile by someone else is retried)."""
    for _ in range(5):
        port = _free_port()
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                [binary, "-D", "-e", "-f", str(config), "-p", str(port),
                 "-o", "ListenAddress=127.0.0.1"],
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return proc, port
            time.sleep(0.05)
        _stop(proc)
    raise SshdUnavailableError(f"sshd did not start: {log.read_text(errors='replace')[-500:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server started here (its listener; each session is its own process group,
    which ends with its client)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
            return


@contextlib.contextmanager
def running_sshd(folder: Path, path: str) -> Iterator[SshServer]:
    """An sshd on 127.0.0.1 that lets the generated client key log in as this user, with
    ``path`` as the sessions' ``PATH`` and ``folder/home`` as their ``HOME``."""
    binary = sshd_binary()
    folder.mkdir(parents=True, exist_ok=True)
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    home = folder / "home"
    home.mkdir(exist_ok=True)
    _privilege_separation_dir()
    log = folder / "sshd.log"
    proc, port = _start(binary, _config(folder, path, home), log)
    try:
        yield SshServer("127.0.0.1", port, getpass.getuser(), folder / "client_key", home, log)
    finally:
        _stop(proc)
