"""Reading a tabular dataset's files into one Arrow table (pyarrow's native readers).

Errors name the file, and for CSV the line and column, so the user can fix the data.
``on_error='null'`` turns values that do not parse as the requested type into nulls;
``'fail'`` raises.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AtelierError, ValidationError
from atelier.sdk.data import _csv_pieces

if TYPE_CHECKING:
    import pyarrow as pa

    from atelier.client.data_files import ResolvedFile

#: azureml's header modes
HEADER_MODES = (
    "all_files_same_headers",
    "only_first_file_has_headers",
    "no_headers",
    "combine_all_files_headers",
)
#: the column ``include_path=True`` adds (azureml's name)
PATH_COLUMN = "Path"
_TYPE_NAMES = {
    "string": "string",
    "str": "string",
    "long": "int64",
    "int": "int64",
    "int64": "int64",
    "float": "float64",
    "double": "float64",
    "float64": "float64",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "timestamp",
    "timestamp": "timestamp",
}


def arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    clean = _TYPE_NAMES.get(str(name).lower())
    if clean is None:
        raise ValidationError(
            f"unknown column type {name!r}; use one of string, long, float, bool, datetime "
            "(or DataType.to_long() and friends)"
        )
    if clean == "timestamp":
        return pa.timestamp("us")
    return pa.type_for_alias(clean)


def read_files(
    files: list[ResolvedFile],
    fmt: dict[str, Any],
    on_error: str,
    in_pieces: bool = False,
) -> pa.Table:
    """All files in one table, in file order (schemas unified; missing columns null).

    ``in_pieces`` parses a large UTF-8 CSV a piece at a time with Arrow's multithreaded
    reader (about 3x faster than its streaming reader here; see
    :func:`._csv_pieces.csv_pieces`), for a caller that writes the table to the cache and
    converts from there: the pieces' columns share buffers, so converting such a table to
    pandas directly would hold it whole until the end."""
    import pyarrow as pa

    check_on_error(on_error)
    kind = fmt.get("type")
    tables = []
    header_names: list[str] | None = None
    for index, item in enumerate(files):
        if kind == "delimited":
            table, header_names = _read_delimited(
                item, fmt, on_error, index, header_names, in_pieces
            )
        elif kind == "parquet":
            table = _read_parquet(item)
        elif kind == "json_lines":
            table = _read_json_lines(item, fmt)
        else:
            raise ValidationError(f"unknown tabular format {kind!r}")
        table = _apply_types(table, fmt.get("column_types") or {}, on_error, item)
        if fmt.get("include_path"):
            table = table.append_column(
                PATH_COLUMN, pa.array([item.relative] * table.num_rows, pa.string())
            )
        tables.append(table)
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValidationError(f"the files do not share compatible columns: {exc}") from exc


def check_on_error(on_error: str) -> None:
    if on_error not in ("null", "fail"):
        raise ValidationError(f"on_error must be 'null' or 'fail', not {on_error!r}")


def _source(item: ResolvedFile) -> Any:
    return item.location if item.store is None else item.open()


def _read_delimited(
    item: ResolvedFile,
    fmt: dict[str, Any],
    on_error: str,
    index: int,
    first_header: list[str] | None,
    in_pieces: bool = False,
) -> tuple[pa.Table, list[str] | None]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    options, has_header = _csv_options(fmt, on_error, index, first_header)
    try:
        table = _read_csv_streaming(item, options, in_pieces)
    except pa.ArrowInvalid:
        # the streaming reader infers types from the first block only; a later block that
        # does not fit is read again with inference over the whole file
        source = _source(item)
        try:
            table = pcsv.read_csv(source, **options)
        except pa.ArrowInvalid as exc:
            separator = options["parse_options"].delimiter
            raise _csv_error(item, str(exc), separator, has_header) from None
        finally:
            if hasattr(source, "close"):
                source.close()
    names = table.column_names if first_header is None else first_header
    return table, names


def _csv_options(
    fmt: dict[str, Any], on_error: str, index: int, first_header: list[str] | None
) -> tuple[dict[str, Any], bool]:
    """pyarrow's read, parse and convert options for the ``index``-th file of a delimited
    format, and whether that file has a header line."""
    import pyarrow.csv as pcsv

    separator = str(fmt.get("separator") or ",")
    header = fmt.get("header", "all_files_same_headers")
    has_header = header in ("all_files_same_headers", "combine_all_files_headers") or (
        header == "only_first_file_has_headers" and index == 0
    )
    encoding = str(fmt.get("encoding") or "utf8")
    read = pcsv.ReadOptions(
        use_threads=True,
        # pyarrow's own UTF-8 path skips a transcoding step
        encoding="utf8" if encoding.lower().replace("-", "") == "utf8" else encoding,
        autogenerate_column_names=not has_header and first_header is None,
        column_names=None if has_header or first_header is None else first_header,
    )
    parse = pcsv.ParseOptions(
        delimiter=separator,
        newlines_in_values=bool(fmt.get("support_multi_line")),
        invalid_row_handler=(lambda _row: "skip") if fmt.get("invalid_lines") == "drop" else None,
    )
    types = fmt.get("column_types") or {}
    strict_types = {} if on_error == "null" else {c: arrow_type(t) for c, t in types.items()}
    convert = pcsv.ConvertOptions(
        column_types=strict_types,
        strings_can_be_null=not fmt.get("empty_as_string"),
        quoted_strings_can_be_null=False,
    )
    return {"read_options": read, "parse_options": parse, "convert_options": convert}, has_header


def _read_csv_streaming(item: ResolvedFile, options: dict[str, Any], in_pieces: bool) -> pa.Table:
    """Block by block (or piece by piece), so only a little raw text is in memory at once."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if in_pieces and _csv_pieces.can_cut(options):
        if item.size > _csv_pieces.PIECE_BYTES * 2:
            return _read_csv_in_pieces(item, options)
        # small enough to hold whole: one multithreaded parse (the streaming reader parses
        # block after block on one thread, about twice as slow)
        with item.open() as handle:
            text = handle.read()
        return pcsv.read_csv(pa.BufferReader(text), memory_pool=_csv_pieces.lean_pool(), **options)
    source = _source(item)
    try:
        reader = pcsv.open_csv(source, memory_pool=_csv_pieces.lean_pool(), **options)
        return pa.Table.from_batches(list(reader), schema=reader.schema)
    finally:
        if hasattr(source, "close"):
            source.close()


