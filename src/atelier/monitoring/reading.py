"""Reading what a detector compares: datasets as stored in its definition, the target's
timestamps, and an endpoint's collected inputs as a timestamped ``TabularDataset``."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.core.errors import NotFoundError, ValidationError
from atelier.monitoring.metrics import plan_features
from atelier.sdk.data.tabular_dataset import TabularDataset

if TYPE_CHECKING:
    import pyarrow as pa

    from atelier.sdk.workspace import Workspace

MODEL_DATA = "modeldata"
TIMESTAMP = "timestamp"


class CollectedDataset(TabularDataset):
    """The inputs an endpoint collected (``collect_model_data=True``), one row per scored
    input row, with the request's ``timestamp`` (UTC) as its timestamp column; read anew
    each time, so the latest batches are always in. Make one with :func:`collected_data`."""

    def _to_arrow(
        self, on_error: str, for_pandas: bool, private_maps: list[Any] | None = None
    ) -> pa.Table:
        """Every way of reading the dataset (``to_arrow``, ``to_pandas_dataframe``) reads
        the endpoint's batches here: there is no file source and no cache."""
        import pyarrow as pa

        del on_error, for_pandas, private_maps
        fmt = self._definition["format"]
        workspace = self._workspace
        if workspace is None:
            raise ValidationError("collected model data belongs to a workspace")
        rows: list[dict[str, Any]] = []
        files = workspace._backend.endpoints.model_data(
            workspace.name, fmt["endpoint"], fmt.get("deployment")
        )
        for _path, data in files:
            rows.extend(_rows(data, fmt.get("columns") or []))
        if not rows:
            columns = fmt.get("columns") or []
            table = pa.table(
                {
                    TIMESTAMP: pa.array([], pa.timestamp("ms", tz="UTC")),
                    **{c: pa.array([], pa.float64()) for c in columns},
                }
            )
        else:
            table = pa.Table.from_pylist(rows)
        return self._apply_steps(table)


def _rows(data: bytes, columns: list[str]) -> list[dict[str, Any]]:
    import io

    import pyarrow.parquet as pq

    found = []
    for request in pq.read_table(io.BytesIO(data)).to_pylist():
        if request.get("status") != 200:
            continue
        try:
            body = json.loads(request.get("input") or "null")
        except ValueError:
            continue
        items = body.get("data", body.get("input_data")) if isinstance(body, dict) else body
        if not isinstance(items, list):
            continue
        if items and not isinstance(items[0], list | dict):
            items = [items]  # one row sent flat
        for item in items:
            if isinstance(item, dict):
                row = {str(k): v for k, v in item.items()}
            elif isinstance(item, list):
                names = columns or [f"input_{i}" for i in range(len(item))]
                row = dict(zip(names, item, strict=False))
            else:
                continue
            row[TIMESTAMP] = request["timestamp"]
            found.append(row)
    return found


def collected_data(
    workspace: Workspace,
    endpoint: str,
    deployment: str | None = None,
    columns: list[str] | None = None,
) -> CollectedDataset:
    """An endpoint's collected inputs as a timestamped ``TabularDataset``: each request's
    ``data`` rows become rows (named by the keys of dict rows, or by ``columns`` for list
    rows), with ``timestamp``. The target of a detector of drift between training data
    and live inputs, without an export step. ``NotFoundError`` for an unknown endpoint."""
    workspace._backend.endpoints.get(workspace.name, endpoint)  # NotFoundError when absent
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
    ):
        raise ValidationError("columns must be a list of column names")
    definition = {
        "sources": [],
        "format": {
            "type": MODEL_DATA,
            "endpoint": endpoint,
            "deployment": deployment,
            "columns": columns,
        },
        "timestamp": {"fine": TIMESTAMP, "coarse": None},
    }
    return CollectedDataset(definition, workspace)


def stored_form(dataset: TabularDataset) -> dict[str, Any]:
    """How a detector keeps a dataset: its definition (and registration, when it has one)."""
    definition = dataset.definition
    key = (
        dataset.id
        or hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()[
            :32
        ]
    )
    fmt = definition.get("format") or {}
    if dataset.name:
        label = f"{dataset.name}:{dataset.version}"
    elif fmt.get("type") == MODEL_DATA:
        label = f"endpoint {fmt['endpoint']} (collected inputs)"
    else:
        label = "unregistered dataset"
    return {
        "definition": definition,
        "id": dataset.id,
        "name": dataset.name,
        "version": dataset.version,
        "key": key,
        "label": label,
    }


def stored_dataset(workspace: Workspace, form: dict[str, Any]) -> TabularDataset:
    definition = form["definition"]
    if (definition.get("format") or {}).get("type") == MODEL_DATA:
        return CollectedDataset(definition, workspace)
    return TabularDataset(definition, workspace)


def timestamp_column(dataset: TabularDataset) -> str:
    fine, coarse = dataset.timestamp_columns
    column = fine or coarse
    if column is None:
        raise ValidationError(
            "the target dataset has no timestamp column; call "
            "with_timestamp_columns(timestamp='column') first"
        )
    return column


def read_tables(
    baseline: TabularDataset,
    target: TabularDataset,
    feature_list: list[str] | None,
    sample_rows: int | None = None,
) -> tuple[pa.Table, pa.Table, list[tuple[str, str]], np.ndarray[Any, Any]]:
    """Both tables, the features to compare, and the target's timestamps (epoch ms, UTC).
    With ``sample_rows``, only that many rows of each (a check of the columns)."""
    stamp = timestamp_column(target)
    if sample_rows is not None:
        baseline, target = baseline.take(sample_rows), target.take(sample_rows)
    base_table = baseline.to_arrow()
    target_table = target.to_arrow()
    if stamp not in target_table.column_names:
        raise NotFoundError(
            f"the target's timestamp column {stamp!r} is not among its columns "
            f"{target_table.column_names}"
        )
    skip = (stamp, *baseline.timestamp_columns, *target.timestamp_columns)
    plan = plan_features(base_table.schema, target_table.schema, feature_list, skip)
    return base_table, target_table, plan, epoch_ms(target_table.column(stamp))


def epoch_ms(column: Any) -> np.ndarray[Any, Any]:
    """A timestamp column as milliseconds since the epoch in UTC (a time without a zone
    is taken as UTC); ``ValidationError`` for a column that holds no times."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            column = pc.cast(column, pa.timestamp("ms"))
        else:
            column = pc.cast(column, pa.timestamp("ms", tz=kind.tz))
    elif pa.types.is_date(kind):
        column = pc.cast(column, pa.timestamp("ms"))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pandas as pd

        parsed = pd.to_datetime(column.to_pandas(), utc=True, errors="coerce", format="mixed")
        # NaT (a value that is not a time) becomes int64's minimum: in no window
        stamps: np.ndarray[Any, Any] = (
            parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ms]").astype(np.int64)
        )
        return stamps
    else:
        raise ValidationError(f"the timestamp column holds {kind}, not dates or times")
    # a row without a time falls in no window
    missing = np.iinfo(np.int64).min
    values: np.ndarray[Any, Any] = pc.fill_null(pc.cast(column, pa.int64()), missing).to_numpy(
        zero_copy_only=False
    )
    return values
