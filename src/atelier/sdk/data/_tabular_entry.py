"""Writing a columnar cache entry's files (see :mod:`atelier.sdk.data._tabular_cache` for
the layout), from a whole table or piece by piece while a large CSV is still being parsed.

:class:`PieceWriter` takes each parsed piece of a first read and appends its columns to the
entry's files on a background thread while the reader parses the next piece, so that the
first read does not pay for writing the entry after parsing, and lets each piece go once
written (their memory is reused by the next ones). A numeric column is appended as its
bare values as long as its pieces have no nulls; when a piece brings nulls, the values so
far become the first record batch of an IPC file that takes the rest.

Bare values are what pandas makes of the column, so that a frame can take them over as
they are mapped: numbers and timestamps as themselves, dates (which pandas turns into
``datetime64[ms]``) as int64 milliseconds, i.e. ``date64``; the schema keeps the column's
own type and ``meta.json`` records, per column, the type its bare values are stored as.
"""

from __future__ import annotations

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
LAYOUT = 3
META = "meta.json"
SCHEMA = "schema.arrow"
#: a column file: Arrow IPC, or (numbers, dates, timestamps without nulls) the bare values
IPC = ".arrow"
RAW = ".values"


def stored_kind(kind: pa.DataType) -> pa.DataType | None:
    """The type a column of ``kind`` is stored as when kept as bare values (without nulls),
    or None when it is kept as Arrow IPC: a number or a timestamp as itself, a date as
    ``date64`` (milliseconds, the unit of pandas' dates)."""
    import pyarrow as pa

    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_timestamp(kind):
        return kind
    if pa.types.is_date(kind):
        return pa.date64()
    return None


def is_raw(column: pa.ChunkedArray) -> bool:
    """Whether a column is stored as its bare values."""
    return stored_kind(column.type) is not None and column.null_count == 0


def write_values(sink: BinaryIO, column: pa.ChunkedArray) -> None:
    """A column without nulls as its bare values of :func:`stored_kind`, chunk after chunk
    (written from the chunks' own buffers, no copy in memory, except dates: each chunk is
    converted to milliseconds first): in the file they lie in one run, so a read can hand
    them to pandas as they are mapped."""
    kind = stored_kind(column.type)
    assert kind is not None
    width = kind.bit_width // 8
    for chunk in column.chunks:
        stored = chunk if chunk.type == kind else chunk.cast(kind)
        values = stored.buffers()[1]
        if values is not None and len(stored):
            start = stored.offset * width
            sink.write(memoryview(values)[start : start + len(stored) * width])


def write_column(path: Path, table: pa.Table, index: int) -> int:
    """One column as an uncompressed IPC file, one record batch per chunk (no copy)."""
    import pyarrow as pa

    schema = pa.schema([table.schema.field(index)])
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for chunk in table.column(index).chunks:
            writer.write_batch(pa.record_batch([chunk], schema=schema))
    return path.stat().st_size


def write_meta(folder: Path, schema: pa.Schema, rows: int, raw: list[int]) -> None:
    """The schema, then the meta file (written last: an entry without it is never read)."""
    (folder / SCHEMA).write_bytes(schema.serialize().to_pybytes())
    sizes = [(folder / f"{i}{RAW if i in raw else IPC}").stat().st_size for i in range(len(schema))]
    stored = {str(i): str(stored_kind(schema.field(i).type)) for i in raw}
    meta = {"layout": LAYOUT, "rows": rows, "sizes": sizes, "raw": raw, "stored": stored}
    meta["created"] = time.time()
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


