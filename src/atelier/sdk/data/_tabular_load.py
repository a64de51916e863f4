"""Reading a columnar dataset cache entry (see :mod:`atelier.sdk.data._tabular_cache` for
the layout): every column file memory-mapped, bare values read-only or copy-on-write.

A date column's bare values are milliseconds (``date64``). A reader gets the column's own
type back (a ``date32`` column is converted, one copy), except one that turns the table
into a pandas frame right away (``pandas_types``): it gets the ``date64`` column as it is
mapped, which pandas turns into the same ``datetime64[ms]`` as it would the ``date32``,
and :mod:`._tabular_frame` takes over as it is mapped.
"""

from __future__ import annotations

import json
import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from atelier.sdk.data import _tabular_entry
from atelier.sdk.data._tabular_entry import IPC, LAYOUT, META, RAW, SCHEMA
from atelier.sdk.data._tabular_evict import discard, touch

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class PrivateMap:
    """A column file mapped copy-on-write: its bytes as the file holds them, writable by
    this process only (writes go to private pages; the file never changes)."""

    address: int
    size: int
    mapping: mmap.mmap


#: at most this many columns of one read are mapped copy-on-write (each mapping holds a
#: file descriptor for as long as the frame uses it)
MAX_PRIVATE_MAPS = 64


def load(
    entry: Path, private_maps: list[PrivateMap] | None = None, pandas_types: bool = False
) -> pa.Table | None:
    """The entry's table, or None when there is none or it does not read back (then it is
    removed, to be rebuilt). With ``private_maps``, up to ``MAX_PRIVATE_MAPS`` columns of
    bare values are mapped copy-on-write instead of read-only, and their mappings listed.
    With ``pandas_types``, dates without nulls come as ``date64`` (no copy), whatever date
    type the column has (see above)."""
    import pyarrow as pa

    if not (entry / META).is_file():
        return None
    try:
        table = _read_entry(entry, private_maps, pandas_types)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        if private_maps:
            private_maps.clear()
        discard(entry)
        return None
    touch(entry)
    return table


def _raw_column(
    path: Path, kind: pa.DataType, rows: int, private_maps: list[PrivateMap] | None
) -> pa.ChunkedArray:
    """A column stored as its bare values, mapped read-only, or copy-on-write (listed in
    ``private_maps``) when that list is given and not full."""
    import pyarrow as pa

    if rows == 0:
        return pa.chunked_array([], kind)
    if private_maps is not None and len(private_maps) < MAX_PRIVATE_MAPS:
        with path.open("rb") as handle:
            mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        buffer = pa.py_buffer(mapping)
        private_maps.append(PrivateMap(buffer.address, buffer.size, mapping))
    else:
        with pa.memory_map(str(path)) as source:
            buffer = source.read_buffer()
    if buffer.size != rows * kind.bit_width // 8:
        raise ValueError(f"{path.name} holds {buffer.size} bytes, not {rows} values")
    return pa.chunked_array([pa.Array.from_buffers(kind, rows, [None, buffer])], kind)


def _read_entry(entry: Path, private_maps: list[PrivateMap] | None, pandas_types: bool) -> pa.Table:
    import pyarrow as pa

    meta = json.loads((entry / META).read_text(encoding="utf-8"))
    if meta.get("layout") != LAYOUT:
        raise ValueError("another layout")
    schema = pa.ipc.read_schema(pa.py_buffer((entry / SCHEMA).read_bytes()))
    rows, sizes = int(meta["rows"]), meta["sizes"]
    if len(sizes) != len(schema):
        raise ValueError("column count")
    raw = set(meta.get("raw") or ())
    stored = meta["stored"]
    columns = []
    fields = []
    for index, field in enumerate(schema):
        path = entry / f"{index}{RAW if index in raw else IPC}"
        if path.stat().st_size != sizes[index]:
            raise ValueError(f"{path.name} has the wrong size")
        if index in raw:
            kind = _tabular_entry.stored_kind(field.type)
            if kind is None or stored.get(str(index)) != str(kind):
                raise ValueError(f"{path.name} is not bare values of a {field.type} column")
            column = _raw_column(path, kind, rows, private_maps)
            if kind != field.type and not pandas_types:
                column = column.cast(field.type)  # a date32 column: its own type back
            columns.append(column)
            fields.append(field.with_type(column.type))
            continue
        # closing the file right away keeps nothing open: the column's buffers hold the
        # mapping until pandas has taken them over (or the table is dropped)
        with pa.memory_map(str(path)) as source:
            part = pa.ipc.open_file(source).read_all()
        if part.num_columns != 1 or part.num_rows != rows or part.schema[0].type != field.type:
            raise ValueError(f"{path.name} does not hold column {field.name!r}")
        columns.append(part.column(0))
        fields.append(field)
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=schema.metadata))
    table.validate()
    return table
