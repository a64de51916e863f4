"""Turning the SDK's flexible filter arguments into a ``RunQuery``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from atelier.core.errors import ValidationError
from atelier.core.records import RunQuery
from atelier.core.status import RunStatus


def key_filter(kind: str, value: Any) -> dict[str, str | None]:
    """azureml's filters: ``'key'``, a list of ``'key'`` (presence) and ``['key', 'value']``
    (equality) items, or ``{'key': 'value'}`` (None = presence)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, dict):
        return {str(k): (None if v is None else str(v)) for k, v in value.items()}
    if isinstance(value, Iterable):
        wanted: dict[str, str | None] = {}
        for item in value:
            if isinstance(item, str):
                wanted[item] = None
            elif isinstance(item, list | tuple) and len(item) == 2:
                wanted[str(item[0])] = str(item[1])
            else:
                break
        else:
            return wanted
    raise ValidationError(
        f"{kind} filter must be 'key', a list of 'key' and ['key', 'value'] items, "
        f"or a dict; not {value!r}"
    )


def statuses(value: str | Iterable[str] | None) -> tuple[RunStatus, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    try:
        return tuple(RunStatus(item) for item in items)
    except ValueError as exc:
        raise ValidationError(
            f"unknown status in {items!r}; use {', '.join(s.value for s in RunStatus)}"
        ) from exc


def order(order_by: str | tuple[str, str] | None) -> tuple[str | None, bool]:
    """``'accuracy'``, ``'accuracy desc'`` or ``('loss', 'asc')`` -> (metric, descending)."""
    if order_by is None:
        return None, True
    if isinstance(order_by, str):
        parts = order_by.rsplit(" ", 1)
        if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
            return parts[0], parts[1].lower() == "desc"
        return order_by, True
    name, direction = order_by
    if direction.lower() not in ("asc", "desc"):
        raise ValidationError(f"order direction {direction!r} must be 'asc' or 'desc'")
    return name, direction.lower() == "desc"


def build(
    *,
    tags: Any = None,
    properties: Any = None,
    status: str | Iterable[str] | None = None,
    include_children: bool = False,
    parent_run_id: str | None = None,
    order_by: str | tuple[str, str] | None = None,
    top: int | None = None,
    with_latest_metrics: bool = False,
    run_type: str | None = None,
) -> RunQuery:
    metric, descending = order(order_by)
    if top is not None and (not isinstance(top, int) or top < 1):
        raise ValidationError(f"top must be a positive whole number, not {top!r}")
    return RunQuery(
        status=statuses(status),
        run_type=run_type,
        tags=key_filter("tags", tags),
        properties=key_filter("properties", properties),
        include_children=include_children,
        parent_run_id=parent_run_id,
        order_by_metric=metric,
        descending=descending,
        limit=top,
        with_latest_metrics=with_latest_metrics,
    )
