"""The one place where an ``AtelierError`` becomes what a shell sees.

Every command may raise any ``AtelierError``; the root group catches it, writes
``error: <message>`` as one line on stderr and exits with the error's ``exit_code``,
whose meaning :data:`atelier.core.errors.EXIT_CODES` gives (2 bad input, 3 not found,
4 conflict, 5 access refused, 6 store or storage, 7 a run failed, 8 an image build failed,
9 a web service failed, 1 anything else). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

import typer
from typer.core import TyperGroup

from atelier.cli._help import unwrap_tree
from atelier.cli._output import choose_output
from atelier.core.errors import EXIT_CODES, AtelierError


def exit_codes_help() -> str:
    """The exit codes and what each means, for ``atelier --help``."""
    listed = [f"{code} ({meaning})" for code, (meaning, _) in EXIT_CODES.items() if code != 1]
    return (
        "Errors print one line, 'error: <message>', on stderr and exit with "
        + ", ".join(listed)
        + f" or 1 ({EXIT_CODES[1][0]})."
    )


def one_line(message: str) -> str:
    """The message with its lines joined, so a shell or CI log shows it on one line."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


#: SDK advice in a message -> (the CLI flag that does the same, the CLI's words for it)
_SDK_FLAGS = (
    (re.compile(r"exist_ok=True(?: \(--exist-ok\))?"), "--exist-ok"),
    (re.compile(r"overwrite=True"), "--overwrite"),
    (re.compile(r"create_new_version=True"), "--new-version"),
)
_WORKSPACE_GET = re.compile(r"Workspace\.get\('([^']+)'\)")


def cli_advice(message: str, flags: Iterable[str] = ()) -> str:
    """The SDK's advice in a message as the CLI's: ``exist_ok=True`` -> ``--exist-ok`` (when
    the command has that flag), ``Workspace.get('x')`` -> ``'atelier workspace show x'``."""
    known = set(flags)
    for pattern, flag in _SDK_FLAGS:
        if flag in known:
            message = pattern.sub(flag, message)
    return _WORKSPACE_GET.sub(r"'atelier workspace show \1'", message)


_TRACEBACK = "Traceback (most recent call last):"
#: how many frames of a script's traceback an error shows (the innermost ones)
TRACEBACK_FRAMES = 3


def traceback_lines(message: str) -> tuple[str, list[str]]:
    """A message that carries a script's traceback (``init()`` of an entry script failed)
    as its summary and the traceback's last frames and exception, one per line."""
    head, found, rest = message.partition(_TRACEBACK)
    if not found:
        return message, []
    lines = [line for line in rest.splitlines() if line.strip()]
    frames: list[list[str]] = []
    tail: list[str] = []
    for line in lines:
        if line.startswith("  File "):
            frames.append([line.rstrip()])
            tail = []
        elif line.startswith("    ") and frames and not tail:
            frames[-1].append(line.rstrip())
        elif not line.startswith(" "):
            tail.append(line.rstrip())  # the exception (and log lines after it)
    exception = next((line for line in tail if ":" in line or "Error" in line), "")
    shown = [line for frame in frames[-TRACEBACK_FRAMES:] for line in frame]
    return head.strip(), [*shown, *(["  " + exception] if exception else [])]


def report(exc: AtelierError, flags: Iterable[str] = ()) -> int:
    """Write ``error: <message>`` on stderr (a script's traceback in it as its last frames,
    one per line, under it); return the exit code the error asks for."""
    message, frames = traceback_lines(cli_advice(exc.message or str(exc), flags))
    sys.stderr.write(f"error: {one_line(message)}\n")
    for line in frames:
        sys.stderr.write(f"{line}\n")
    sys.stderr.flush()
    return exc.exit_code


def _leaf_flags(group: Any, args: list[str]) -> list[str]:
    """The option names of the command ``args`` name (``workspace create ...``)."""
    command = group
    for arg in args:
        commands = getattr(command, "commands", None)
        if not commands or arg not in commands:
            break
        command = commands[arg]
    return [name for param in getattr(command, "params", []) for name in param.opts]


class AtelierGroup(TyperGroup):
    """The root command group: runs a command and maps ``AtelierError`` to an exit code."""

    _unwrapped = False

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not self._unwrapped:  # once per process, before any help is printed
            unwrap_tree(self)
            self._unwrapped = True
        return super().main(*args, **kwargs)

    # ctx is typer's vendored click Context, which typer does not export under that type
    def invoke(self, ctx: Any) -> Any:
        choose_output(None)  # a command without -o prints tables
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]  # click empties them
        try:
            return super().invoke(ctx)
        except AtelierError as exc:
            raise typer.Exit(report(exc, _leaf_flags(self, args))) from None
