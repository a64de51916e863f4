"""``atelier secret``: values go in through stdin or a hidden prompt, never argv, and come
out only with ``show --reveal``."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atelier.storage.secretbox import KEY_FILE_NAME
from tests.cli._cli import Atelier, Result, assert_one_line_error

pytestmark = pytest.mark.slow  # each step starts the CLI

Piped = Callable[..., Result]


@pytest.fixture
def piped(cli_home: Path, tmp_path: Path) -> Piped:
    """``piped(stdin_text, *args)`` runs the CLI with ``stdin_text`` on a pipe."""

    def run(stdin: str, *args: str) -> Result:
        completed = subprocess.run(
            [sys.executable, "-m", "atelier.cli.main", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=dict(os.environ),
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

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

    assert atelier("secret", "delete", "api-token", "-w", "lab").code == 0
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
    assert_one_line_error(atelier("secret", "delete", "nope", "-w", "lab"), 3, "not found")
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


def _on_a_terminal(args: list[str], answers: list[str], cwd: Path) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its controlling terminal, typing ``answers``
    at each prompt; return the exit code and everything the terminal showed."""
    leader, follower = pty.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "atelier.cli.main", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        preexec_fn=take_terminal,  # noqa: PLW1509 - the child must own the terminal
        close_fds=True,
    )
    os.close(follower)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
        # answer only once the prompt is out and echo is off, as a person would type
        echo_off = not termios.tcgetattr(leader)[3] & termios.ECHO
        if pending and shown.rstrip().endswith(b":") and echo_off:
            os.write(leader, pending.pop(0).encode() + b"\n")
            shown += b"\n"
    if process.poll() is None:
        process.kill()  # stuck at a prompt: fail below instead of hanging
    code = process.wait(timeout=30)
    os.close(leader)
    return code, shown.decode(errors="replace")


def test_set_prompts_with_hidden_input_on_a_terminal(
    atelier: Atelier, cli_home: Path, tmp_path: Path
) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    value = "typed-and-hidden-42"
    code, shown = _on_a_terminal(["secret", "set", "typed", "-w", "lab"], [value, value], tmp_path)
    assert code == 0, shown
    assert "Value of typed" in shown and "Secret 'typed' set" in shown
    assert value not in shown  # nothing typed was echoed
    assert atelier("secret", "show", "typed", "-w", "lab", "--reveal").stdout == value + "\n"
