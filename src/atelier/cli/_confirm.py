"""One confirmation rule for every delete: nothing is asked on stdin, ``--yes`` confirms."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.core.errors import ValidationError

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Confirm the deletion (required).")]


def require_yes(yes: bool, what: str, command: str) -> None:
    """Refuse (exit 2) unless ``--yes`` was given, saying what would go and how to confirm."""
    if not yes:
        raise ValidationError(f"{what}; pass --yes to confirm: {command} --yes")