def _read_csv_in_pieces(item: ResolvedFile, options: dict[str, Any]) -> pa.Table:
    """The whole file parsed piece by piece (:func:`._csv_pieces.csv_pieces`), as one table."""
    import pyarrow as pa

    return pa.concat_tables(list(_csv_pieces.csv_pieces(item, options)))


def first_read_pieces(
    files: list[ResolvedFile], fmt: dict[str, Any], on_error: str
) -> Iterator[pa.Table] | None:
    """The pieces of a dataset that is one large UTF-8 CSV, text as ``large_string``
    (:func:`._csv_pieces.csv_pieces`); None when it is not such a dataset (several files,
    column types or a path column to apply, another encoding, line breaks in values, a
    small file)."""
    if (
        len(files) != 1
        or fmt.get("type") != "delimited"
        or fmt.get("column_types")
        or fmt.get("include_path")
        or files[0].size <= _csv_pieces.PIECE_BYTES * 2
    ):
        return None
    options, _ = _csv_options(fmt, on_error, 0, None)
    if not _csv_pieces.can_cut(options):
        return None
    return _csv_pieces.csv_pieces(files[0], options, large_text=True)


def _csv_error(
    item: ResolvedFile, message: str, separator: str, has_header: bool
) -> ValidationError:
    """The pyarrow error, with the line and column found by re-reading the file."""
    if "Empty CSV file" in message:
        return ValidationError(f"{item.key} is empty; remove it or add a header line")
    rows = _rows(item, separator)
    header = rows[0] if rows and has_header else []
    parse = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if parse:
        expected = int(parse.group(1))
        for line, row in enumerate(rows, start=1):
            if len(row) != expected:
                column = min(len(row), expected) + 1
                return ValidationError(
                    f"malformed CSV {item.key}: line {line} has {len(row)} fields where the "
                    f"header has {expected} (from column {column}); fix the line, or pass "
                    "invalid_lines='drop' to skip such lines"
                )
    conversion = re.search(
        r"column #(\d+): CSV conversion error to (\S+): invalid value '(.*)'", message
    )
    if conversion:
        position, kind, value = int(conversion.group(1)), conversion.group(2), conversion.group(3)
        name = header[position] if position < len(header) else f"#{position + 1}"
        for line, row in enumerate(rows, start=1):
            if line == 1 and has_header:
                continue
            if position < len(row) and row[position] == value:
                return ValidationError(
                    f"{item.key}: line {line}, column {name!r}: {value!r} is not a valid "
                    f"{kind}; fix the value, or read with on_error='null' to get nulls"
                )
    return ValidationError(f"cannot read {item.key} as CSV: {message}")


