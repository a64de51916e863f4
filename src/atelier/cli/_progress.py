"""A progress line (phase and elapsed time) on stderr while work takes time.

Shown only on a terminal and when stdout is for people (``-o table``): under ``-o json``,
csv, tsv or in a pipe the command stays quiet and its output is only the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from atelier.cli._output import quiet_output

Phase = Callable[[str], None]


def progress_shown() -> bool:
    """True when a progress line would show: stderr is a terminal and stdout is for people."""
    return not quiet_output() and Console(stderr=True).is_terminal


@contextlib.contextmanager
def progress(description: str, done: str = "done") -> Iterator[Phase]:
    """``with progress("creating endpoint x") as phase: ...; phase("waiting for replicas")``;
    ``done`` is the word the line ends with once the work is over."""
    console = Console(stderr=True)
    if not progress_shown():
        yield lambda _phase: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def phase(text: str) -> None:
            bar.update(task, description=f"{description}: {text}")

        yield phase
    console.print(f"{description}: {done}", highlight=False)
