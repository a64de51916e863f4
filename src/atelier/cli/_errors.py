"""The one place where an ``AtelierError`` becomes what a shell sees.

Every command may raise any ``AtelierError``; the root group catches it, writes
``error: <message>`` as one line on stderr and exits with the error's ``exit_code``
(2 bad input, 3 not found, 4 conflict, 5 permission, 6 store or storage). Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from atelier.core.errors import AtelierError


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
        try:
            return super().invoke(ctx)
        except AtelierError as exc:
            raise typer.Exit(report(exc)) from None
