"""``atelier secret``: values go in through stdin or a hidden prompt, never argv, and come
out only with ``show --reveal``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from atelier.storage.secretbox import KEY_FILE_NAME
from tests.helpers.cli import Atelier, Result, assert_one_line_error, invoke

Piped = Callable[..., Result]


@pytest.fixture
def piped(atelier: Atelier, cli_cwd: Path) -> Piped:
    """``piped(stdin_text, *args)`` runs the CLI with ``stdin_text`` on a pipe (tests/e2e
    pipes into a real process and types at a real terminal)."""

    def run(stdin: str, *args: str) -> Result:
        return invoke(args, cwd=cli_cwd, stdin=stdin)

    return run


def test_secret_journey(atelier: Atelier, piped: Piped, cli_home: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    value = "p@ss word with spaces"
    done = piped(value + "\n", "secret", "set", "db-password", "-w", "lab")
    assert done.code == 0, done.stderr
    assert value not in done.stdout + done.stderr
    assert (
        piped("tok-123", "secret", "set", "api-token", "-w", "lab", "-o", "json").json()["name"]
        == "api-token"
    )

    listing = atelier("secret", "list", "-w", "lab", "-o", "json").json()
    assert [entry["name"] for entry in listing] == ["api-token", "db-password"]
    table = atelier("secret", "list", "-w", "lab")
    assert "db-password" in table.stdout and value not in table.stdout

    shown = atelier("secret", "show", "db-password", "-w", "lab", "-o", "json").json()
    assert shown["name"] == "db-password" and value not in repr(shown)
    revealed = atelier("secret", "show", "db-password", "-w", "lab", "--reveal")
    assert revealed.stdout == value + "\n"

    unconfirmed = atelier("secret", "delete", "api-token", "-w", "lab")
    assert_one_line_error(unconfirmed, 2, "--yes")
    assert atelier("secret", "delete", "api-token", "-w", "lab", "--yes").code == 0
    listing = atelier("secret", "list", "-w", "lab", "-o", "json").json()
    assert [entry["name"] for entry in listing] == ["db-password"]


def test_bad_input_is_one_line_with_the_right_exit_code(
    atelier: Atelier, piped: Piped, cli_home: Path
) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    # the value is never an argument: a second positional is a usage error
    assert atelier("secret", "set", "n", "the-value", "-w", "lab").code == 2
    assert_one_line_error(piped("v", "secret", "set", "bad name", "-w", "lab"), 2, "invalid")
    assert_one_line_error(piped("", "secret", "set", "empty", "-w", "lab"), 2, "empty")
    assert_one_line_error(atelier("secret", "show", "nope", "-w", "lab"), 3, "not found")
    assert_one_line_error(
        atelier("secret", "show", "nope", "-w", "lab", "--reveal"), 3, "not found"
    )
    assert_one_line_error(atelier("secret", "delete", "nope", "-w", "lab", "-y"), 3, "not found")
    assert_one_line_error(atelier("secret", "list", "-w", "ghost"), 3, "ghost")
    assert atelier("secret", "list", "-w", "lab", "-o", "json").json() == []

    assert piped("v", "secret", "set", "kept", "-w", "lab").code == 0
    (cli_home / KEY_FILE_NAME).chmod(0o644)
    assert_one_line_error(
        atelier("secret", "show", "kept", "-w", "lab", "--reveal"), 5, "chmod 600"
    )
    (cli_home / KEY_FILE_NAME).chmod(0o600)
    wrong = atelier(
        "secret", "show", "kept", "-w", "lab", "--reveal",
        env={"ATELIER_SECRET_KEY": "A" * 43 + "="},
    )  # fmt: skip
    assert_one_line_error(wrong, 5, "ATELIER_SECRET_KEY")
