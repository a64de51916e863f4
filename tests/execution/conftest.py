"""Fixtures of the execution tests: one local Ray head for the whole test session, and a
real sshd on a loopback port (per module) whose sessions have this test session's Python."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _missing
from tests.execution.sshd import SshdUnavailableError, SshServer, running_sshd


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A Ray head on 127.0.0.1 started as ``provision`` starts one, but without an
    autoscaler (a cluster started by hand with ``ray start --head``: the tests give its
    address), and stopped after the session through its own processes: ``ray stop`` would
    stop every Ray cluster on the machine."""
    try:
        import ray.job_submission  # noqa: F401

        from atelier.execution.ray_provision import _marked, start_local_head, stop_local_head
    except ImportError as exc:
        _missing("Ray", f"{exc} (pip install 'atelier-ml[ray]')")
    state_dir = tmp_path_factory.mktemp("ray-home") / "session-head"
    config = {**start_local_head(state_dir), "started_head": True, "max_concurrent_runs": 2}
    yield config
    stop_local_head(config)
    assert _marked(config["head_token"]) == [], "processes of the session's Ray head remain"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    try:
        with running_sshd(tmp_path_factory.mktemp("sshd"), path) as server:
            yield server
    except SshdUnavailableError as exc:
        _missing("OpenSSH server", str(exc))
