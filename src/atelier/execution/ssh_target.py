"""The connection to an SSH compute target: the ``ssh`` command line, running a short
command there, and errors that say what to fix.

Every ``ssh`` call runs with ``BatchMode=yes`` (a missing key fails instead of prompting),
no terminal, and a ``known_hosts`` file of the Atelier home (``<home>/ssh/known_hosts``):
a machine's host key is accepted the first time (``StrictHostKeyChecking=accept-new``) and
checked ever after. Password logins are not supported: give ``private_key_file`` (or have
the key in ``ssh-agent``). The address and username are plain names (checked by
:mod:`atelier.core.ssh_names`), and the command line ends ssh's options with ``--`` before
the host, so neither can be read as an option.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.core.errors import ComputeTargetException
from atelier.core.ssh_names import check_ssh_address, check_ssh_port, check_ssh_username

#: how long ``ssh`` may take to connect, and a quick remote command to answer
CONNECT_TIMEOUT_SECONDS = 10
_COMMAND_TIMEOUT_SECONDS = 60.0
#: ``ssh`` exits with 255 when it fails itself (connection, login, host key)
SSH_FAILED = 255
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
        return cls(
            host=check_ssh_address(config.get("address")),
            port=check_ssh_port(config.get("ssh_port")),
            user=check_ssh_username(config.get("username")),
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
            raise failure(self, done.returncode, text(done.stderr), doing)
        return text(done.stdout)


def text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def failure(target: SshTarget, code: int, stderr: str, doing: str) -> ComputeTargetException:
    """A ``ComputeTargetException`` that says what went wrong and what to do about it."""
    last = last_line(stderr)
    if code != SSH_FAILED:
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