class PieceWriter:
    """An entry written piece by piece behind a reader: ``add`` each piece as it is parsed
    (the reader need not keep it), then ``finish``. The writing happens on a background
    thread, at most ``BEHIND`` pieces behind the reader (``add`` waits for it), so only a
    few pieces are in memory at once."""

    #: pieces that may wait for the writer
    BEHIND = 2

    def __init__(self, root: Path, expected_bytes: int) -> None:
        self.folder = root / f".tmp-{uuid.uuid4().hex}"
        self._expected = expected_bytes
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=self.BEHIND)
        self._schema: pa.Schema | None = None
        self._rows = 0
        self._raw: dict[int, BinaryIO] = {}
        self._ipc: dict[int, tuple[Any, Any]] = {}
        self.failed = False
        self._thread = threading.Thread(
            target=self._work, name="atelier-dataset-pieces", daemon=True
        )
        self._thread.start()

    def add(self, piece: pa.Table) -> None:
        self._queue.put(piece)

    def _work(self) -> None:
        import pyarrow as pa

        while (piece := self._queue.get()) is not None:
            if self.failed:
                continue
            try:
                self._write(piece)
            except (OSError, ValueError, pa.ArrowException):
                self.failed = True
            del piece  # the reader let it go: its memory is free for the next piece
        self._close()

    def _write(self, piece: pa.Table) -> None:
        import pyarrow as pa

        if self._schema is None:
            self.folder.mkdir(parents=True)
            if shutil.disk_usage(self.folder).free < 2 * self._expected:
                raise OSError("not enough free disk space for the dataset cache")
            self._schema = piece.schema
            for index, field in enumerate(piece.schema):
                if stored_kind(field.type) is not None:
                    self._raw[index] = (self.folder / f"{index}{RAW}").open("wb")
                else:
                    self._open_ipc(index)
        elif piece.schema != self._schema:
            raise ValueError("a piece with other columns")
        for index, column in enumerate(piece.columns):
            if index in self._raw:
                if not column.null_count:
                    write_values(self._raw[index], column)
                    continue
                self._raw_to_ipc(index)
            schema = pa.schema([self._schema.field(index)])
            writer = self._ipc[index][1]
            for chunk in column.chunks:
                writer.write_batch(pa.record_batch([chunk], schema=schema))
        self._rows += piece.num_rows

    def _open_ipc(self, index: int) -> Any:
        import pyarrow as pa

        assert self._schema is not None
        sink = pa.OSFile(str(self.folder / f"{index}{IPC}"), "wb")
        writer = pa.ipc.new_file(sink, pa.schema([self._schema.field(index)]))
        self._ipc[index] = (sink, writer)
        return writer

    def _raw_to_ipc(self, index: int) -> None:
        """A column written as bare values until a piece brings nulls: the values so far
        (back in the column's own type) become the first record batch of an IPC file,
        which takes the rest."""
        import pyarrow as pa

        assert self._schema is not None
        self._raw.pop(index).close()
        path = self.folder / f"{index}{RAW}"
        writer = self._open_ipc(index)
        if self._rows:
            field = self._schema.field(index)
            kind = stored_kind(field.type)
            assert kind is not None
            with pa.memory_map(str(path)) as source:
                values = source.read_buffer()
            array = pa.Array.from_buffers(kind, self._rows, [None, values]).cast(field.type)
            writer.write_batch(pa.record_batch([array], schema=pa.schema([field])))
        path.unlink()

    def _close(self) -> None:
        for handle in self._raw.values():
            try:
                handle.close()
            except OSError:
                self.failed = True
        for sink, writer in self._ipc.values():
            try:
                writer.close()
                sink.close()
            except Exception:  # an incomplete file: the entry is not written
                self.failed = True

    def finish(self) -> Path | None:
        """Wait for the pieces, then complete the entry: its folder, ready to be renamed
        into place, or None (and nothing left behind) when a write failed."""
        import pyarrow as pa

        self._queue.put(None)
        self._thread.join()
        if self.failed or self._schema is None:
            self.abandon()
            return None
        try:
            write_meta(self.folder, self._schema, self._rows, sorted(self._raw))
        except (OSError, ValueError, pa.ArrowException):
            self.abandon()
            return None
        return self.folder

    def abandon(self) -> None:
        """Stop writing and remove what was written."""
        self.failed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        shutil.rmtree(self.folder, ignore_errors=True)
