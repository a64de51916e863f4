"""AutoML iterations on an SSH target (``RemoteCompute``), against a real sshd on a
loopback port whose sessions have this test session's Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import atelier
from atelier import Workspace
from atelier.sdk.compute.targets import ComputeTarget, RemoteCompute
from tests.execution.automl_remote import search_on
from tests.execution.sshd import SshServer

pytestmark = pytest.mark.one_database  # the database kind is incidental here


def _python_with_this_atelier(folder: Path) -> str:
    """The remote interpreter: this Python, importing the Atelier under test."""
    source = Path(atelier.__file__).resolve().parent.parent
    script = folder / "python-here"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={source} exec {sys.executable} "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_iterations_run_over_ssh_on_the_target(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    target = ComputeTarget.attach(
        ws,
        "box",
        RemoteCompute.attach_configuration(
            address=sshd.host,
            ssh_port=sshd.port,
            username=sshd.user,
            private_key_file=str(sshd.key),
        ),
    )
    # the machine's Python is this one; it imports the Atelier under test (a worktree's)
    config = {**target.config, "python": _python_with_this_atelier(tmp_path)}
    ws._backend.compute.update(ws.name, "box", config=config)
    sessions = sshd.log.read_text(errors="replace").count("Accepted publickey")
    search_on(ws, "box")
    # one session copied the data, one each computed an iteration, one removed the data
    log = sshd.log.read_text(errors="replace")
    assert log.count("Accepted publickey") - sessions == 4
    assert list((sshd.home / ".atelier-remote" / "automl").iterdir()) == []
