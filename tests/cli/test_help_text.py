"""Help text as a terminal shows it: no hard wraps from the docstrings' source width."""

from __future__ import annotations

import re
from typing import Any

import typer.main

from atelier.cli._help import unwrap
from atelier.cli.main import app
from tests.helpers.cli import Atelier


def _commands(command: Any, path: str = "atelier") -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, child in (getattr(command, "commands", None) or {}).items():
        found += _commands(child, f"{path} {name}")
    return found


def test_a_wide_terminal_gets_each_paragraph_on_one_line(atelier: Atelier) -> None:
    shown = atelier("run", "submit", "--help", env={"COLUMNS": "200"})
    assert shown.code == 0, shown.stderr
    assert "Ctrl-C stops following, not the run." in shown.stdout
    line = next(x for x in shown.stdout.splitlines() if "Ctrl-C stops following" in x)
    assert "Exits 0 if the run Completed" in line  # the docstring's two lines, joined
    listed = atelier("--help", env={"COLUMNS": "200"})
    assert re.search(r"\(ATELIER_HOME / ATELIER_DATABASE_URL\) until interrupted", listed.stdout)


def test_no_command_keeps_a_hard_wrap_or_a_doubled_space() -> None:
    command = typer.main.get_command(app)
    command.main(args=["--version"], prog_name="atelier", standalone_mode=False)
    for path, found in _commands(command):
        texts = [found.help or ""] + [getattr(p, "help", None) or "" for p in found.params]
        for text in texts:
            assert unwrap(text) == text.strip(), f"{path}: {text!r}"


def test_lists_and_examples_keep_their_lines() -> None:
    text = (
        "Do it.\n\nEither:\n- this one\n- that one\n\nFor example:\n    atelier x\n\nA\nlong  one."
    )
    assert unwrap(text) == (
        "Do it.\n\nEither:\n- this one\n- that one\n\nFor example:\n    atelier x\n\nA long one."
    )
