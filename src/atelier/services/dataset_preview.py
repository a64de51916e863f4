"""A quick look at a tabular dataset for the Studio: the first rows of its first file and a
profile of those rows (type, missing, distinct, min, max, mean per column).

It reads at most :data:`HEAD_BYTES` of one file through the datastore, so a page never
waits on a whole dataset; the SDK's ``TabularDataset.profile()`` reads all of it, with the
dataset's recorded steps applied. Steps (filters, column choices) are not applied here:
the page says so.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.core.data_records import DatasetRecord
from atelier.core.errors import AtelierError
from atelier.services.datastore_rules import DatastoreAccess

__all__ = ["HEAD_BYTES", "ColumnSummary", "Preview", "preview"]

#: how much of the first file a preview reads, and how many rows it shows
HEAD_BYTES = 1024 * 1024
ROWS = 50
#: a parquet file on a store that cannot seek is read whole, up to this size
PARQUET_BYTES = 64 * 1024 * 1024
_FORMATS = ("delimited", "parquet", "json_lines")


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    name: str
    type: str
    count: int
    missing: int
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """``rows`` of ``columns`` as text, ``profile`` over the rows read (``read_rows``), from
    ``source``; ``note`` says why there is none, or what was left out."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    profile: list[ColumnSummary] = field(default_factory=list)
    read_rows: int = 0
    source: str = ""
    note: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _summaries(table: Any) -> list[ColumnSummary]:
    import pyarrow as pa
    import pyarrow.compute as pc

    found = []
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        low = high = mean = None
        comparable = (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_temporal(kind)
            or pa.types.is_string(kind)
        )
        if comparable and column.null_count < len(column):
            extremes = pc.min_max(column)
            low, high = extremes["min"].as_py(), extremes["max"].as_py()
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            value = pc.mean(column).as_py()
            mean = value if isinstance(value, float) and math.isfinite(value) else None
        try:
            distinct = len(pc.unique(column))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            distinct = 0
        found.append(
            ColumnSummary(
                name=name,
                type=str(kind),
                count=len(column) - column.null_count,
                missing=column.null_count,
                distinct=distinct,
                min=_text(low) if low is not None else None,
                max=_text(high) if high is not None else None,
                mean=mean,
            )
        )
    return found


