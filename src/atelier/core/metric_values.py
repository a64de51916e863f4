"""Validation of the JSON-typed metric values: lists, rows and tables."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

from atelier.core.errors import ValidationError

MAX_CELLS = 250_000
Cell = float | int | str | bool | None


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
