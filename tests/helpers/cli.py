"""What a shell sees of ``atelier``: exit code, stdout, stderr, and checks on them.

Two ways to run the CLI, with one result type:

- ``invoke`` runs the Typer app in this process (``typer.testing.CliRunner``): the same
  parsing, error mapping and output as the ``atelier`` script, without paying an
  interpreter start and the imports for every call. Most CLI tests use it (the ``atelier``
  fixture of tests/cli).
- ``run_process`` starts ``python -m atelier.cli.main`` for real, for the journeys in
  tests/e2e that need what only a process has: a pipe or terminal on stdin, signals,
  an exit code set by the interpreter, a server that outlives the call.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from atelier.client.registry import reset_backends
from tests.helpers.databases import AGENT_IDLE_SECONDS, seed_home
from tests.helpers.leftover_runs import closed_at_end


@dataclass(frozen=True)
class Result:
    """What a shell sees of one ``atelier`` invocation."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return self.stderr.splitlines()


Atelier = Callable[..., Result]


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """The shell got exit ``code`` and exactly ``error: ...`` on stderr, without a traceback."""
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@functools.cache
def _command() -> Any:
    """The click command Typer builds from the app: built once, as the script does once."""
    import typer.main

    from atelier.cli.main import app

    return typer.main.get_command(app)


def _exit_code(code: object) -> int:
    """The status a process exiting with ``SystemExit(code)`` reports."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def invoke(
    args: tuple[str, ...] | list[str],
    *,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
) -> Result:
    """Run ``atelier *args`` in this process, in folder ``cwd``, with ``env`` added to the
    environment (``None`` removes a variable) and ``stdin`` as a pipe on standard input.

    Each call starts from no cached backend and leaves none behind, as a new process would:
    the SDK in the test and the next command open the database afresh. An exception the CLI
    does not map to an exit code comes back as exit 1 with its traceback on stderr, as the
    interpreter would print it.
    """
    from typer.testing import CliRunner

    command = _command()
    reset_backends()
    try:
        with (
            contextlib.chdir(cwd),
            CliRunner().isolation(input=stdin, env=env) as (stdout, stderr, _),
        ):
            try:
                command.main(args=list(args), prog_name="atelier")
            except SystemExit as exit_:
                code = _exit_code(exit_.code)
            except Exception:
                code = 1
                sys.stderr.write(traceback.format_exc())
            else:
                code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            written = (stdout.getvalue(), stderr.getvalue())
    finally:
        reset_backends()
    return Result(code, written[0].decode(), written[1].decode(errors="replace"))


def run_process(
    args: tuple[str, ...] | list[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> Result:
    """Run ``python -m atelier.cli.main *args`` in a new process, as a shell would."""
    completed = subprocess.run(
        [sys.executable, "-m", "atelier.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def _runner(how: Callable[..., Result], work: Path) -> Atelier:
    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        return how(args, cwd=cwd or work, env=env)

    return run


def use_home(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Point this process (and the CLI processes it starts) at ``folder`` as
    ``ATELIER_HOME``, with no workspace, database, blob store or run from outside."""
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
    monkeypatch.setenv("ATELIER_AGENT_IDLE_SECONDS", AGENT_IDLE_SECONDS)
    reset_backends()


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty ``ATELIER_HOME`` shared by this process's SDK and the CLI."""
    folder = tmp_path / "atelier-home"
    use_home(monkeypatch, folder)
    with closed_at_end():
        yield folder
    reset_backends()


@pytest.fixture
def cli_cwd(tmp_path: Path) -> Path:
    """A fresh folder with no workspace config, where commands run unless told otherwise."""
    work = tmp_path / "cwd"
    work.mkdir()
    return work


@pytest.fixture
def atelier(cli_home: Path, cli_cwd: Path, sqlite_template: Path) -> Atelier:
    """``atelier(*args, cwd=..., env=...)`` runs the CLI in this process and returns its
    exit code and output; by default in a fresh folder with no workspace config. The home
    starts with a migrated database (``tests.helpers.databases``)."""
    seed_home(cli_home, sqlite_template)
    return _runner(invoke, cli_cwd)


@pytest.fixture
def atelier_process(cli_home: Path, cli_cwd: Path) -> Atelier:
    """Like ``atelier``, but each call is a real ``python -m atelier.cli.main`` process."""
    return _runner(run_process, cli_cwd)
