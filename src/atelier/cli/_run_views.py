"""Turning runs and their metrics into rows and JSON objects for ``atelier run``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any

from atelier import Run
from atelier.core.errors import ValidationError
from atelier.core.status import RunStatus
from atelier.core.timeutil import ms_to_iso

#: metric columns shown by ``run list`` in a table; JSON carries them all
MAX_METRIC_COLUMNS = 6


def parse_tags(values: Iterable[str]) -> dict[str, str | None]:
    """``["k=v", "k2"]`` -> ``{"k": "v", "k2": None}`` (None: the tag only has to be set)."""
    wanted: dict[str, str | None] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not key.strip():
            raise ValidationError(
                f"tag filter {value!r} has no key; use --tag key or --tag key=value"
            )
        wanted[key.strip()] = tag_value if sep else None
    return wanted


def parse_statuses(values: Iterable[str]) -> list[str]:
    """Status names in any letter case -> azureml's spelling (``completed`` -> ``Completed``)."""
    known = {status.value.lower(): status.value for status in RunStatus}
    spelled = []
    for value in values:
        if value.lower() not in known:
            raise ValidationError(
                f"unknown run status {value!r}; use one of {', '.join(known.values())}"
            )
        spelled.append(known[value.lower()])
    return spelled


def run_summary(run: Run) -> dict[str, Any]:
    """What ``run list`` shows of a run, from the record ``Run.list`` already loaded.

    ``Run.get_details()`` would cost one more query per run; the record has the times.
    """
    record = run._record
    return {
        "runId": record.run_id,
        "number": record.number,
        "displayName": record.display_name,
        "experiment": record.experiment_name,
        "status": record.status.value,
        "parentRunId": record.parent_run_id,
        "startTimeUtc": ms_to_iso(record.started_ms),
        "endTimeUtc": ms_to_iso(record.ended_ms),
        "tags": dict(record.tags),
        "latestMetrics": run.latest_metrics,
    }


def metric_columns(summaries: Iterable[Mapping[str, Any]], first: str | None) -> list[str]:
    """Every metric name the runs logged, sorted, with the ordering metric first."""
    names = sorted({name for s in summaries for name in s["latestMetrics"]})
    if first is not None and first in names:
        names.remove(first)
        names.insert(0, first)
    return names


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def metric_row(name: str, value: Any) -> tuple[Any, ...]:
    """``(name, kind, count, last, min, max)`` for one value of ``Run.get_metrics``.

    A number is a single value and a list of numbers a series; for other lists, tables
    (dicts of columns, last = the last row) and image file names only count and last.
    """
    if _is_number(value):
        return (name, "scalar", 1, value, value, value)
    if isinstance(value, list):
        if value and all(_is_number(v) for v in value):
            return (name, "series", len(value), value[-1], min(value), max(value))
        return (name, "list", len(value), value[-1] if value else None, None, None)
    if isinstance(value, dict) and "schema_type" in value:  # a confusion matrix and the like
        return (name, str(value["schema_type"]), 1, value.get("data"), None, None)
    if isinstance(value, dict):
        rows = max(
            (len(column) for column in value.values() if isinstance(column, list)), default=0
        )
        last_row = {
            col: cells[-1] for col, cells in value.items() if isinstance(cells, list) and cells
        }
        return (name, "table", rows, last_row, None, None)
    if isinstance(value, str) and value.startswith("images/"):
        return (name, "image", 1, value, None, None)
    kind = "text" if isinstance(value, str | bool) else type(value).__name__  # run.log text
    return (name, kind, 1, value, None, None)


def detail_fields(details: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar fields of ``Run.get_details()`` for a ``field | value`` table."""
    error = details.get("error")
    fields: dict[str, Any] = {
        key: details[key]
        for key in (
            "runId",
            "displayName",
            "number",
            "experiment",
            "parentRunId",
            "runType",
            "target",
            "status",
            "createdTimeUtc",
            "startTimeUtc",
            "endTimeUtc",
        )
    }
    if error:
        fields["error"] = f"{error.get('code', '')}: {error.get('message', '')}"
    fields["children"] = "\n".join(details.get("children", []))
    fields["files"] = "\n".join(details.get("files", []))
    return fields
