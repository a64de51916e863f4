"""Choosing the columns of ``atelier run list`` so that one run is one line at any width.

Columns are taken in order of use (id, status, name, started, experiment, metrics, ended,
number, parent) while they fit the terminal; ``--columns`` names them instead. When even
the first few do not fit with full run ids, ids are cut to their last 8 characters, which
``atelier run show`` and the other run commands accept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from atelier.cli._output import short_time, text
from atelier.core.errors import ValidationError

#: a display name longer than this is cut with an ellipsis in a table
NAME_WIDTH = 24
SHORT_ID = 8
#: what a table adds around each column: a border and a space either side
COLUMN_PADDING = 3

Getter = Callable[[Mapping[str, Any]], Any]

ATTRIBUTES: dict[str, Getter] = {
    "id": lambda s: s["runId"],
    "number": lambda s: s["number"],
    "experiment": lambda s: s["experiment"],
    "name": lambda s: s["displayName"],
    "status": lambda s: s["status"],
    "started": lambda s: short_time(s["startTimeUtc"]),
    "ended": lambda s: short_time(s["endTimeUtc"]),
    "parent": lambda s: s["parentRunId"],
}
HEADERS = {"id": "run id", "number": "#"}


def short_id(run_id: str) -> str:
    return run_id[-SHORT_ID:]


def cell(summary: Mapping[str, Any], column: str, short_ids: bool) -> Any:
    if column in ATTRIBUTES:
        value = ATTRIBUTES[column](summary)
        if short_ids and column in ("id", "parent") and value:
            return short_id(value)
        if column == "name" and value == summary["runId"]:
            return ""  # a run nobody named is called by its id: once is enough
        if column == "name" and len(value) > NAME_WIDTH:
            return value[: NAME_WIDTH - 1] + "…"
        return value
    return summary["latestMetrics"].get(column.removeprefix("metrics."))


def _width(summaries: Sequence[Mapping[str, Any]], column: str, short_ids: bool) -> int:
    header = HEADERS.get(column, column)
    cells = (len(text(cell(s, column, short_ids))) for s in summaries)
    return max(len(header), *cells, 1) + COLUMN_PADDING


def parse_columns(value: str, metrics: Sequence[str]) -> list[str]:
    """``"id,name,accuracy"`` -> the columns, each an attribute or a logged metric."""
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    choices = [*ATTRIBUTES, *metrics]
    for column in wanted:
        if column not in ATTRIBUTES and column.removeprefix("metrics.") not in metrics:
            raise ValidationError(
                f"unknown column {column!r} for --columns; choose from {', '.join(choices)}"
            )
    if not wanted:
        raise ValidationError(f"--columns is empty; choose from {', '.join(choices)}")
    return wanted


def fit_columns(
    summaries: Sequence[Mapping[str, Any]],
    metrics: Sequence[str],
    width: int,
    *,
    with_experiment: bool,
    with_parent: bool,
) -> tuple[list[str], bool]:
    """(columns in display order, whether ids are shortened) fitting ``width``."""
    priority = ["id", "status", "name", "started"]
    priority += ["experiment"] if with_experiment else []
    priority += ["parent"] if with_parent else []
    priority += [*metrics, "ended", "number"]
    essential = priority[:4]
    short_ids = 1 + sum(_width(summaries, c, False) for c in essential) > width
    used = 1
    chosen: set[str] = set()
    for column in priority:
        needed = _width(summaries, column, short_ids)
        if column in essential or used + needed <= width:
            chosen.add(column)
            used += needed
    order = ["id", "number", "experiment", "name", "status", "started", "ended", "parent"]
    return [c for c in [*order, *metrics] if c in chosen], short_ids
