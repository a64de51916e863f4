"""A columnar cache of what tabular datasets read from delimited and JSON lines files.

Parsing text is the slow part of reading a tabular dataset, and the files behind it rarely
change between reads. So the Arrow table a read produces (types applied, before the
dataset's steps, so that every dataset derived from the same files and format shares one
entry) is kept under ``<ATELIER_HOME>/cache/tabular/<key>/``:

- ``<key>`` is the SHA-256 of the format definition, ``on_error`` (when column types make
  it matter), and every file's key, size and modification time (for local files also its
  nanosecond times, inode and device): a changed file gives a new key, so a stale entry is
  never read. Entries are immutable; unused ones age out.
- One file per column, read back memory-mapped (:mod:`._tabular_load`): a column of
  numbers, dates or timestamps without nulls as its bare values (written chunk after chunk
  from the table's own buffers, so they lie in the file in one run; dates as int64
  milliseconds, what pandas makes of them, see :mod:`._tabular_entry`), any other column as
  an uncompressed Arrow IPC file of one record batch per chunk. For
  ``to_pandas_dataframe`` a bare-values column is mapped copy-on-write and becomes the
  frame's writable array as it is (:mod:`atelier.sdk.data._tabular_frame`): no copy, no
  memory up front, pages read as they are touched, and a write goes to a private page,
  never to the file; so a date column is not converted to ``datetime64[ms]`` even on the
  first read. Other columns are converted by pyarrow (numbers with nulls copied once).
  Text stays in Arrow memory in pandas (its ``str`` dtype), here the mapping itself:
  entries are never changed in place (only renamed away and unlinked), so a frame's data
  outlives eviction.
- Text is kept as ``large_string``, the type pandas' Arrow-backed ``str`` dtype holds, so
  a later read's frame takes the text buffers over as they are (a ``string`` column would
  be cast, copying all its text); ``to_arrow`` still gives ``string``.
- The first read parses (a large UTF-8 CSV in 16 MB pieces by Arrow's multithreaded
  reader, read into one reusable buffer: :mod:`._csv_pieces`; a file that changes while
  it is read raises ``ConflictError`` and leaves no entry). For
  ``to_pandas_dataframe`` of one such CSV the entry is written piece by piece on a
  background thread while the next piece is parsed (:mod:`._tabular_entry`), each piece
  let go once written (so its memory serves the next), and the frame is made from the
  entry as a later read's: the numbers' one copy is the write itself, the entry is
  complete when the read returns, and peak memory stays about the frame's size. When
  the pieces cannot be the entry (several files, column types, a later piece that does
  not fit the first one's types, a failed write) the file is parsed whole and the entry
  written at once after parsing. For ``to_arrow`` (or when the entry cannot be written)
  the parsed table is returned and the entry written from its buffers by a background
  thread; a read of the same key meanwhile waits for it, and so does the interpreter at
  exit.
- An entry is written in a temporary folder and renamed into place, so a crash or a
  concurrent reader never sees half of one; an entry that does not read back (truncated,
  garbled, another layout) is dropped and rebuilt: the cache never fails a read.
- ``ATELIER_DATASET_CACHE_MB`` caps its size (default 10240); after each write, the least
  recently used entries are removed until the cache fits (:mod:`._tabular_evict`). ``0``
  turns the cache off.

Parquet files are not cached (they are already columnar and typed; a copy would only cost
disk), nor SQL queries (their result can change at any time).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.settings import load_settings
from atelier.sdk.data import _csv_pieces, _tabular_entry, _tabular_read
from atelier.sdk.data._tabular_evict import discard, evict, touch
from atelier.sdk.data._tabular_load import MAX_PRIVATE_MAPS, PrivateMap, load

if TYPE_CHECKING:
    import pyarrow as pa

    from atelier.client.data_files import ResolvedFile

#: the environment variable with the cache's size cap in MB (0 disables the cache)
CACHE_ENV = "ATELIER_DATASET_CACHE_MB"
DEFAULT_CACHE_MB = 10240
#: formats whose reads are cached
CACHED_FORMATS = ("delimited", "json_lines")
LAYOUT = _tabular_entry.LAYOUT
__all__ = ["MAX_PRIVATE_MAPS", "PrivateMap", "discard", "evict", "load", "read_files", "store"]


def limit_bytes() -> int:
    """The cache's size cap in bytes, from ``ATELIER_DATASET_CACHE_MB`` (0: no cache)."""
    text = os.environ.get(CACHE_ENV, "").strip()
    if not text:
        return DEFAULT_CACHE_MB * 1024 * 1024
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not megabytes >= 0:  # also refuses NaN
        raise ValidationError(
            f"{CACHE_ENV}={text!r} is not a size: set it to the cache's size in MB "
            f"(default {DEFAULT_CACHE_MB}), or 0 to turn the dataset cache off"
        )
    return int(megabytes * 1024 * 1024)


