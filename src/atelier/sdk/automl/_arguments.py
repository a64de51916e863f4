"""Reading AutoML's arguments: numbers in range, the training and validation frames
from azureml's several ways of giving them, and the experiment's time budget. Shared by
``AutoMLConfig`` and ``AutoMLRun.continue_experiment``."""

from __future__ import annotations

import math
from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["is_tabular", "number", "refuse", "timeout", "training", "validation"]

#: azureml's default budget when none is given: six days
_DEFAULT_TIMEOUT_MINUTES = 6 * 24 * 60


def refuse(given: dict[str, Any], what: str) -> None:
    """``ValidationError`` for the first azureml argument of ``given`` that was passed
    (not None): Atelier does not take it (yet)."""
    for name, value in given.items():
        if value is not None:
            raise ValidationError(f"{what}: {name} is not supported by Atelier's AutoML yet")


def number(name: str, value: Any, low: float, integral: bool = False) -> Any:
    bad = isinstance(value, bool) or not isinstance(value, int | float)
    if bad or not math.isfinite(value) or value < low or (integral and value != int(value)):
        kind = "a whole number" if integral else "a number"
        raise ValidationError(f"{name} must be {kind} >= {low}, got {value!r}")
    return int(value) if integral else float(value)


def is_tabular(data: Any) -> bool:
    return hasattr(data, "to_pandas_dataframe")


def training(data: Any, X: Any, y: Any, label: str | None) -> tuple[Any, str]:
    import pandas as pd

    if data is None and X is not None:
        if y is None:
            raise ValidationError("X needs y (or pass training_data with label_column_name)")
        frame = pd.DataFrame(X).copy()
        label = label or "y"
        frame[label] = list(y)
        return frame, label
    if data is None:
        raise ValidationError("AutoMLConfig needs training_data (a TabularDataset or DataFrame)")
    if not (isinstance(data, pd.DataFrame) or is_tabular(data)):
        raise ValidationError(
            "training_data must be a TabularDataset or a pandas DataFrame, not "
            f"{type(data).__name__}"
        )
    if not isinstance(label, str) or not label:
        raise ValidationError("label_column_name must name the column to predict")
    return data, label


def validation(data: Any, X: Any, y: Any, label: str) -> Any:
    import pandas as pd

    if data is None and X is not None:
        frame = pd.DataFrame(X).copy()
        frame[label] = list(y)
        return frame
    if data is not None and not (isinstance(data, pd.DataFrame) or is_tabular(data)):
        raise ValidationError("validation_data must be a TabularDataset or a pandas DataFrame")
    return data


def timeout(hours: Any, kwargs: dict[str, Any]) -> float:
    minutes = kwargs.get("experiment_timeout_minutes")
    if hours is not None and minutes is not None:
        raise ValidationError(
            "give experiment_timeout_hours or experiment_timeout_minutes, not both"
        )
    if hours is not None:
        return number("experiment_timeout_hours", hours, 0.0) * 60.0 or _fail_zero()
    if minutes is not None:
        return number("experiment_timeout_minutes", minutes, 0.0) or _fail_zero()
    return float(_DEFAULT_TIMEOUT_MINUTES)


def _fail_zero() -> float:
    raise ValidationError("the experiment timeout must be more than 0")
