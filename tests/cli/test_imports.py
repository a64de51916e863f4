"""The CLI starts without the heavy parts: they load only when a command needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "alembic", "fastapi", "ray")


def _imported_modules(*python_args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run Python with ``-X importtime`` and return the top-level packages it imported."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    names = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in completed.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return completed, names


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from atelier.cli.main import app, main\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], ["workspace", "experiment", "run", "environment", "compute"]),
        (["run", "submit", "--help"], ["--source-dir", "--no-follow", "--runconfig"]),
        (["environment", "--help"], ["register", "build"]),
        (["compute", "--help"], ["create", "attach", "update"]),
        (["workspace", "--help"], ["create", "list", "show", "delete"]),
        (["run", "list", "--help"], ["--experiment", "--order-by", "--include-children"]),
    ],
)
def test_help_loads_no_heavy_module(cli_home: Path, args: list[str], expected: list[str]) -> None:
    completed, imported = _imported_modules("-m", "atelier.cli.main", *args)
    assert completed.returncode == 0, completed.stderr
    assert "typer" in imported  # the probe sees imports at all
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
    for word in expected:
        assert word in completed.stdout


def test_a_command_does_load_the_store(cli_home: Path) -> None:
    """The guard above is not vacuous: running a real command imports SQLAlchemy."""
    completed, imported = _imported_modules(
        "-m", "atelier.cli.main", "workspace", "show", "no-such-workspace"
    )
    assert completed.returncode == 3
    assert "sqlalchemy" in imported
    assert (cli_home / "atelier.db").is_file()
