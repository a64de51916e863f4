"""Copying a run's folder to an SSH compute target and its results back (``tar`` through
``ssh``; the machine needs a POSIX ``sh`` and ``tar``)."""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import tarfile
import tempfile
from pathlib import Path

from atelier.core.errors import ComputeTargetException
from atelier.execution.ssh_target import SshTarget, failure, remote_shell, text


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
        stderr = text(errors.read())
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
        stderr = text(errors.read())
    if code != 0:
        error = failure(target, code, stderr, "copying outputs/ and logs/ back")
        raise ComputeTargetException(error.message + (f" ({problem})" if problem else ""))
    if problem is not None:
        raise ComputeTargetException(
            f"copying outputs/ and logs/ back from {target.label} failed: {problem}"
        )
