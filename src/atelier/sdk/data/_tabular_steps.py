"""The recorded steps of a tabular dataset, applied to an Arrow table in order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from atelier.core.data_expr import compile_filter
from atelier.core.errors import ValidationError

if TYPE_CHECKING:
    import pyarrow as pa


def _mask(rows: int, probability: float, seed: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).random(rows) < probability


#: steps that only pick rows or columns, whatever the columns' types
TYPE_BLIND = frozenset({"take", "skip", "sample", "split", "keep", "drop"})


def type_blind(definition: dict[str, Any]) -> bool:
    """Whether the dataset's steps give the same rows and values whatever type a date
    column has (``date32`` or ``date64``): no filter compares them."""
    return all(step["op"] in TYPE_BLIND for step in definition.get("steps", []))


def apply(table: pa.Table, definition: dict[str, Any]) -> pa.Table:
    for step in definition.get("steps", []):
        table = _one(table, step, definition)
    return table


def _one(table: pa.Table, step: dict[str, Any], definition: dict[str, Any]) -> pa.Table:
    import pyarrow as pa

    op = step["op"]
    if op == "take":
        return table.slice(0, int(step["count"]))
    if op == "skip":
        return table.slice(int(step["count"]))
    if op == "sample":
        return table.filter(pa.array(_mask(table.num_rows, step["probability"], step["seed"])))
    if op == "split":
        mask = _mask(table.num_rows, step["percentage"], step["seed"])
        return table.filter(pa.array(mask if step["part"] == 0 else ~mask))
    if op == "keep":
        missing = [c for c in step["columns"] if c not in table.column_names]
        if missing and step.get("validate"):
            raise ValidationError(
                f"keep_columns: {missing} are not columns of the dataset ({table.column_names})"
            )
        return table.select([c for c in step["columns"] if c in table.column_names])
    if op == "drop":
        return table.drop_columns([c for c in step["columns"] if c in table.column_names])
    if op == "filter":
        return _filter(table, step["expression"])
    if op == "time":
        return _time(table, step, definition)
    raise ValidationError(f"unknown dataset step {op!r}; this version of Atelier cannot read it")


def _filter(table: pa.Table, expression: str) -> pa.Table:
    import pyarrow as pa

    compiled = compile_filter(expression, table.schema)
    try:
        return table.filter(compiled)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValidationError(
            f"filter {expression!r} does not fit the columns' types: "
            f"{str(exc).splitlines()[0]}; types are "
            f"{dict(zip(table.column_names, map(str, table.schema.types), strict=True))}"
        ) from None


def _time(table: pa.Table, step: dict[str, Any], definition: dict[str, Any]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    stamp = definition.get("timestamp") or {}
    column = stamp.get("fine") or stamp.get("coarse")
    if column not in table.column_names:
        raise ValidationError(f"timestamp column {column!r} is not in {table.column_names}")
    values = table.column(column)
    if not pa.types.is_timestamp(values.type):
        try:
            values = values.cast(pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValidationError(
                f"timestamp column {column!r} holds {values.type}, not times: {exc}; set its "
                f"type with set_column_types={{{column!r}: DataType.to_datetime()}}"
            ) from None
    condition = None
    include = bool(step.get("include", True))
    for key, inclusive, exclusive in (
        ("start", pc.greater_equal, pc.greater),
        ("end", pc.less_equal, pc.less),
    ):
        if step.get(key) is None:
            continue
        moment = datetime.fromisoformat(step[key])
        if values.type.tz is None and moment.tzinfo is not None:
            moment = moment.replace(tzinfo=None)
        bound = pa.scalar(moment, values.type)
        part = (inclusive if include else exclusive)(values, bound)
        condition = part if condition is None else pc.and_(condition, part)
    return table if condition is None else table.filter(condition)
