"""Run records and metric series as pandas DataFrames (the body of ``search_runs``,
``Experiment.get_runs_dataframe`` and ``Run.get_metrics_dataframe``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.records import RunRecord
from atelier.sdk.tracking._filter import apply_filter, parse_order

if TYPE_CHECKING:
    import pandas as pd


def runs_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per run record: attributes, then ``metrics.*``, ``params.*``, ``tags.*``."""
    import numpy as np
    import pandas as pd

    rows = list(records)
    count = len(rows)
    columns: dict[str, Any] = {
        "run_id": [r.run_id for r in rows],
        "experiment_id": [r.experiment_id for r in rows],
        "status": [r.status.value for r in rows],
        "start_time": pd.to_datetime(
            pd.array([r.started_ms for r in rows], dtype="Int64"), unit="ms", utc=True
        ),
        "end_time": pd.to_datetime(
            pd.array([r.ended_ms for r in rows], dtype="Int64"), unit="ms", utc=True
        ),
        "display_name": [r.display_name for r in rows],
        "experiment": [r.experiment_name for r in rows],
        "run_number": np.array([r.number for r in rows], dtype=np.int64),
        "parent_run_id": [r.parent_run_id for r in rows],
    }
    metrics: dict[str, np.ndarray[Any, Any]] = {}
    texts: dict[str, dict[str, list[str | None]]] = {"params": {}, "tags": {}}
    for index, record in enumerate(rows):
        for name, value in (record.latest_metrics or {}).items():
            series = metrics.get(name)
            if series is None:
                series = metrics[name] = np.full(count, np.nan)
            series[index] = value
        for kind, values in (("params", record.properties), ("tags", record.tags)):
            for key, text in values.items():
                column = texts[kind].get(key)
                if column is None:
                    column = texts[kind][key] = [None] * count
                column[index] = text
    for name in sorted(metrics):
        columns[f"metrics.{name}"] = metrics[name]
    for kind in ("params", "tags"):
        for key in sorted(texts[kind]):
            columns[f"{kind}.{key}"] = texts[kind][key]
    return pd.DataFrame(columns)


def select(
    records: Sequence[RunRecord],
    filter: str | None,
    order_by: str | Sequence[str] | None,
    max_results: int | None,
) -> pd.DataFrame:
    """The frame of ``records`` filtered, ordered (missing values and NaN last) and cut."""
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise ValidationError(f"max_results must be a positive whole number, not {max_results!r}")
    frame = runs_frame(records)
    if filter:
        frame = apply_filter(frame, filter)
    if order_by:
        # with no run there is nothing to order, and no column to check the names against
        order = parse_order(order_by, list(frame.columns), columns_known=not frame.empty)
        if frame.empty:
            return frame.reset_index(drop=True)
        frame = frame.sort_values(
            by=[column for column, _ in order],
            ascending=[ascending for _, ascending in order],
            na_position="last",
            kind="stable",
        )
    if max_results is not None:
        frame = frame.head(max_results)
    return frame.reset_index(drop=True)


def history_frame(histories: Mapping[str, Mapping[str, Sequence[Any]]]) -> pd.DataFrame:
    """Every point of scalar series (name -> ``get_metric_history``'s columns) in long form:
    ``name``, ``step``, ``value``, ``timestamp`` (UTC)."""
    import pandas as pd

    parts = [
        pd.DataFrame(
            {
                "name": metric,
                "step": pd.array(history["steps"], dtype="int64"),
                "value": pd.array(history["values"], dtype="float64"),
                "timestamp": pd.to_datetime(
                    pd.array(history["timestamps_ms"], dtype="int64"), unit="ms", utc=True
                ),
            }
        )
        for metric, history in histories.items()
    ]
    if not parts:
        return pd.DataFrame(
            {
                "name": pd.Series(dtype="object"),
                "step": pd.Series(dtype="int64"),
                "value": pd.Series(dtype="float64"),
                "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
            }
        )
    return pd.concat(parts, ignore_index=True)
