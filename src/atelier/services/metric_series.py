"""A scalar metric series for a chart: read as arrays and, when long, thinned on the
server to a few thousand points that keep each stretch's first, last, lowest and highest
value, so spikes stay visible however long the series is."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.names import check_metric_name
from atelier.services import run_records
from atelier.store.models import MetricChunkRow

MAX_POINTS = 20_000


def keep_extremes(values: Any, points: int) -> Any:
    """Indices (sorted, unique) of at most ``points`` entries of ``values``: per bucket,
    its first, last, minimum and maximum. NaN never counts as an extreme."""
    import numpy as np

    count = len(values)
    if count <= points:
        return np.arange(count)
    buckets = max(1, points // 4)
    width = math.ceil(count / buckets)
    buckets = math.ceil(count / width)
    padded = np.full(buckets * width, np.nan)
    padded[:count] = values
    grid = padded.reshape(buckets, width)
    starts = np.arange(buckets) * width
    lows = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1) + starts
    highs = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1) + starts
    lasts = np.minimum(starts + width - 1, count - 1)
    chosen = np.unique(np.concatenate([starts, lows, highs, lasts]))
    return chosen[chosen < count]


def _clean(array: Any) -> list[float | None]:
    return [None if not math.isfinite(v) else v for v in array.tolist()]


def chart_series(
    session: Session, workspace: str, run_id: str, name: str, points: int = 4000
) -> dict[str, Any]:
    """``{"name", "count", "steps", "values", "timestamps_ms"}`` of at most ``points``
    points of the series (``count`` is its full length); NaN and infinities are null."""
    import numpy as np

    check_metric_name(name)
    if not 10 <= points <= MAX_POINTS:
        raise ValidationError(f"points must be between 10 and {MAX_POINTS}, got {points}")
    run_records.get(session, workspace, run_id)
    query = (
        select(MetricChunkRow.steps, MetricChunkRow.values, MetricChunkRow.timestamps)
        .where(MetricChunkRow.run_id == run_id, MetricChunkRow.name == name)
        .order_by(MetricChunkRow.id)
    )
    parts = session.execute(query).all()
    if not parts:
        raise NotFoundError(f"run {run_id!r} has no scalar metric {name!r}")
    steps = np.concatenate([np.frombuffer(p[0], dtype="<i8") for p in parts])
    values = np.concatenate([np.frombuffer(p[1], dtype="<f8") for p in parts])
    stamps = np.concatenate([np.frombuffer(p[2], dtype="<i8") for p in parts])
    chosen = keep_extremes(values, points)
    return {
        "name": name,
        "count": len(values),
        "steps": steps[chosen].tolist(),
        "values": _clean(values[chosen]),
        "timestamps_ms": stamps[chosen].tolist(),
    }
