"""Running the real ``atelier`` command in a subprocess against a throw-away home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.client.registry import reset_backends
from tests.cli._cli import Atelier, Result


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty ``ATELIER_HOME`` shared by this process's SDK and the CLI subprocesses."""
    folder = tmp_path / "atelier-home"
    monkeypatch.setenv("ATELIER_HOME", str(folder))
    for name in (
        "ATELIER_WORKSPACE",
        "ATELIER_DATABASE_URL",
        "ATELIER_BLOB_URL",
        "ATELIER_RUN_ID",
        "ATELIER_TRACKING_URI",
        "COLUMNS",
    ):
        monkeypatch.delenv(name, raising=False)
    # each test has its own home and so its own supervisor agent: let it go soon after
    monkeypatch.setenv("ATELIER_AGENT_IDLE_SECONDS", "10")
    reset_backends()
    yield folder
    reset_backends()


@pytest.fixture
def atelier(cli_home: Path, tmp_path: Path) -> Atelier:
    """``atelier(*args, cwd=..., env=...)`` runs ``python -m atelier.cli.main`` and returns
    its exit code and output; by default in a fresh folder with no workspace config."""
    work = tmp_path / "cwd"
    work.mkdir()

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        completed = subprocess.run(
            [sys.executable, "-m", "atelier.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd or work,
            env={**os.environ, **(env or {})},
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    return run
