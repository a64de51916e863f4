"""Help text without hard wraps: docstrings are wrapped at 88-100 columns in the source,
but a terminal is narrower or wider; every paragraph becomes one line that the help
renderer wraps to the terminal's width.

Paragraphs are separated by a blank line. A paragraph whose lines are a list (``- ``,
``* ``), indented (an example), or marked with Click's ``\\b`` keeps its line breaks.
"""

from __future__ import annotations

import re
from typing import Any

_KEEP = re.compile(r"^(\s|[-*] |\x08)")
_SPACES = re.compile(r"[ \t]{2,}")


def unwrap(text: str) -> str:
    """``text`` with each ordinary paragraph on one line and no doubled spaces."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = paragraph.splitlines()
        if any(_KEEP.match(line) for line in lines[1:]) or (lines and lines[0] == "\b"):
            paragraphs.append(paragraph)
            continue
        paragraphs.append(_SPACES.sub(" ", " ".join(line.strip() for line in lines)))
    return "\n\n".join(paragraphs)


def unwrap_tree(command: Any) -> None:
    """Unwrap the help of ``command``, its options and arguments, and every sub-command."""
    for attribute in ("help", "short_help"):
        value = getattr(command, attribute, None)
        if isinstance(value, str):
            setattr(command, attribute, unwrap(value))
    for parameter in getattr(command, "params", ()):
        value = getattr(parameter, "help", None)
        if isinstance(value, str):
            parameter.help = unwrap(value)
    for child in (getattr(command, "commands", None) or {}).values():
        unwrap_tree(child)