def _read_head(handle: Any, fmt: dict[str, Any]) -> tuple[Any, bool]:
    """The table of the file's first bytes, and whether the file went on past them."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    kind = fmt.get("type")
    if kind == "parquet":
        import pyarrow.parquet as pq

        # parquet keeps its footer at the end: read it where the file can seek, else the
        # whole file (up to a bound)
        seekable = getattr(handle, "seekable", lambda: False)()
        if not seekable:
            data = handle.read(PARQUET_BYTES + 1)
            if len(data) > PARQUET_BYTES:
                raise ValueError(f"the file is over {PARQUET_BYTES >> 20} MB and cannot seek")
        reader = pq.ParquetFile(handle if seekable else io.BytesIO(data))
        batches = reader.iter_batches(batch_size=10_000)
        first = next(batches, None)
        table = pa.Table.from_batches([first]) if first is not None else reader.schema_arrow
        more = reader.metadata.num_rows > (first.num_rows if first is not None else 0)
        return (table if first is not None else reader.schema_arrow.empty_table()), more
    head = handle.read(HEAD_BYTES + 1)
    more = len(head) > HEAD_BYTES
    if more:  # cut at the last whole line
        head = head[: head[:HEAD_BYTES].rfind(b"\n") + 1]
    encoding = str(fmt.get("encoding") or "utf8").replace("-", "").lower()
    if encoding not in ("utf8", "ascii"):
        head = head.decode(str(fmt.get("encoding")), errors="replace").encode()
    if kind == "json_lines":
        return pjson.read_json(io.BytesIO(head)), more
    header = fmt.get("header")
    read = pcsv.ReadOptions(autogenerate_column_names=header == "no_headers")
    parse = pcsv.ParseOptions(
        delimiter=str(fmt.get("separator") or ","),
        newlines_in_values=bool(fmt.get("support_multi_line")),
        invalid_row_handler=(lambda _row: "skip") if fmt.get("invalid_lines") == "drop" else None,
    )
    return pcsv.read_csv(io.BytesIO(head), read_options=read, parse_options=parse), more


def _first_local_file(pattern: str) -> Path | None:
    """The first file a local source names (a file, a folder's files, or a glob)."""
    path = Path(pattern)
    if path.is_file():
        return path
    if path.is_dir():
        return next((p for p in sorted(path.rglob("*")) if p.is_file()), None)
    if path.is_absolute() and any(ch in pattern for ch in "*?["):
        return next((p for p in sorted(Path("/").glob(pattern.lstrip("/"))) if p.is_file()), None)
    return None


def _local_preview(record: DatasetRecord, fmt: dict[str, Any], pattern: str) -> Preview:
    import pyarrow as pa

    first = _first_local_file(pattern)
    if first is None:
        return Preview(note=f"no file matches {pattern!r} on this machine now")
    try:
        with first.open("rb") as handle:
            table, more = _read_head(handle, fmt)
    except (pa.ArrowException, ValueError, LookupError, TypeError, OSError) as exc:
        return Preview(note=f"the first file could not be parsed: {exc}")
    return _shown(record, table, more, 0, str(first))


def _shown(record: DatasetRecord, table: Any, more: bool, rest: int, source: str) -> Preview:
    notes = []
    if more or rest:
        notes.append(
            f"profile of the first {table.num_rows} rows of {source}"
            + (f" (and {rest} more file(s) not read)" if rest else "")
        )
    if record.definition.get("steps"):
        notes.append("the dataset's steps (filters, column choices) are not applied here")
    return Preview(
        columns=list(table.column_names),
        rows=[
            [_text(r.get(c)) for c in table.column_names] for r in table.slice(0, ROWS).to_pylist()
        ],
        profile=_summaries(table),
        read_rows=table.num_rows,
        source=source,
        note="; ".join(notes),
    )


def preview(
    access: DatastoreAccess, workspace: str, record: DatasetRecord, local_files: bool = False
) -> Preview:
    """The first rows and their profile, or a ``note`` saying why there are none.
    ``local_files``: a source on this machine may be read (``atelier studio`` only)."""
    import pyarrow as pa

    if record.kind != "tabular":
        return Preview(note="a file dataset has no rows to preview; its files are listed above")
    fmt = record.definition.get("format") or {}
    if fmt.get("type") not in _FORMATS:
        return Preview(note=f"a {fmt.get('type')} dataset is previewed from the SDK only")
    sources = [s for s in record.definition.get("sources") or [] if isinstance(s, dict)]
    stored = [s for s in sources if "datastore" in s]
    if not stored:
        local = [s for s in sources if "local" in s]
        if local and local_files:
            return _local_preview(record, fmt, str(local[0]["local"]))
        return Preview(note="this dataset reads files on its author's machine, not a datastore")
    source = stored[0]
    try:
        files = access.files(workspace, str(source["datastore"]))
        pattern = str(source.get("path") or "**").strip("/") or "**"
        found = files.list_files(pattern)
        if not found:
            return Preview(note=f"no file matches {pattern!r} on {source['datastore']!r} now")
        first = found[0]
        with files.open(first.path) as handle:
            table, more = _read_head(handle, fmt)
    except AtelierError as exc:
        return Preview(note=f"the data could not be read: {exc.message or exc}")
    except (pa.ArrowException, ValueError, LookupError, TypeError, OSError) as exc:
        return Preview(note=f"the first file could not be parsed: {exc}")
    source_name = f"{source['datastore']}:{first.path}"
    return _shown(record, table, more, len(found) - 1, source_name)
