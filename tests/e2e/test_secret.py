"""``atelier secret set`` as a shell runs it: the value piped into a real process, or typed
at a hidden prompt on a real terminal, and never shown."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.helpers.cli import Atelier, run_process

pytestmark = pytest.mark.slow  # each step starts the CLI


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
    since = 0  # the output after the last answer: the next prompt must appear in it
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
        # answer only once a new prompt is out and echo is off, as a person would type:
        # the last prompt, its echo still off until the CLI has read the answer, is no cue
        # (an answer typed then is discarded when the CLI turns echo back on)
        echo_off = not termios.tcgetattr(leader)[3] & termios.ECHO
        if pending and shown[since:].rstrip().endswith(b":") and echo_off:
            os.write(leader, pending.pop(0).encode() + b"\n")
            shown += b"\n"
            since = len(shown)
    if process.poll() is None:
        process.kill()  # stuck at a prompt: fail below instead of hanging
    code = process.wait(timeout=30)
    os.close(leader)
    return code, shown.decode(errors="replace")


def test_set_reads_a_pipe_or_prompts_with_hidden_input_on_a_terminal(
    atelier_process: Atelier, cli_home: Path, tmp_path: Path
) -> None:
    atelier = atelier_process
    assert atelier("workspace", "create", "lab").code == 0
    value = "p@ss word with spaces"
    piped = run_process(["secret", "set", "piped", "-w", "lab"], cwd=tmp_path, stdin=value + "\n")
    assert piped.code == 0, piped.stderr
    assert value not in piped.stdout + piped.stderr
    assert atelier("secret", "show", "piped", "-w", "lab", "--reveal").stdout == value + "\n"

    typed = "typed-and-hidden-42"
    code, shown = _on_a_terminal(["secret", "set", "typed", "-w", "lab"], [typed, typed], tmp_path)
    assert code == 0, shown
    assert "Value of typed" in shown and "Secret 'typed' set" in shown
    assert typed not in shown  # nothing typed was echoed
    assert atelier("secret", "show", "typed", "-w", "lab", "--reveal").stdout == typed + "\n"
