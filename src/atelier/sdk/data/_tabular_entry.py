"""Writing a columnar cache entry's files (see :mod:`atelier.sdk.data._tabular_cache` for
the layout), from a whole table or piece by piece while a large CSV is still being parsed.

:class:`PieceWriter` takes each parsed piece of a first read and appends its columns to the
entry's files on a background thread while the reader parses the next piece, so that the
first read does not pay for writing the entry after parsing. A numeric column is appended
as its bare values as long as its pieces have no nulls; a column that turns out to have
some is written again from the whole table at the end, as any other column would be.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import pyarrow as pa

#: bump when the layout of an entry changes: older entries then simply stop matching
LAYOUT = 2
META = "meta.json"
SCHEMA = "schema.arrow"
#: a column file: Arrow IPC, or (numbers without nulls) the bare values
IPC = ".arrow"
RAW = ".values"


def is_number(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def write_values(sink: BinaryIO, column: pa.ChunkedArray) -> None:
    """A column of numbers without nulls as its bare values, chunk after chunk (written
    from the chunks' own buffers, no copy in memory): in the file they lie in one run, so
    a read can hand them to pandas as they are mapped."""
    width = column.type.bit_width // 8
    for chunk in column.chunks:
        values = chunk.buffers()[1]
        if values is not None and len(chunk):
            start = chunk.offset * width
            sink.write(memoryview(values)[start : start + len(chunk) * width])


def write_column(path: Path, table: pa.Table, index: int) -> int:
    """One column as an uncompressed IPC file, one record batch per chunk (no copy)."""
    import pyarrow as pa

    schema = pa.schema([table.schema.field(index)])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for chunk in table.column(index).chunks:
            writer.write_batch(pa.record_batch([chunk], schema=schema))
    return path.stat().st_size


def write_meta(folder: Path, table: pa.Table, raw: list[int]) -> None:
    """The schema, then the meta file (written last: an entry without it is never read)."""
    (folder / SCHEMA).write_bytes(table.schema.serialize().to_pybytes())
    sizes = [
        (folder / f"{i}{RAW if i in raw else IPC}").stat().st_size for i in range(table.num_columns)
    ]
    meta = {"layout": LAYOUT, "rows": table.num_rows, "sizes": sizes, "raw": raw}
    meta["created"] = time.time()
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


class PieceWriter:
    """An entry written piece by piece behind a reader (``add`` each piece as parsed, then
    ``finish`` with the whole table); the writing happens on a background thread."""

    def __init__(self, root: Path, expected_bytes: int) -> None:
        self.folder = root / f".tmp-{uuid.uuid4().hex}"
        self._expected = expected_bytes
        self._queue: queue.Queue[pa.Table | None] = queue.Queue()
        self._schema: pa.Schema | None = None
        self._rows = 0
        self._raw: dict[int, BinaryIO] = {}
        self._spoiled: set[int] = set()  # numeric columns with nulls: written at the end
        self._ipc: dict[int, tuple[Any, Any]] = {}
        self.failed = False
        self._thread = threading.Thread(
            target=self._work, name="atelier-dataset-pieces", daemon=True
        )
        self._thread.start()

    def add(self, piece: pa.Table) -> pa.Table:
        self._queue.put(piece)
        return piece

    def _work(self) -> None:
        import pyarrow as pa

        while (piece := self._queue.get()) is not None:
            if self.failed:
                continue
            try:
                self._write(piece)
            except (OSError, ValueError, pa.ArrowException):
                self.failed = True
        self._close()

    def _write(self, piece: pa.Table) -> None:
        import pyarrow as pa

        if self._schema is None:
            self.folder.mkdir(parents=True)
            if shutil.disk_usage(self.folder).free < 2 * self._expected:
                raise OSError("not enough free disk space for the dataset cache")
            self._schema = piece.schema
            for index, field in enumerate(piece.schema):
                path = self.folder / f"{index}{RAW if is_number(field.type) else IPC}"
                if is_number(field.type):
                    self._raw[index] = path.open("wb")
                else:
                    sink = pa.OSFile(str(path), "wb")
                    schema = pa.schema([field])
                    self._ipc[index] = (sink, pa.ipc.new_file(sink, schema))
        elif piece.schema != self._schema:
            raise ValueError("a piece with other columns")
        self._rows += piece.num_rows
        for index, column in enumerate(piece.columns):
            if index in self._spoiled:
                continue
            if index in self._raw:
                if column.null_count:
                    self._spoiled.add(index)
                    continue
                write_values(self._raw[index], column)
                continue
            sink, writer = self._ipc[index]
            schema = pa.schema([self._schema.field(index)])
            for chunk in column.chunks:
                writer.write_batch(pa.record_batch([chunk], schema=schema))

    def _close(self) -> None:
        for handle in self._raw.values():
            with contextlib.suppress(OSError):
                handle.close()
        for sink, writer in self._ipc.values():
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(Exception):
                sink.close()

    def finish(self, table: pa.Table) -> Path | None:
        """Wait for the pieces, then complete the entry for ``table`` (the pieces put
        together): its folder, ready to be renamed into place, or None (and nothing left
        behind) when the pieces were not all of ``table`` or a write failed."""
        import pyarrow as pa

        self._queue.put(None)
        self._thread.join()
        complete = (
            not self.failed
            and self._schema is not None
            and self._schema == table.schema
            and self._rows == table.num_rows
        )
        if not complete:
            self.abandon()
            return None
        try:
            for index in sorted(self._spoiled):
                (self.folder / f"{index}{RAW}").unlink()
                write_column(self.folder / f"{index}{IPC}", table, index)
            write_meta(self.folder, table, sorted(set(self._raw) - self._spoiled))
        except (OSError, ValueError, pa.ArrowException):
            self.abandon()
            return None
        return self.folder

    def abandon(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        shutil.rmtree(self.folder, ignore_errors=True)
