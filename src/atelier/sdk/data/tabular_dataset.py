"""``TabularDataset``: rows and columns from delimited, Parquet, JSON lines files or SQL.

Lazy: every transformation is recorded as a step and runs when data is read
(``to_pandas_dataframe``, ``to_arrow``, ``profile`` ...). Reading uses pyarrow's
native readers and converts to pandas without a second full copy.
"""

from __future__ import annotations

import builtins
import io
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.data_expr import parse_filter
from atelier.core.errors import ValidationError
from atelier.sdk.data import (
    _csv_pieces,
    _tabular_cache,
    _tabular_frame,
    _tabular_read,
    _tabular_steps,
)
from atelier.sdk.data._dataset_base import AbstractDataset, _check_count, _check_fraction, _seed
from atelier.sdk.data._profile import DatasetProfile, profile_table
from atelier.sdk.data.datastore import DataPath, Datastore
from atelier.sdk.data.file_dataset import FileDataset

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _columns(what: str, columns: object) -> builtins.list[str]:
    items = [columns] if isinstance(columns, str) else columns
    if not isinstance(items, list | tuple) or not all(isinstance(c, str) for c in items):
        raise ValidationError(f"{what} takes a column name or a list of column names")
    return builtins.list(items)


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not an ISO date or time") from None
    if not isinstance(value, datetime):
        raise ValidationError(f"give a datetime or an ISO string, not {value!r}")
    return value.isoformat()


