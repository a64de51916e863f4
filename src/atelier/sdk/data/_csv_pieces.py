"""A large UTF-8 CSV parsed a piece at a time, pieces side by side on Arrow's cores.

The text is read into a few reusable buffers, cut at a line end into pieces of about
``PIECE_BYTES``. The first piece is parsed alone by ``pyarrow.csv.read_csv`` with its
threads (it settles the column names and types); every later piece is then parsed on one
thread of a pool as wide as Arrow's CPU count (at most ``MAX_PARALLEL_PIECES``), the next
pieces while earlier ones are still parsed, and handed on in file order. One
single-threaded parse per core keeps every core busy; one multithreaded parse after
another leaves cores idle at each piece's end and, measured on 2 cores, took 1.85-2.7 s
of 1 GB where the pool takes 1.7-1.85 s. Arrow's parser copies every value out of its
input, so a buffer is refilled as soon as its piece is parsed: a read holds a few pieces
of text, never the file.

The file is read, not memory-mapped: a local file truncated by another process while it
is mapped kills the reader with SIGBUS. Read, a file that shrinks or changes under the
reader raises :class:`~atelier.core.errors.ConflictError` instead (the caller then keeps
no cache entry).

A piece without any quote character is parsed with quoting off: the same values (there is
nothing to unquote), and Arrow's tokenizer then takes its faster path.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ConflictError

if TYPE_CHECKING:
    import pyarrow as pa

    from atelier.client.data_files import ResolvedFile

#: the raw text each multithreaded parse takes at once
PIECE_BYTES = 16 * 1024 * 1024
#: at most this many pieces are parsed at once (each holds its text and its table)
MAX_PARALLEL_PIECES = 8
#: Arrow's jemalloc decay time, restored after ``lean_memory``
_DEFAULT_DECAY_MS = 1000


def can_cut(options: dict[str, Any]) -> bool:
    """Whether the text can be cut at any line end: UTF-8 (pyarrow's own decoding) and no
    line breaks inside values."""
    return bool(
        options["read_options"].encoding == "utf8"
        and not options["parse_options"].newlines_in_values
    )


def csv_pieces(
    item: ResolvedFile, options: dict[str, Any], large_text: bool = False
) -> Generator[pa.Table]:
    """Parse the text cut at line ends into pieces of about PIECE_BYTES (see above), in
    file order; later pieces take the first piece's column names and types (with
    ``large_text``, text as ``large_string``, parsed so rather than cast). A later piece
    whose values do not fit those types raises ``ArrowInvalid``: the caller reads the
    whole file with types inferred over all of it. A file that changes while it is read
    raises ``ConflictError``."""
    import pyarrow as pa

    width = max(1, min(pa.cpu_count(), MAX_PARALLEL_PIECES))
    # a buffer is refilled only once its piece is parsed: ``width`` pieces in the pool,
    # one being read, one handed on
    texts = _text_pieces(item, buffers=width + 2)
    with contextlib.closing(texts):
        yield from _parse_in_order(texts, options, large_text, width)


def _parse_in_order(
    texts: Iterator[tuple[bytearray, int]], options: dict[str, Any], large_text: bool, width: int
) -> Iterator[pa.Table]:
    import pyarrow as pa

    first = next(texts, None)
    if first is None:
        return
    pool = lean_pool()
    quote = options["parse_options"].quote_char
    unquoted = _without_quotes(options["parse_options"])

    def parse(chosen: dict[str, Any], buffer: bytearray, size: int) -> pa.Table:
        import pyarrow.csv as pcsv

        if quote and buffer.find(quote.encode(), 0, size) < 0:
            chosen = {**chosen, "parse_options": unquoted}
        text = pa.py_buffer(buffer).slice(0, size)
        return pcsv.read_csv(pa.BufferReader(text), memory_pool=pool, **chosen)

    parsed = text_as(parse(options, *first), large_text)
    later = _options_of_later_pieces(options, parsed.schema, threads=False)
    yield parsed
    del parsed
    waiting: deque[Future[pa.Table]] = deque()
    with ThreadPoolExecutor(width, thread_name_prefix="atelier-csv") as workers:
        try:
            for buffer, size in texts:
                waiting.append(workers.submit(parse, later, buffer, size))
                if len(waiting) > width:
                    yield waiting.popleft().result()
            while waiting:
                yield waiting.popleft().result()
        finally:  # stopped early or failed: parses not started are dropped
            for future in waiting:
                future.cancel()


def _options_of_later_pieces(
    options: dict[str, Any], schema: pa.Schema, threads: bool
) -> dict[str, Any]:
    """The first piece's options with its column names and types given, not inferred."""
    import pyarrow.csv as pcsv

    convert = options["convert_options"]
    return {
        "read_options": pcsv.ReadOptions(
            use_threads=threads,
            encoding=options["read_options"].encoding,
            column_names=schema.names,
            autogenerate_column_names=False,
        ),
        "parse_options": options["parse_options"],
        "convert_options": pcsv.ConvertOptions(
            column_types={field.name: field.type for field in schema},
            strings_can_be_null=convert.strings_can_be_null,
            quoted_strings_can_be_null=convert.quoted_strings_can_be_null,
        ),
    }


