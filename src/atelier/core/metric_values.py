"""Validation of metric values: scalar batches (the one rule every entry point applies:
SDK, REST and MLflow), and the JSON-typed lists, rows and tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

from atelier.core.errors import ValidationError

MAX_CELLS = 250_000
Cell = float | int | str | bool | None
#: steps and timestamps are stored as signed 64-bit integers
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _is_bool_type(kind: type) -> bool:
    # numpy's bool_ is not a subclass of bool; recognised by name to keep numpy out of core
    return issubclass(kind, bool) or kind.__name__ == "bool_"


def check_scalar_batch(
    name: str, steps: Sequence[object], values: Sequence[object], stamps: Sequence[object]
) -> None:
    """A batch of scalar points, refused (``ValidationError``) unless every value is a real
    number and not a bool (``True`` is not 1.0: log it with run.tag() or run.log_list()),
    and every step and timestamp is a whole number that fits in 64 bits."""
    dtype = getattr(values, "dtype", None)
    kinds = {dtype.type} if dtype is not None else set(map(type, values))
    for kind in kinds:
        if _is_bool_type(kind) or not issubclass(kind, Real):
            raise ValidationError(
                f"metric {name!r} must hold finite numbers, not {kind.__name__} values; "
                "log text or flags with run.tag() or run.log_list()"
            )
    for what, numbers in (("steps", steps), ("timestamps", stamps)):
        if getattr(numbers, "dtype", None) is None and not _fit_int64(numbers):
            raise ValidationError(
                f"metric {name!r}: {what} must be whole numbers from {INT64_MIN} to "
                f"{INT64_MAX} (64-bit); timestamps are milliseconds since 1970"
            )


def _fit_int64(numbers: Sequence[object]) -> bool:
    try:
        return not numbers or (min(numbers) >= INT64_MIN and max(numbers) <= INT64_MAX)  # type: ignore[type-var, operator]
    except TypeError:  # not numbers at all
        return False


def _cell(name: str, value: object) -> Cell:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError(f"metric {name!r} contains {number!r}; only finite numbers")
        return number
    raise ValidationError(
        f"metric {name!r} holds a {type(value).__name__}; cells must be numbers, strings, "
        "bools or None"
    )


def check_list(name: str, values: object) -> list[Cell]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(f"log_list({name!r}) needs a list of values, not {values!r}")
    cells = [_cell(name, v) for v in values]
    if len(cells) > MAX_CELLS:
        raise ValidationError(f"log_list({name!r}) has {len(cells)} values; limit {MAX_CELLS}")
    return cells


def check_row(name: str, columns: dict[str, Any]) -> dict[str, Cell]:
    if not columns:
        raise ValidationError(f"log_row({name!r}) needs at least one column, e.g. epoch=1")
    return {str(col): _cell(name, v) for col, v in columns.items()}


def check_table(name: str, table: object) -> dict[str, list[Cell]]:
    if not isinstance(table, dict) or not table:
        raise ValidationError(f"log_table({name!r}) needs a dict of column name to list")
    clean = {str(col): check_list(name, values) for col, values in table.items()}
    lengths = {len(values) for values in clean.values()}
    if len(lengths) > 1:
        raise ValidationError(
            f"log_table({name!r}) columns have different lengths {sorted(lengths)}; "
            "give every column the same number of values"
        )
    if sum(len(v) for v in clean.values()) > MAX_CELLS:
        raise ValidationError(f"log_table({name!r}) has more than {MAX_CELLS} cells")
    return clean
