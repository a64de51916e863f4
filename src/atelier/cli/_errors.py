"""The one place where an ``AtelierError`` becomes what a shell sees.

Every command may raise any ``AtelierError``; the root group catches it, writes
``error: <message>`` as one line on stderr and exits with the error's ``exit_code``,
whose meaning :data:`atelier.core.errors.EXIT_CODES` gives (2 bad input, 3 not found,
4 conflict, 5 access refused, 6 store or storage, 7 a run failed, 8 an image build failed,
9 a web service failed, 1 anything else). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

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


def report(exc: AtelierError) -> int:
    """Write ``error: <message>`` on stderr; return the exit code the error asks for."""
    sys.stderr.write(f"error: {one_line(exc.message or str(exc))}\n")
    sys.stderr.flush()
    return exc.exit_code


class AtelierGroup(TyperGroup):
    """The root command group: runs a command and maps ``AtelierError`` to an exit code."""

    # ctx is typer's vendored click Context, which typer does not export under that type
    def invoke(self, ctx: Any) -> Any:
        choose_output(None)  # a command without -o prints tables
        try:
            return super().invoke(ctx)
        except AtelierError as exc:
            raise typer.Exit(report(exc)) from None
