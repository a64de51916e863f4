"""Printing results: rich tables for people, ``--output json`` for scripts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, TextIO, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

#: width of tables written to a pipe or file, where no terminal says how wide to be
PIPE_WIDTH = 220


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table for people, json for scripts (on stdout)."),
]


def stdout_console() -> Console:
    """A console on stdout; wide when piped so ids and times are never cut."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=PIPE_WIDTH if piped else None, highlight=False)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (anything unknown as its ``str``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def text(value: Any) -> str:
    """A cell: empty for None, ``k=v`` pairs for a dict, compact numbers."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={text(v)}" for k, v in value.items())
    return str(value)


def short_time(iso: str | None) -> str:
    """``2024-05-01T10:11:12.345+00:00`` -> ``2024-05-01 10:11:12`` (UTC)."""
    return "" if iso is None else iso[:19].replace("T", " ")


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    no_wrap: Sequence[str] = (),
) -> None:
    """A table with one header per column; ``no_wrap`` columns (ids) are never folded."""
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column in no_wrap, overflow="fold")
    for row in rows:
        table.add_row(*(escape(text(cell)) for cell in row))
    stdout_console().print(table)


def print_fields(title: str, fields: Mapping[str, Any]) -> None:
    """One ``field | value`` row per entry, for ``show`` commands."""
    print_table(title, ("field", "value"), fields.items(), no_wrap=("field",))


class Passthrough:
    """Writes through to a stream, remembering whether anything was written and whether
    the text ended a line (so a status line after a script's output starts on its own)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.written = False
        self.at_line_start = True

    def write(self, chunk: str) -> int:
        if chunk:
            self.written = True
            self.at_line_start = chunk.endswith("\n")
        return self.stream.write(chunk)

    def flush(self) -> None:
        self.stream.flush()

    def end_line(self) -> None:
        """Finish a partly written line."""
        if not self.at_line_start:
            self.write("\n")
            self.flush()

    def as_text_io(self) -> TextIO:
        """This writer where a ``TextIO`` is expected (only ``write`` and ``flush`` are used)."""
        return cast("TextIO", self)
