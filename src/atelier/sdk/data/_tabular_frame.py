"""A cached read as a pandas DataFrame without copying its numbers.

A read of a tabular dataset from its cache entry maps its columns of bare values (numbers,
dates, timestamps) copy-on-write (:class:`~atelier.sdk.data._tabular_load.PrivateMap`): a
column without nulls in one chunk becomes a writable NumPy array (a date or a timestamp
without time zone: ``datetime64``) over the mapping itself, so the frame costs no copy
and no fresh memory up front; pages come from the page cache as they are touched, and a
write goes to a private page of this process (the cache file never changes). Every other
column is converted by pyarrow as usual, and the two are put together block by block with
``pandas.api.internals.create_dataframe_from_blocks`` (pandas 3). Where that is not
possible the caller converts the whole table the usual way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from atelier.sdk.data._tabular_load import PrivateMap


def mapped_view(column: pa.ChunkedArray, maps: list[PrivateMap]) -> np.ndarray | None:
    """A writable array over the private mapping that holds ``column``'s values, or None
    (the column has nulls, several chunks, another type, or lies in no such mapping)."""
    import numpy as np

    dtype = _numpy_type(column.type)
    if column.num_chunks != 1 or column.null_count or dtype is None:
        return None
    chunk = column.chunk(0)
    data = chunk.buffers()[1]
    if data is None or len(chunk) == 0:
        return None
    start = data.address + chunk.offset * dtype.itemsize
    for found in maps:
        if found.address <= start and start + len(chunk) * dtype.itemsize <= (
            found.address + found.size
        ):
            return np.frombuffer(
                found.mapping, dtype=dtype, count=len(chunk), offset=start - found.address
            )
    return None


def _numpy_type(kind: pa.DataType) -> np.dtype[Any] | None:
    """The NumPy type pandas gives a column of ``kind``, for the types whose values NumPy
    holds as they are: numbers, ``date64`` (``datetime64[ms]``) and timestamps without a
    time zone (``datetime64`` of their unit)."""
    import numpy as np
    import pyarrow as pa

    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        found: np.dtype[Any] = np.dtype(kind.to_pandas_dtype())
        return found
    if pa.types.is_date64(kind):
        return np.dtype("datetime64[ms]")
    if pa.types.is_timestamp(kind) and kind.tz is None:
        return np.dtype(f"datetime64[{kind.unit}]")
    return None


def to_frame(
    table: pa.Table, maps: list[PrivateMap], convert: Callable[[pa.Table], pd.DataFrame]
) -> pd.DataFrame | None:
    """``table`` as a frame whose mapped numeric columns are not copied; the rest goes
    through ``convert``. None when no column can be taken over as it is mapped."""
    import numpy as np
    import pandas as pd

    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pandas before 3
        return None
    views = {
        index: view
        for index, column in enumerate(table.columns)
        if (view := mapped_view(column, maps)) is not None
    }
    if not views or table.num_columns != len(set(table.column_names)):
        return None
    others = [index for index in range(table.num_columns) if index not in views]
    blocks: list[tuple[Any, np.ndarray]] = [
        (view.reshape(1, -1), np.array([index], dtype=np.intp)) for index, view in views.items()
    ]
    if others:
        rest = convert(table.select(others))
        for block in rest._mgr.blocks:  # the converted columns' blocks, as pyarrow built them
            places = np.asarray([others[i] for i in block.mgr_locs.as_array], dtype=np.intp)
            blocks.append((block.values, places))
    index = pd.RangeIndex(table.num_rows)
    return create_dataframe_from_blocks(blocks, index=index, columns=pd.Index(table.column_names))