def _rows(item: ResolvedFile, separator: str) -> list[list[str]]:
    with (
        item.open() as handle,
        io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="") as text,
    ):
        return list(csv.reader(text, delimiter=separator))


def _read_parquet(item: ResolvedFile) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = _source(item)
    try:
        return pq.read_table(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationError(f"cannot read {item.key} as Parquet: {exc}") from None
    finally:
        if hasattr(source, "close"):
            source.close()


def _read_json_lines(item: ResolvedFile, fmt: dict[str, Any]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.json as pjson

    source = _source(item)
    try:
        return pjson.read_json(source, read_options=pjson.ReadOptions(use_threads=True))
    except pa.ArrowInvalid as exc:
        if fmt.get("invalid_lines") == "drop":
            return _read_json_lines_forgiving(item)
        raise ValidationError(
            f"cannot read {item.key} as JSON lines ({exc}); fix the line, or pass "
            "invalid_lines='drop'"
        ) from None
    finally:
        if hasattr(source, "close"):
            source.close()


def _read_json_lines_forgiving(item: ResolvedFile) -> pa.Table:
    import pyarrow as pa

    records = []
    with item.open() as handle, io.TextIOWrapper(handle, encoding="utf-8") as text:
        for line in text:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
    return pa.Table.from_pylist(records)


def _apply_types(
    table: pa.Table, types: dict[str, Any], on_error: str, item: ResolvedFile
) -> pa.Table:
    """Cast columns to their requested types; values that do not parse become null
    (``on_error='null'``) or raise naming the column (``'fail'``)."""
    import pyarrow as pa

    for column, type_name in types.items():
        if column not in table.column_names:
            raise ValidationError(
                f"set_column_types names {column!r}, which {item.key} does not have; its "
                f"columns are {table.column_names}"
            )
        wanted = arrow_type(type_name)
        current = table.column(column)
        if current.type == wanted:
            continue
        try:
            converted = current.cast(wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if on_error == "fail":
                raise ValidationError(
                    f"{item.key}: column {column!r} does not parse as {type_name} ({exc}); fix "
                    "the data or read with on_error='null'"
                ) from None
            converted = _lenient_cast(current, wanted)
        table = table.set_column(table.column_names.index(column), column, converted)
    return table


def _lenient_cast(column: Any, wanted: pa.DataType) -> Any:
    """Value by value: anything that does not convert becomes null."""
    import pyarrow as pa

    values = []
    for value in column.cast(pa.string()).to_pylist():
        try:
            values.append(pa.scalar(value, pa.string()).cast(wanted).as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, AtelierError):
            values.append(None)
    return pa.array(values, wanted)


def read_sql(query: str, connection_url: str) -> pa.Table:
    """Run ``query`` on the database at ``connection_url`` (SQLAlchemy URL) into a table."""
    import pandas as pd
    import pyarrow as pa

    url = connection_url
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        frame = pd.read_sql_query(query, url)
    except ImportError as exc:
        raise ValidationError(f"no database driver for {mask_url(connection_url)}: {exc}") from None
    except Exception as exc:  # drivers raise their own trees; say what failed, not the password
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(
            f"the SQL query on {mask_url(connection_url)} failed: {mask_text(text, connection_url)}"
        ) from None
    return pa.Table.from_pandas(frame, preserve_index=False)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def mask_text(text: str, url: str) -> str:
    match = re.search(r"://[^:/@]+:([^@]*)@", url)
    return text.replace(match.group(1), "***") if match and match.group(1) else text
