"""Reading AutoML's arguments: numbers in range, the training and validation frames
from azureml's several ways of giving them, and the experiment's time budget. Shared by
``AutoMLConfig`` and ``AutoMLRun.continue_experiment``."""

from __future__ import annotations

import math
from typing import Any

from atelier.core.errors import ValidationError

__all__ = [
    "WEIGHT_COLUMN",
    "is_tabular",
    "number",
    "refuse",
    "sample_weights",
    "split_indices",
    "timeout",
    "training",
    "validation",
]

#: the column that carries ``sample_weight`` into the frame made of ``X`` and ``y``
WEIGHT_COLUMN = "sample_weight"

#: azureml's default budget when none is given: six days
_DEFAULT_TIMEOUT_MINUTES = 6 * 24 * 60


def refuse(
    given: dict[str, Any], what: str, why: str = "is not supported by Atelier's AutoML yet"
) -> None:
    """``ValidationError`` for the first azureml argument of ``given`` that was passed
    (not None): Atelier does not take it there, ``why``."""
    for name, value in given.items():
        if value is not None:
            raise ValidationError(f"{what}: {name} {why}")


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


def sample_weights(
    frame: Any, weights: Any, valid: Any, weights_valid: Any, given: dict[str, Any]
) -> str | None:
    """azureml's older form of row weights, ``sample_weight`` (one per row of ``X``) and
    ``sample_weight_valid`` (of ``X_valid``; 1 for every row when only ``sample_weight``
    is given), put into the frames made of ``X`` / ``X_valid`` as the weight column: its
    name, or None without weights."""
    import numpy as np

    if weights is None and weights_valid is None:
        return None
    if given["training_data"] is not None or given["X"] is None:
        raise ValidationError(
            "sample_weight goes with X= and y=; with training_data, name the weight column "
            "(weight_column_name=)"
        )
    if given["weight_column_name"] is not None:
        raise ValidationError("give sample_weight or weight_column_name, not both")
    if weights is None:
        raise ValidationError(
            "sample_weight_valid needs sample_weight (the training rows' weights)"
        )
    if given["validation_data"] is not None:
        raise ValidationError(
            "with sample_weight, give the validation rows as X_valid= and y_valid= (and "
            "sample_weight_valid=), not validation_data"
        )
    if weights_valid is not None and valid is None:
        raise ValidationError("sample_weight_valid goes with X_valid= and y_valid=")
    if WEIGHT_COLUMN in frame.columns:
        raise ValidationError(
            f"X has a column named {WEIGHT_COLUMN!r}; pass the weights as that column with "
            f"training_data= and weight_column_name={WEIGHT_COLUMN!r} instead"
        )
    for name, given_values, target in (
        ("sample_weight", weights, frame),
        ("sample_weight_valid", weights_valid, valid),
    ):
        if target is None:
            continue
        # validation rows without weights count 1 each
        values = np.asarray(
            np.ones(len(target)) if given_values is None else given_values, dtype=object
        ).ravel()
        if len(values) != len(target):
            raise ValidationError(
                f"{name} has {len(values)} values for {len(target)} rows; give one weight a row"
            )
        target[WEIGHT_COLUMN] = values
    return WEIGHT_COLUMN


def split_indices(value: Any) -> list[tuple[Any, Any]] | None:
    """azureml's ``cv_splits_indices``: ``[[train_indices, valid_indices], ...]``, one pair
    of row positions a fold, as integer arrays (their range is checked with the data)."""
    import numpy as np

    if value is None:
        return None
    bad = ValidationError(
        "cv_splits_indices must be a list of [train_indices, validation_indices] pairs, one "
        "a fold, each a non-empty list of row positions (whole numbers)"
    )
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__len__") or len(value) < 1:
        raise bad
    folds: list[tuple[Any, Any]] = []
    for pair in value:
        if isinstance(pair, str | bytes | dict) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise bad
        sides = []
        for side in pair:
            array = np.asarray(side)
            if array.ndim != 1 or len(array) == 0:
                raise bad
            whole = array.dtype.kind in "iu" or (
                array.dtype.kind == "f" and bool(np.all(np.mod(array, 1) == 0))
            )
            if not whole:
                raise bad
            sides.append(array.astype(np.int64))
        if np.intersect1d(sides[0], sides[1]).size:
            raise ValidationError(
                f"fold {len(folds)} of cv_splits_indices has rows in both its training and "
                "its validation indices"
            )
        folds.append((sides[0], sides[1]))
    return folds
