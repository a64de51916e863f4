"""The CLI starts without the heavy parts: they load only when a command needs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


HELP = [
    (["--help"], ["workspace", "experiment", "run", "environment", "compute"]),
    (["run", "submit", "--help"], ["--source-dir", "--no-follow", "--runconfig"]),
    (["environment", "--help"], ["register", "build"]),
    (["compute", "--help"], ["create", "attach", "update"]),
    (["workspace", "--help"], ["create", "list", "show", "delete"]),
    (["run", "list", "--help"], ["--experiment", "--order-by", "--include-children"]),
]

#: in one interpreter: import the CLI, then print each help in turn (as the script does,
#: exiting through SystemExit), and report the heavy modules loaded after each step
PROBE = """
import contextlib, io, json, sys
from atelier.cli.main import app, main
heavy = lambda: [m for m in {heavy!r} if m in sys.modules]
steps = [{{"args": None, "heavy": heavy(), "code": 0, "out": ""}}]
for args in {helps!r}:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            app(args, prog_name="atelier")
        except SystemExit as exit_:
            code = exit_.code
    steps.append({{"args": args, "heavy": heavy(), "code": code, "out": out.getvalue()}})
print(json.dumps(steps))
"""


def test_importing_the_cli_and_its_help_load_no_heavy_module(cli_home: Path) -> None:
    code = PROBE.format(heavy=HEAVY, helps=[args for args, _ in HELP])
    completed, imported = _imported_modules("-c", code)
    assert completed.returncode == 0, completed.stderr
    assert "typer" in imported  # the probe sees imports at all
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
    steps = json.loads(completed.stdout)
    assert [step["args"] for step in steps] == [None, *(args for args, _ in HELP)]
    for step, (_, expected) in zip(steps[1:], HELP, strict=True):
        assert (step["code"], step["heavy"]) == (0, []), step
        for word in expected:
            assert word in step["out"], (step["args"], word)


def test_a_command_does_load_the_store(cli_home: Path) -> None:
    """The guard above is not vacuous: running a real command imports SQLAlchemy."""
    completed, imported = _imported_modules(
        "-m", "atelier.cli.main", "workspace", "show", "no-such-workspace"
    )
    assert completed.returncode == 3
    assert "sqlalchemy" in imported
    assert (cli_home / "atelier.db").is_file()