class TabularDataset(AbstractDataset):
    """Tabular data; create one with ``Dataset.Tabular.from_*``."""

    _kind = "tabular"

    # --- reading ----------------------------------------------------------------------
    def to_arrow(self, on_error: str = "null") -> pa.Table:
        """The data as a ``pyarrow.Table`` with every step applied."""
        return self._to_arrow(on_error, for_pandas=False)

    def _to_arrow(
        self, on_error: str, for_pandas: bool, private_maps: list[Any] | None = None
    ) -> pa.Table:
        """``to_arrow``; ``for_pandas`` reads text as ``large_string`` (what pandas' string
        dtype holds) and leaves a first read's cache write to be started after conversion;
        ``private_maps`` collects the copy-on-write mappings of a cached read's numbers."""
        fmt = self._definition.get("format") or {}
        if fmt.get("type") == "sql":
            table = _tabular_read.read_sql(fmt["query"], fmt["connection_url"])
            table = _tabular_read._apply_types(
                table,
                fmt.get("column_types") or {},
                on_error,
                _SqlLabel(),  # type: ignore[arg-type]
            )
        else:
            # through the columnar cache: a second read of the same files skips parsing
            table = _tabular_cache.read_files(
                self._source_files(),
                fmt,
                on_error,
                scope=self._cache_scope(),
                large_text=for_pandas,
                defer_write=for_pandas,
                private_maps=private_maps,
                # dates as pandas takes them over, unless a step looks at their type
                pandas_types=for_pandas and _tabular_steps.type_blind(self._definition),
            )
        return self._apply_steps(table)

    def _cache_scope(self) -> str:
        """Where datastore files live: the same datastore name and path in another
        workspace or on another server are other files."""
        if self._workspace is None:
            return ""
        return f"{self._workspace._backend.tracking_uri}|{self._workspace.name}"

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> pd.DataFrame:
        """The data as a pandas DataFrame. ``on_error='null'`` turns values that do not
        parse as their column's type into nulls; ``'fail'`` raises, naming the file, line
        and column."""
        del out_of_range_datetime
        maps: list[Any] = []
        try:
            # parsing reuses the memory Arrow frees (pieces, the parser's scratch); only
            # while converting is it given back at once, as pandas takes columns over
            table = self._to_arrow(on_error, for_pandas=True, private_maps=maps)
            with _csv_pieces.lean_memory():
                # a cached read's numbers are taken over as mapped (copy-on-write), no copy
                mapped = _tabular_frame.to_frame(table, maps, _convert) if maps else None
                if mapped is not None:
                    return mapped
                return _convert(table)
        finally:
            _tabular_cache.start_writes()

    def _apply_steps(self, table: pa.Table) -> pa.Table:
        return _tabular_steps.apply(table, self._definition)

    # --- transformations ------------------------------------------------------------------
    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows."""
        return self._with_step("take", count=_check_count("take", count))

    def skip(self, count: int) -> TabularDataset:
        """All but the first ``count`` rows."""
        return self._with_step("skip", count=_check_count("skip", count))

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Each row kept with ``probability`` (the same rows for the same ``seed``)."""
        return self._with_step(
            "sample", probability=_check_fraction("probability", probability), seed=_seed(seed)
        )

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[TabularDataset, TabularDataset]:
        """Two datasets: about ``percentage`` of the rows, and the rest (disjoint)."""
        fraction = _check_fraction("percentage", percentage)
        chosen = _seed(seed)
        return (
            self._with_step("split", percentage=fraction, seed=chosen, part=0),
            self._with_step("split", percentage=fraction, seed=chosen, part=1),
        )

    def keep_columns(
        self, columns: str | builtins.list[str], validate: bool = False
    ) -> TabularDataset:
        """Only these columns (with ``validate``, all must exist)."""
        return self._with_step("keep", columns=_columns("keep_columns", columns), validate=validate)

    def drop_columns(self, columns: str | builtins.list[str]) -> TabularDataset:
        """Without these columns (names that do not exist are ignored)."""
        return self._with_step("drop", columns=_columns("drop_columns", columns))

    def filter(self, expression: str) -> TabularDataset:
        """Rows where ``expression`` holds, e.g. ``"age >= 18 and country in ('FR', 'DE')"``
        (see :mod:`atelier.core.data_expr` for the language; never evaluated as Python)."""
        parse_filter(expression)  # a malformed expression fails now, not at read time
        return self._with_step("filter", expression=expression)

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """Name the columns holding time (``fine_grain_timestamp`` is azureml's old name),
        for ``time_between`` and ``time_recent``."""
        timestamp = timestamp or kwargs.get("fine_grain_timestamp")
        partition_timestamp = partition_timestamp or kwargs.get("coarse_grain_timestamp")
        definition = self.definition
        definition["timestamp"] = {"fine": timestamp, "coarse": partition_timestamp}
        derived = self._derived(definition)
        if validate:
            names = derived.take(0).to_arrow().column_names
            for column in (timestamp, partition_timestamp):
                if column is not None and column not in names:
                    raise ValidationError(f"timestamp column {column!r} is not in {names}")
        return derived

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        stamp = self._definition.get("timestamp") or {}
        return stamp.get("fine"), stamp.get("coarse")

    def time_between(
        self,
        start_time: datetime | str,
        end_time: datetime | str,
        include_boundary: bool = True,
        validate: bool = True,
    ) -> TabularDataset:
        """Rows whose timestamp column lies between the two times."""
        del validate
        self._require_timestamp()
        return self._with_step(
            "time", start=_iso(start_time), end=_iso(end_time), include=include_boundary
        )

    def time_before(
        self, end_time: datetime | str, include_boundary: bool = True
    ) -> TabularDataset:
        self._require_timestamp()
        return self._with_step("time", start=None, end=_iso(end_time), include=include_boundary)

    def time_after(
        self, start_time: datetime | str, include_boundary: bool = True
    ) -> TabularDataset:
        self._require_timestamp()
        return self._with_step("time", start=_iso(start_time), end=None, include=include_boundary)

    def time_recent(self, time_delta: timedelta, include_boundary: bool = True) -> TabularDataset:
        """Rows of the last ``time_delta`` before now (now as of this call)."""
        if not isinstance(time_delta, timedelta):
            raise ValidationError("time_recent takes a datetime.timedelta")
        self._require_timestamp()
        start = datetime.now() - time_delta  # naive local time, as CSV times usually are
        return self._with_step("time", start=start.isoformat(), end=None, include=include_boundary)

    def _require_timestamp(self) -> None:
        if not any(self.timestamp_columns):
            raise ValidationError(
                "this dataset has no timestamp column; call "
                "with_timestamp_columns(timestamp='column') first"
            )

    # --- looking at it ------------------------------------------------------------------------
    def profile(self) -> DatasetProfile:
        """Per column: type, count, missing, distinct, min/max/mean/std, quantiles, top values."""
        return profile_table(self.to_arrow())

    get_profile = profile

    # --- converting ------------------------------------------------------------------------------
    def to_parquet_files(self, target: Any = None) -> FileDataset:
        """Write the data as Parquet and return a ``FileDataset`` of the written file."""
        return self._write_files("parquet", target, ",")

    def to_csv_files(self, separator: str = ",", target: Any = None) -> FileDataset:
        """Write the data as CSV and return a ``FileDataset`` of the written file."""
        return self._write_files("csv", target, separator)

    def _write_files(self, kind: str, target: Any, separator: str) -> FileDataset:
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        table = self.to_arrow()
        buffer = io.BytesIO()
        if kind == "parquet":
            pq.write_table(table, buffer)
        else:
            pcsv.write_csv(table, buffer, pcsv.WriteOptions(delimiter=separator))
        name = f"part-00000.{kind}"
        if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], Datastore):
            target = DataPath(target[0], str(target[1]))
        if target is None and self._workspace is not None:
            target = DataPath(self._workspace.get_default_datastore(), "converted")
        if isinstance(target, DataPath):
            folder = f"{target.path_on_datastore}/{uuid.uuid4().hex}".strip("/")
            target.datastore._files().write_bytes(f"{folder}/{name}", buffer.getvalue())
            return FileDataset._from_sources(
                [{"datastore": target.datastore.name, "path": folder}], target.datastore.workspace
            )
        folder_path = (
            Path(target) if target is not None else Path(tempfile.mkdtemp(prefix="atelier-"))
        )
        folder_path.mkdir(parents=True, exist_ok=True)
        (folder_path / name).write_bytes(buffer.getvalue())
        return FileDataset._from_sources([{"local": str(folder_path.resolve())}], None)


