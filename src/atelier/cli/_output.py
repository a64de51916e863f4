"""Printing results: rich tables for people, ``--output json|csv|tsv`` for scripts.

Every command that prints a table takes ``-o``; its callback remembers the choice, so
:func:`print_table` and :func:`print_fields` write CSV or TSV instead of a table for every
command at once, and a command only handles ``json`` itself (it prints its full data).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
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
    CSV = "csv"
    TSV = "tsv"


_chosen: ContextVar[OutputFormat] = ContextVar("atelier_output", default=OutputFormat.TABLE)


def choose_output(value: OutputFormat | None) -> OutputFormat:
    """Remember the command's ``-o`` (called by click for every command that has it)."""
    chosen = value or OutputFormat.TABLE
    _chosen.set(chosen)
    return chosen


def chosen_output() -> OutputFormat:
    return _chosen.get()


def quiet_output() -> bool:
    """True when stdout is for a program (json, csv, tsv): no progress lines then."""
    return _chosen.get() is not OutputFormat.TABLE


OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        callback=choose_output,
        help="table for people; json, csv or tsv for scripts (on stdout).",
    ),
]


def stdout_console() -> Console:
    """A console on stdout; wide when piped so ids and times are never cut."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=PIPE_WIDTH if piped else None, highlight=False)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (anything unknown as its ``str``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def text(value: Any) -> str:
    """A cell: empty for None, ``k=v`` pairs for a dict, items joined for a list, compact
    numbers, yes/no for a bool: never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text(v) for v in value)
    return str(value)


def ms_time(value: Any) -> str:
    """Epoch milliseconds -> ``2024-05-01 10:11:12`` (UTC); anything else as :func:`text`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return text(value)


def _is_ms_column(name: str) -> bool:
    return name.endswith(("_ms", "Ms"))


def _header(name: str) -> str:
    """A column of epoch milliseconds is shown as a time, under its name without ``_ms``."""
    if name.endswith("_ms"):
        return name[: -len("_ms")]
    if name.endswith("Ms"):
        return name[: -len("Ms")]
    return name


def write_delimited(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV or TSV (as ``-o`` says) on stdout: a header line, then one line per row."""
    delimiter = "\t" if _chosen.get() is OutputFormat.TSV else ","
    writer = csv.writer(sys.stdout, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ms_time(cell) if _is_ms_column(column) else text(cell)
            for column, cell in zip(columns, row, strict=False)
        )


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
    """A table with one header per column; ``no_wrap`` columns (ids) are never folded.

    Under ``-o csv`` or ``-o tsv`` the same columns and rows are written delimited. A column
    whose name ends in ``_ms`` (epoch milliseconds) shows times.
    """
    if _chosen.get() in (OutputFormat.CSV, OutputFormat.TSV):
        write_delimited(columns, rows)
        return
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for column in columns:
        table.add_column(_header(column), no_wrap=column in no_wrap, overflow="fold")
    ms_columns = [_is_ms_column(column) for column in columns]
    for row in rows:
        table.add_row(
            *(
                escape(ms_time(cell) if is_ms else text(cell))
                for cell, is_ms in zip(row, ms_columns, strict=False)
            )
        )
    stdout_console().print(table)


def print_fields(title: str, fields: Mapping[str, Any]) -> None:
    """One ``field | value`` row per entry, for ``show`` commands (times for ``*_ms``)."""
    rows = [
        (_header(key), ms_time(value) if _is_ms_column(key) else value)
        for key, value in fields.items()
    ]
    print_table(title, ("field", "value"), rows, no_wrap=("field",))


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
