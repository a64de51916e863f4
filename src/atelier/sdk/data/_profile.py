"""A tabular dataset's profile: per column its type, counts, range, moments, quantiles and
most frequent values, computed with pyarrow."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
TOP_VALUES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnProfile:
    """What one column holds. Numbers (and times, for min/max) only where they apply."""

    name: str
    type: str
    count: int
    missing: int
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    top_values: list[tuple[Any, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """``profile.columns['age'].mean``; ``profile.to_pandas()`` for a table of it."""

    row_count: int
    columns: dict[str, ColumnProfile]

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for column in self.columns.values():
            row = asdict(column)
            row["quantiles"] = {str(k): v for k, v in column.quantiles.items()}
            rows.append(row)
        return pd.DataFrame(rows).set_index("name")

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]


def profile_table(table: pa.Table) -> DatasetProfile:
    return DatasetProfile(
        row_count=table.num_rows,
        columns={name: _column(name, table.column(name)) for name in table.column_names},
    )


def _column(name: str, column: Any) -> ColumnProfile:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    missing = column.null_count
    present = len(column) - missing
    distinct = int(pc.count_distinct(column, mode="only_valid").as_py())
    extra: dict[str, Any] = {}
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    ordered = numeric or pa.types.is_temporal(kind) or pa.types.is_string(kind)
    if present and ordered:
        bounds = pc.min_max(column)
        extra["min"] = bounds["min"].as_py()
        extra["max"] = bounds["max"].as_py()
    if present and numeric:
        extra["mean"] = _float(pc.mean(column))
        extra["std"] = _float(pc.stddev(column, ddof=1)) if present > 1 else None
        values = pc.quantile(column, q=list(QUANTILES), interpolation="linear").to_pylist()
        extra["quantiles"] = dict(zip(QUANTILES, values, strict=True))
    if present and not pa.types.is_floating(kind):
        counts = pc.value_counts(column.drop_null())
        ranked = sorted(
            zip(
                counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
            ),
            key=lambda pair: (-pair[1], str(pair[0])),
        )
        extra["top_values"] = ranked[:TOP_VALUES]
    return ColumnProfile(
        name=name, type=str(kind), count=present, missing=missing, distinct=distinct, **extra
    )


def _float(value: Any) -> float | None:
    result = value.as_py()
    return None if result is None else float(result)
