"""One scoring process: load the entry script, ``init()`` once, then ``run(mini_batch)``
for each task it is sent, answering with the results already written as output text.

A task names its mini-batch cheaply: a list of file paths, or a range of rows of an Arrow
file the driver wrote once; every worker maps that file into memory, so rows cross no pipe
and are never pickled. Results come back as one ``bytes`` (the mini-batch's lines of
``append_row`` output) or just their count (``summary_only``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from atelier.sdk.parallel_run._entry import load_entry_script

#: ``mini_batch`` task kinds
FILES = "files"
ROWS = "rows"
#: set in each worker: the folder ``summary_only`` scripts write their own output to
OUTPUT_VARIABLE = "ATELIER_PARALLEL_RUN_OUTPUT"


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs before its first task."""

    entry_script: str
    source_directory: str
    #: the Arrow file of each tabular input (None for file inputs), by input index
    arrow_files: tuple[str | None, ...]
    append_row: bool
    output_dir: str
    arguments: tuple[str, ...]


class BatchError(Exception):
    """``run()`` raised or returned something that is not one result per item."""


def _load(setup: WorkerSetup) -> ModuleType:
    os.environ[OUTPUT_VARIABLE] = setup.output_dir
    # the entry script parses its own arguments, as under azureml
    sys.argv = [setup.entry_script, *setup.arguments]
    folder = Path(setup.source_directory)
    return load_entry_script(folder / setup.entry_script, folder)


@contextlib.contextmanager
def preloaded(setup: WorkerSetup) -> Iterator[None]:
    """Import the entry script in the driver while its workers are forked from it, so its
    imports (a model library ...) are done once instead of once per worker."""
    argv, output = list(sys.argv), os.environ.get(OUTPUT_VARIABLE)
    module = _load(setup)
    sys.argv = argv
    try:
        yield
    finally:
        sys.modules.pop(module.__name__, None)
        if output is None:
            os.environ.pop(OUTPUT_VARIABLE, None)
        else:
            os.environ[OUTPUT_VARIABLE] = output


class Scorer:
    """The entry script loaded in this process, and the inputs' mapped tables."""

    def __init__(self, setup: WorkerSetup) -> None:
        self.setup = setup
        self.module: ModuleType = _load(setup)
        self._tables: dict[int, Any] = {}

    def init(self) -> None:
        self.module.init()

    def mini_batch(self, task: tuple[Any, ...]) -> Any:
        if task[0] == FILES:
            return list(task[1])
        _, index, offset, length = task
        table = self._tables.get(index)
        if table is None:
            import pyarrow as pa

            path = self.setup.arrow_files[index]
            table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
            self._tables[index] = table
        return table.slice(offset, length).to_pandas()

    def score(self, task: tuple[Any, ...]) -> tuple[int, bytes]:
        """``(results, output bytes)`` for one mini-batch; raises :class:`BatchError`."""
        mini_batch = self.mini_batch(task)
        try:
            result = self.module.run(mini_batch)
        except Exception as exc:
            raise BatchError(_describe(exc)) from exc
        return encode(result, self.setup.append_row)


def encode(result: Any, append_row: bool) -> tuple[int, bytes]:
    """The number of results and, for ``append_row``, their lines: one per list item, or
    one per DataFrame row with values separated by spaces."""
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        if not append_row:
            return len(result), b""
        text = result.to_csv(sep=" ", header=False, index=False)
        return len(result), text.encode("utf-8")
    if hasattr(result, "tolist"):  # numpy arrays and pandas Series: Python scalars format faster
        result = result.tolist()
    if not isinstance(result, list | tuple):
        raise BatchError(
            f"run() returned {type(result).__name__}; return a list (one item per input "
            "file or row) or a pandas DataFrame"
        )
    if not append_row or not result:
        return len(result), b""
    return len(result), ("\n".join(map(str, result)) + "\n").encode("utf-8")


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # the frames of this module say nothing to the script's author
    return "".join(line for line in lines if __file__ not in line).rstrip()


def serve(connection: Any, setup: WorkerSetup) -> None:
    """A local worker's loop over a pipe: ``("ready",)`` or ``("init_failed", text)``,
    then for each ``(batch id, task)`` ``("done", id, count, bytes)`` or
    ``("failed", id, text)``; ``None`` ends it."""
    _forget_parent_run()
    try:
        scorer = Scorer(setup)
        scorer.init()
    except BaseException as exc:
        connection.send(("init_failed", _describe(exc)))
        return
    connection.send(("ready",))
    while True:
        message = connection.recv()
        if message is None:
            break
        batch_id, task = message
        try:
            count, data = scorer.score(task)
        except BatchError as exc:
            connection.send(("failed", batch_id, str(exc)))
            continue
        except Exception as exc:
            connection.send(("failed", batch_id, _describe(exc)))
            continue
        connection.send(("done", batch_id, count, data))
    _flush_metrics()


def _forget_parent_run() -> None:
    """A forked worker must not reuse the driver's run object (its writer thread stayed
    behind in the driver): ``Run.get_context()`` in the script makes a new one."""
    from atelier.sdk.tracking import run as run_module

    run_module._context_run = None


def _flush_metrics() -> None:
    from atelier.sdk.tracking._writer import flush_all

    flush_all()
