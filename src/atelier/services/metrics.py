"""Metrics: scalar series stored as packed chunks, and JSON-typed entries.

A scalar series arrives in batches (one per flush of the SDK's background writer).
Each batch becomes one ``metric_chunks`` row holding three little-endian arrays, so
writing 100,000 points is one insert and reading a million is a handful of rows.
``metric_latest`` keeps each series' last point for listing and ordering runs.
"""

from __future__ import annotations

import array
import math
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.metric_values import check_list, check_row, check_scalar_batch, check_table
from atelier.core.names import check_metric_name
from atelier.core.timeutil import now_ms
from atelier.core.typed_metrics import check_document, check_text
from atelier.services import runs
from atelier.store.dialect import upsert_latest_metrics
from atelier.store.models import MetricChunkRow, MetricDocumentRow

#: one series in one batch: steps, values, timestamps (ms)
ScalarBatch = tuple[Sequence[int], Sequence[float], Sequence[int]]
#: "text": a string or bool logged with run.log; "typed": azureml's confusion matrices,
#: accuracy tables, residuals and predictions
DOCUMENT_KINDS = ("list", "row", "table", "image", "text", "typed")


#: batches up to this many points are packed without numpy: importing it (0.15-0.2 s) cost
#: more than a short run (a sweep's trial logging a few points) spent on everything else
_SMALL_BATCH = 4096


def _packed(typecode: str, items: Any) -> bytes:
    data = array.array(typecode, items)
    if sys.byteorder == "big":
        data.byteswap()  # stored little-endian whatever the machine
    return data.tobytes()


def _pack(steps: Any, values: Any, stamps: Any) -> tuple[bytes, bytes, bytes]:
    if len(values) <= _SMALL_BATCH:
        return _packed("q", steps), _packed("d", values), _packed("q", stamps)
    import numpy as np

    return (
        np.asarray(steps, dtype="<i8").tobytes(),
        np.asarray(values, dtype="<f8").tobytes(),
        np.asarray(stamps, dtype="<i8").tobytes(),
    )


def _latest_value(value: float) -> float | None:
    """NaN is kept as NULL in ``metric_latest`` (SQLite cannot store it, and NULL sorts last
    on every database); the series' chunks keep it exactly. Infinities are stored as such."""
    return None if math.isnan(value) else value


def _bound(values: Sequence[float], which: str) -> float:
    """The least or greatest value that is not NaN (NaN if all are)."""
    if len(values) > _SMALL_BATCH:
        import numpy as np

        array_values = np.asarray(values, dtype="<f8")
        numbers = array_values[~np.isnan(array_values)]
        if not numbers.size:
            return math.nan
        return float(numbers.min() if which == "min" else numbers.max())
    numbers_list = [v for v in values if not math.isnan(v)]
    if not numbers_list:
        return math.nan
    return float(min(numbers_list) if which == "min" else max(numbers_list))


def log_scalars(
    session: Session, workspace: str, run_id: str, series: dict[str, ScalarBatch]
) -> int:
    """Append batches of scalar points; return how many points were stored."""
    run = runs.require_writable(session, workspace, run_id)
    chunks: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    total = 0
    for name, (steps, values, stamps) in series.items():
        check_metric_name(name)
        count = len(values)
        if count == 0:
            continue
        if len(steps) != count or len(stamps) != count:
            raise ValidationError(f"metric {name!r}: steps, values and timestamps differ in length")
        check_scalar_batch(name, steps, values, stamps)
        value_array = values if count > _SMALL_BATCH else [float(v) for v in values]
        packed = _pack(steps, value_array, stamps)
        chunks.append(
            {
                "run_id": run_id,
                "name": name,
                "count": count,
                "steps": packed[0],
                "values": packed[1],
                "timestamps": packed[2],
            }
        )
        latest.append(
            {
                "run_id": run_id,
                "name": name,
                "experiment_id": run.experiment_id,
                "value": _latest_value(float(value_array[-1])),
                "step": int(steps[-1]),
                "timestamp_ms": int(stamps[-1]),
                "count": count,
                "min_value": _latest_value(_bound(value_array, "min")),
                "max_value": _latest_value(_bound(value_array, "max")),
            }
        )
        total += count
    if chunks:
        session.execute(insert(MetricChunkRow), chunks)
        upsert_latest_metrics(session, latest)
    return total