def cache_root() -> Path:
    return load_settings().home.expanduser() / "cache" / "tabular"


def cache_key(
    files: list[ResolvedFile], fmt: dict[str, Any], on_error: str, scope: str = ""
) -> str:
    """What identifies a read: format, error mode, and every file as it is now.

    ``scope`` names where datastore files live (server and workspace): two workspaces may
    both have a datastore ``workspaceblobstore`` with a file ``data.csv``."""
    import pyarrow as pa

    payload = {
        "layout": LAYOUT,
        # the reader's type inference belongs to the pyarrow version that ran it
        "pyarrow": pa.__version__,
        "format": fmt,
        # without column types, on_error changes nothing: both modes share an entry
        "on_error": on_error if fmt.get("column_types") else None,
        "files": [
            [
                item.key if item.store is None else f"{scope}|{item.key}",
                item.size,
                item.mtime_ms,
                _local_stamp(item),
            ]
            for item in files
        ],
    }
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _local_stamp(item: ResolvedFile) -> list[int] | None:
    """A local file's finer identity: a same-size rewrite within the same millisecond still
    changes its ctime, which no tool can set back."""
    if item.store is not None:
        return None
    try:
        stat = Path(item.location).stat()
    except OSError:
        return None
    return [stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


def read_files(
    files: list[ResolvedFile],
    fmt: dict[str, Any],
    on_error: str,
    scope: str = "",
    *,
    large_text: bool = False,
    defer_write: bool = False,
    private_maps: list[PrivateMap] | None = None,
    pandas_types: bool = False,
) -> pa.Table:
    """``_tabular_read.read_files`` through the cache: the same table, read from the cache
    when an entry for exactly these files and this format exists, else parsed and stored.

    Text columns come back as ``large_string`` with ``large_text`` (what pandas' Arrow
    string dtype holds: the frame then shares the entry's text buffers instead of casting
    them), else as ``string``. Entries keep text as ``large_string``. With ``defer_write``
    a first read's entry is written only once the caller calls :func:`start_writes` (after
    converting the table, so the write does not compete with the conversion for the CPU).
    With ``private_maps`` (a list to fill), a cached entry's columns of bare values are
    mapped copy-on-write (see :func:`load`) and their mappings added to the list. With
    ``pandas_types`` (for a table that becomes a pandas frame as it is), an entry's dates
    come as ``date64``, as they are stored (see :mod:`._tabular_load`)."""
    _tabular_read.check_on_error(on_error)
    limit = limit_bytes()
    if limit == 0 or fmt.get("type") not in CACHED_FORMATS or not files:
        return text_as(_tabular_read.read_files(files, fmt, on_error), large_text)
    root = cache_root()
    key = cache_key(files, fmt, on_error, scope)
    _wait_for_write(key)
    cached = load(root / key, private_maps, pandas_types)
    if cached is not None:
        return text_as(cached, large_text)
    if private_maps is not None and files[0].size <= limit:
        mapped = _read_and_write_pieces(
            root, key, files, fmt, on_error, limit, private_maps, pandas_types
        )
        if mapped is not None:
            return mapped
    table = _tabular_read.read_files(files, fmt, on_error, in_pieces=True)
    if large_text:
        table = text_as(table, True)  # once, shared by the caller and the entry's writer
    if private_maps is not None and store(root, key, table, limit):
        # written at once: the frame is made from the entry as a later read's is (no copy
        # of the numbers), and the parsed table is let go
        mapped = load(root / key, private_maps, pandas_types)
        if mapped is not None:
            return mapped
    _store_later(root, key, table, limit, start=not defer_write)
    return table


def _read_and_write_pieces(
    root: Path,
    key: str,
    files: list[ResolvedFile],
    fmt: dict[str, Any],
    on_error: str,
    limit: int,
    private_maps: list[PrivateMap],
    pandas_types: bool,
) -> pa.Table | None:
    """A first read for pandas of one large CSV: its entry is written piece by piece while
    the file is parsed (the write overlaps the parse, and no piece is kept once written),
    then mapped as a later read's is. None when the file is not such a CSV or the entry
    could not be completed (a later piece did not fit the first one's types, a write
    failed): the caller then reads the file the usual way."""
    import pyarrow as pa

    pieces = _tabular_read.first_read_pieces(files, fmt, on_error)
    if pieces is None:
        return None
    writer = _tabular_entry.PieceWriter(root, files[0].size)
    try:
        for piece in pieces:
            if writer.failed:
                break
            writer.add(piece)
            del piece
    except pa.ArrowInvalid:  # read again as a whole: types inferred over all of it
        writer.abandon()
        return None
    except BaseException:
        writer.abandon()
        raise
    folder = writer.finish()
    if folder is None:
        return None
    try:
        folder.rename(root / key)  # fails if another writer got there first
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
    touch(root / key)
    with contextlib.suppress(OSError, pa.ArrowException):
        evict(root, limit, keep=key)
    return load(root / key, private_maps, pandas_types)


text_as = _csv_pieces.text_as


# --- writing behind the first read ----------------------------------------------------------
_writes: dict[str, threading.Thread] = {}
_writes_lock = threading.Lock()


def _store_later(root: Path, key: str, table: pa.Table, limit: int, start: bool = True) -> None:
    """Write the entry on a background thread (which holds the table until it is done),
    started now or by :func:`start_writes`."""
    thread = threading.Thread(
        target=store, args=(root, key, table, limit), name="atelier-dataset-cache", daemon=True
    )
    with _writes_lock:
        _writes[key] = thread
    if start:
        thread.start()


def start_writes() -> None:
    """Start the entry writes that ``read_files(defer_write=True)`` left waiting."""
    with _writes_lock:
        waiting = [t for t in _writes.values() if t.ident is None]
    for thread in waiting:
        with contextlib.suppress(RuntimeError):  # another caller started it first
            thread.start()


def writing() -> bool:
    """Whether an entry is being (or waits to be) written from a table a reader may also
    hold: converting that table with ``to_pandas(self_destruct=True)`` would free buffers
    the writer reads."""
    with _writes_lock:
        return any(t.is_alive() or t.ident is None for t in _writes.values())


def _wait_for_write(key: str) -> None:
    with _writes_lock:
        thread = _writes.get(key)
    if thread is not None:
        if thread.ident is None:
            with contextlib.suppress(RuntimeError):
                thread.start()
        thread.join()
        with _writes_lock:
            if _writes.get(key) is thread:
                del _writes[key]


@atexit.register
def wait_for_writes() -> None:
    """Wait until every entry being written is written (at exit, and for tests)."""
    with _writes_lock:
        keys = list(_writes)
    for key in keys:
        _wait_for_write(key)


# --- writing an entry -----------------------------------------------------------------------
def store(root: Path, key: str, table: pa.Table, limit: int) -> bool:
    """Write ``table`` as entry ``key`` (atomically, text as ``large_string``), then evict
    down to ``limit``. Any failure (disk full, no permission, a concurrent writer) leaves no
    entry and no error."""
    import pyarrow as pa

    table = text_as(table, True)
    size = table.get_total_buffer_size()
    if size > limit or table.num_columns == 0:
        return False
    temporary = root / f".tmp-{uuid.uuid4().hex}"
    try:
        temporary.mkdir(parents=True)
        _write_entry(temporary, table, size)
        temporary.rename(root / key)  # fails if another writer got there first
    except (OSError, pa.ArrowException):
        shutil.rmtree(temporary, ignore_errors=True)
        return False
    touch(root / key)
    evict(root, limit, keep=key)
    return True


def _write_entry(folder: Path, table: pa.Table, size: int) -> None:
    if shutil.disk_usage(folder).free < 2 * size:
        raise OSError("not enough free disk space for the dataset cache")
    raw = [i for i in range(table.num_columns) if _tabular_entry.is_raw(table.column(i))]
    for i in range(table.num_columns):
        if i in raw:
            with (folder / f"{i}{_tabular_entry.RAW}").open("wb") as sink:
                _tabular_entry.write_values(sink, table.column(i))
        else:
            _tabular_entry.write_column(folder / f"{i}{_tabular_entry.IPC}", table, i)
    _tabular_entry.write_meta(folder, table.schema, table.num_rows, raw)
