"""Fixtures of the execution tests: one local Ray head for the tests that use it, and a
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


class _SessionHead:
    """The test process's Ray head: started by the first test that asks for it, kept while
    the tests that follow are in files that use it too, and stopped once the next test is
    in a file that does not (``pytest_runtest_teardown`` below), so an idle head does not
    spend the CPU of the rest of the session. ``make test`` hands every file that uses it
    to one worker, one after another (tests/conftest.py, ``RAY_FILES``), so a session
    starts one head at most."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.starts = 0

    def get(self, state_root: Path) -> dict[str, Any]:
        if self.config is None:
            try:
                import ray.job_submission  # noqa: F401

                from atelier.execution.ray_provision import start_local_head
            except ImportError as exc:
                _missing("Ray", f"{exc} (pip install 'atelier-ml[ray]')")
            self.starts += 1
            state_dir = state_root / f"session-head-{self.starts}"
            head = start_local_head(state_dir)
            self.config = {**head, "started_head": True, "max_concurrent_runs": 2}
        return self.config

    def stop(self) -> None:
        """Stop the head through its own processes (``ray stop`` would stop every Ray
        cluster on the machine), and check none is left."""
        if self.config is None:
            return
        from atelier.execution.ray_provision import _marked, stop_local_head

        config, self.config = self.config, None
        stop_local_head(config)
        assert _marked(config["head_token"]) == [], "processes of the session's Ray head remain"


_HEAD = _SessionHead()


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Ray head on 127.0.0.1 started as ``provision`` starts one, but without an
    autoscaler (a cluster started by hand with ``ray start --head``: the tests give its
    address); shared by consecutive tests and modules that use it (``_SessionHead``)."""
    return _HEAD.get(tmp_path_factory.getbasetemp() / "ray-home")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Once a test's fixtures are torn down (a module's Ray nodes leave with its last
    test), stop the head if the next test of this process is in a file that does not use
    it (within a file it stays: its module-scoped fixtures may hold on to it)."""
    yield
    if _HEAD.config is not None and (nextitem is None or not _uses_head(nextitem)):
        _HEAD.stop()


def _uses_head(item: pytest.Item) -> bool:
    """Whether any test of ``item``'s file uses the Ray head."""
    files: set[Path] | None = item.session.stash.get(_HEAD_FILES, None)
    if files is None:
        tests = item.session.items
        files = {test.path for test in tests if "ray_head" in getattr(test, "fixturenames", ())}
        item.session.stash[_HEAD_FILES] = files
    return item.path in files


_HEAD_FILES = pytest.StashKey[set[Path]]()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    try:
        with running_sshd(tmp_path_factory.mktemp("sshd"), path) as server:
            yield server
    except SshdUnavailableError as exc:
        _missing("OpenSSH server", str(exc))