def log_documents(
    session: Session, workspace: str, run_id: str, entries: list[tuple[str, str, Any]]
) -> None:
    """Append JSON-typed entries: (name, kind, value); kinds are in ``DOCUMENT_KINDS``."""
    runs.require_writable(session, workspace, run_id)
    stamp = now_ms()
    rows = []
    for name, kind, value in entries:
        check_metric_name(name)
        if kind == "list":
            payload: dict[str, Any] = {"value": check_list(name, value)}
        elif kind == "row":
            payload = {"value": check_row(name, value)}
        elif kind == "table":
            payload = {"value": check_table(name, value)}
        elif kind == "image":
            payload = {"value": str(value)}
        elif kind == "text":
            payload = {"value": check_text(name, value)}
        elif kind == "typed":
            payload = {"value": check_document(name, value)}
        else:
            raise ValidationError(f"metric kind {kind!r} is not one of {DOCUMENT_KINDS}")
        rows.append(
            {"run_id": run_id, "name": name, "kind": kind, "payload": payload, "created_ms": stamp}
        )
    if rows:
        session.execute(insert(MetricDocumentRow), rows)


def _series_arrays(
    session: Session, run_ids: list[str], name: str | None
) -> dict[tuple[str, str], list[tuple[bytes, bytes, bytes]]]:
    query = select(
        MetricChunkRow.run_id,
        MetricChunkRow.name,
        MetricChunkRow.steps,
        MetricChunkRow.values,
        MetricChunkRow.timestamps,
    ).where(MetricChunkRow.run_id.in_(run_ids))
    if name is not None:
        query = query.where(MetricChunkRow.name == name)
    grouped: dict[tuple[str, str], list[tuple[bytes, bytes, bytes]]] = {}
    for run_id, metric, steps, values, stamps in session.execute(query.order_by(MetricChunkRow.id)):
        grouped.setdefault((run_id, metric), []).append((steps, values, stamps))
    return grouped


def _documents_value(kind: str, payloads: list[Any]) -> Any:
    if kind == "row":
        columns: dict[str, list[Any]] = {}
        for index, row in enumerate(payloads):
            for col, cell in row.items():
                columns.setdefault(col, [None] * index).append(cell)
            for cells in columns.values():
                if len(cells) < index + 1:
                    cells.append(None)
        return columns
    if kind in ("image", "text"):
        return payloads[0] if len(payloads) == 1 else payloads
    return payloads[-1]  # a list or table logged again under the same name replaces it


def get_metrics(
    session: Session, workspace: str, run_ids: list[str], name: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per run, each metric's value: a number, a list for a series, a dict for rows/tables."""
    import numpy as np

    if name is not None:
        check_metric_name(name)
    runs.require_in_workspace(session, workspace, run_ids)
    result: dict[str, dict[str, Any]] = {run_id: {} for run_id in run_ids}
    for (run_id, metric), parts in _series_arrays(session, run_ids, name).items():
        values = np.concatenate([np.frombuffer(part[1], dtype="<f8") for part in parts])
        result[run_id][metric] = float(values[0]) if len(values) == 1 else values.tolist()
    query = select(
        MetricDocumentRow.run_id,
        MetricDocumentRow.name,
        MetricDocumentRow.kind,
        MetricDocumentRow.payload,
    ).where(MetricDocumentRow.run_id.in_(run_ids))
    if name is not None:
        query = query.where(MetricDocumentRow.name == name)
    documents: dict[tuple[str, str], tuple[str, list[Any]]] = {}
    for run_id, metric, kind, payload in session.execute(query.order_by(MetricDocumentRow.id)):
        documents.setdefault((run_id, metric), (kind, []))[1].append(payload["value"])
    for (run_id, metric), (kind, payloads) in documents.items():
        result[run_id][metric] = _documents_value(kind, payloads)
    return result


def get_history(session: Session, workspace: str, run_id: str, name: str) -> dict[str, list[Any]]:
    """A scalar series in logged order as columns: ``steps``, ``values``, ``timestamps_ms``."""
    import numpy as np

    check_metric_name(name)
    runs.get_rows(session, workspace, run_id)
    parts = _series_arrays(session, [run_id], name).get((run_id, name))
    if not parts:
        raise NotFoundError(f"run {run_id!r} has no scalar metric {name!r}")
    return {
        "steps": np.concatenate([np.frombuffer(p[0], dtype="<i8") for p in parts]).tolist(),
        "values": np.concatenate([np.frombuffer(p[1], dtype="<f8") for p in parts]).tolist(),
        "timestamps_ms": np.concatenate([np.frombuffer(p[2], dtype="<i8") for p in parts]).tolist(),
    }