def _convert(table: pa.Table) -> pd.DataFrame:
    """The table as a frame that owns its numbers. The Arrow buffers are released column by
    column as pandas takes them over, and text stays in Arrow memory (pandas' own string
    dtype): nothing is held twice; except on a first read, whose table the cache is written
    from once the frame is made."""
    frame: pd.DataFrame = _own_numbers(table).to_pandas(
        self_destruct=not _tabular_cache.writing(),
        split_blocks=True,
        date_as_object=False,
        types_mapper=_string_dtypes(),
    )
    return frame


def _own_numbers(table: pa.Table) -> pa.Table:
    """The table with every single-chunk numeric column given an empty second chunk.

    pandas takes a single-chunk numeric column without nulls over without a copy, as a
    read-only array (``df.loc[0, 'x'] = 1`` then fails) that may point into a cache file's
    memory map. With two chunks, ``to_pandas`` copies the values into a writable array that
    the frame owns (and frees the Arrow column as it goes): one copy, as for any column
    read in several blocks."""
    import pyarrow as pa

    for index, column in enumerate(table.columns):
        kind = column.type
        if column.num_chunks != 1 or len(column) == 0:
            continue
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_timestamp(kind)
            or pa.types.is_duration(kind)
            or pa.types.is_date64(kind)
        ):
            continue
        chunk = column.chunk(0)
        table = table.set_column(
            index, table.schema.field(index), pa.chunked_array([chunk, chunk.slice(0, 0)], kind)
        )
    return table


def _string_dtypes() -> Any:
    """Map Arrow text to pandas' Arrow-backed string dtype: the default ``str`` dtype of
    pandas 3, the opt-in ``string[pyarrow]`` before it."""
    import pandas as pd
    import pyarrow as pa

    if int(pd.__version__.split(".")[0]) >= 3:
        dtype = pd.StringDtype("pyarrow", na_value=float("nan"))
    else:
        dtype = pd.StringDtype("pyarrow")
    return {pa.string(): dtype, pa.large_string(): dtype}.get


class _SqlLabel:
    key = "the SQL query's result"