def _without_quotes(parse: Any) -> Any:
    import pyarrow.csv as pcsv

    return pcsv.ParseOptions(
        delimiter=parse.delimiter,
        quote_char=False,
        double_quote=parse.double_quote,
        escape_char=parse.escape_char,
        newlines_in_values=parse.newlines_in_values,
        ignore_empty_lines=parse.ignore_empty_lines,
        invalid_row_handler=parse.invalid_row_handler,
    )


def _text_pieces(item: ResolvedFile, buffers: int) -> Generator[tuple[bytearray, int]]:
    """The file's bytes in pieces of about PIECE_BYTES, each ending at a line end (the last
    one at the end of the file): the first ``size`` bytes of one of ``buffers`` buffers,
    taken in turn, so a piece's buffer is refilled ``buffers`` pieces later. A line longer
    than a buffer makes it grow."""
    ring = [bytearray(PIECE_BYTES)]  # grown to ``buffers`` as the pieces need them
    turn = 0
    buffer = ring[0]
    kept = 0  # the bytes after the last cut, moved to the front of the next buffer
    total = 0
    with item.open() as handle:
        before = _stamp(handle) if item.store is None else None
        while True:
            if kept == len(buffer):  # no line end in a whole buffer: a longer line
                # a new buffer: Arrow's threads may let go of the last one only later,
                # which forbids resizing it (they no longer read it: a parse's values are
                # copied out before ``read_csv`` returns)
                buffer = ring[turn] = buffer + bytes(len(buffer))
            count = _fill(handle, buffer, kept)
            total += count
            filled = kept + count
            if count == 0:  # the end of the file
                if item.store is None:
                    _check_unchanged(item, handle, total, before)
                if filled:
                    yield buffer, filled
                return
            cut = buffer.rfind(b"\n", kept, filled) + 1
            if cut == 0:
                kept = filled
                continue
            yield buffer, cut
            kept = filled - cut
            turn = (turn + 1) % buffers
            if turn == len(ring):
                ring.append(bytearray(max(PIECE_BYTES, kept)))
            following = ring[turn]
            if len(following) < kept:
                following = ring[turn] = bytearray(max(PIECE_BYTES, kept))
            following[:kept] = buffer[cut:filled]
            buffer = following


def _fill(handle: Any, buffer: bytearray, start: int) -> int:
    """Read into ``buffer`` from ``start`` until it is full or the file ends (a stream
    without ``readinto``, as some datastores give, is read and copied)."""
    readinto = getattr(handle, "readinto", None)
    with memoryview(buffer) as view:
        position = start
        while position < len(buffer):
            if readinto is not None:
                count = readinto(view[position:])
            else:
                data = handle.read(len(buffer) - position)
                count = len(data)
                view[position : position + count] = data
            if not count:
                break
            position += count
    return position - start


def _stamp(handle: Any) -> tuple[int, int] | None:
    try:
        status = os.fstat(handle.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return status.st_size, status.st_mtime_ns


def _check_unchanged(
    item: ResolvedFile, handle: Any, total: int, before: tuple[int, int] | None
) -> None:
    """Raise when the bytes read are not the file as it was when the read began (its
    size when the dataset listed it; for a local file also its size and time now)."""
    now = _stamp(handle)
    if total != item.size or now is None or now != before:
        raise ConflictError(
            f"{item.key} changed while it was being read ({total} bytes read, "
            f"{item.size} expected); read the dataset again once nothing writes to the file"
        )


def text_as(table: pa.Table, large: bool) -> pa.Table:
    """The table with its text columns as ``large_string`` (``large``) or ``string``."""
    import pyarrow as pa

    have, want = (pa.string(), pa.large_string()) if large else (pa.large_string(), pa.string())
    for index, field in enumerate(table.schema):
        if field.type == have:
            table = table.set_column(index, field.with_type(want), table.column(index).cast(want))
    return table


def lean_pool() -> Any:
    """Arrow's jemalloc pool where Arrow has it (``lean_memory`` makes it return freed
    memory at once), else the default pool."""
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


@contextlib.contextmanager
def lean_memory() -> Iterator[None]:
    """While converting a table to pandas, give memory back as soon as Arrow frees it, so
    the table and the frame are not both held in full (peak close to the frame's size)."""
    import pyarrow as pa

    try:
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        yield
        return
    try:
        yield
    finally:
        pa.jemalloc_set_decay_ms(_DEFAULT_DECAY_MS)
