"""Reading and checking AutoML's data, and choosing how each iteration is validated.

Bad data fails here, before a run is recorded: no rows, a missing or constant label, text
in a regression label, a forecasting frame without its time column or with a time stamp
twice in one series. When no validation is given, the split follows Azure's rule: 10 %
held out from 20,000 rows up, else 3-fold cross-validation from 1,000 rows, else 10-fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.sdk.automl.featurization import Guardrail
from atelier.sdk.automl.forecasting import check_series, lag_features, time_splits

if TYPE_CHECKING:
    from atelier.sdk.automl.config import AutoMLConfig
    from atelier.sdk.automl.forecasting import ForecastingParameters

__all__ = ["Data", "prepare_data"]

_HOLDOUT_ROWS = 20_000
_FEW_ROWS = 1_000
_IMBALANCE = 0.2


@dataclass
class Data:
    """The checked data: features and label, and how iterations are validated."""

    X: Any
    y: Any
    #: held-out features and label (validation_data or validation_size), or None
    X_valid: Any = None
    y_valid: Any = None
    #: (train rows, validation rows) of X for cross-validation, when nothing is held out
    splits: list[tuple[Any, Any]] = field(default_factory=list)
    classes: Any = None
    y_range: tuple[float, float] = (0.0, 1.0)
    guardrails: list[Guardrail] = field(default_factory=list)
    validation: str = ""
    #: the rows' weights (weight_column_name), of the training and held-out rows, or None
    weights: Any = None
    weights_valid: Any = None
    #: forecasting's lag and rolling-window step (the first of the featurizer), or None
    lags: Any = None


def _label(frame: Any, label: str, task: str, exclude_nan: bool, what: str) -> tuple[Any, Any]:
    import pandas as pd

    if label not in frame.columns:
        raise ValidationError(
            f"label column {label!r} is not in the {what} (its columns: "
            f"{', '.join(map(str, frame.columns[:20]))})"
        )
    if exclude_nan:
        frame = frame[frame[label].notna()]
    if len(frame) == 0:
        raise ValidationError(f"the {what} has no rows with a label")
    y = frame[label]
    if task != "classification":
        try:
            y = pd.to_numeric(y)
        except (ValueError, TypeError):
            raise ValidationError(
                f"label column {label!r} holds text; a {task} label must be numeric "
                "(use task='classification' for categories)"
            ) from None
    return frame.drop(columns=[label]).reset_index(drop=True), y.to_numpy()


def prepare_data(config: AutoMLConfig) -> Data:
    """The training data checked and split as the settings say."""
    import numpy as np
    import pandas as pd

    frame, valid = config.get_frames()
    for what, data in (("training data", frame), ("validation data", valid)):
        if data is not None and not isinstance(data, pd.DataFrame):
            raise ValidationError(f"the {what} did not read as a table")
    task = config.task
    if len(frame) == 0:
        raise ValidationError("the training data has 0 rows")
    forecasting = config.forecasting_parameters
    if forecasting is not None:
        frame = check_series(frame, forecasting)
    label = config.label_column_name
    labelled = (
        np.flatnonzero(frame[label].notna().to_numpy())
        if config.exclude_nan_labels and label in frame.columns
        else np.arange(len(frame))
    )
    X, y = _label(frame, label, task, config.exclude_nan_labels, "training data")
    if len(np.unique(y.astype(str))) < 2:
        raise ValidationError(
            f"label column {config.label_column_name!r} has one value only; there is nothing "
            "to learn"
        )
    X, weights = _weights(X, config.weight_column_name, "training data")
    X, fold_columns = _fold_columns(X, config.cv_split_column_names)
    data = Data(X=X, y=y, weights=weights)
    if task == "classification":
        data.classes = np.unique(y)
        data.guardrails.append(_balance(y))
    else:
        data.y_range = (float(np.min(y)), float(np.max(y)))
    if forecasting is not None:
        data.lags = _history_lags(frame, valid, config.label_column_name, forecasting)
    if valid is not None:
        _held_out(data, config, valid)
    elif fold_columns is not None or config.cv_splits_indices is not None:
        _given(data, config, fold_columns, labelled, len(frame))
    elif forecasting is not None:
        _rolling(data, config, forecasting)
    else:
        _split(data, config)
    data.guardrails.insert(0, Guardrail("Validation split handling", "Done", data.validation))
    return data


def _weights(X: Any, column: str | None, what: str) -> tuple[Any, Any]:
    """The features without the weight column, and the weights (None without one)."""
    import numpy as np
    import pandas as pd

    if column is None:
        return X, None
    if column not in X.columns:
        raise ValidationError(f"weight column {column!r} is not in the {what}")
    values = pd.to_numeric(X[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
        raise ValidationError(
            f"weight column {column!r} of the {what} must hold numbers >= 0 (none missing, "
            "not all 0)"
        )
    return X.drop(columns=[column]), values


def _held_out(data: Data, config: AutoMLConfig, valid: Any) -> None:
    """The given validation rows, checked as the training rows are."""
    X_valid, y_valid = _label(
        valid, config.label_column_name, config.task, config.exclude_nan_labels, "validation data"
    )
    X_valid, data.weights_valid = _weights(X_valid, config.weight_column_name, "validation data")
    missing = set(map(str, data.X.columns)) - set(map(str, X_valid.columns))
    if missing:
        raise ValidationError(f"the validation data lacks columns {', '.join(sorted(missing))}")
    data.X_valid, data.y_valid = X_valid[data.X.columns], y_valid
    data.validation = f"the given validation data ({len(X_valid)} rows)"


def _given(data: Data, config: AutoMLConfig, fold_columns: Any, labelled: Any, rows: int) -> None:
    """The user's folds: ``cv_split_column_names`` or ``cv_splits_indices``."""
    if fold_columns is not None:
        data.splits = fold_columns
        data.validation = f"the {len(fold_columns)} fold(s) of cv_split_column_names"
        return
    data.splits = _given_splits(config.cv_splits_indices or [], labelled, rows)
    data.validation = f"the {len(data.splits)} fold(s) of cv_splits_indices"


def _rolling(data: Data, config: AutoMLConfig, forecasting: ForecastingParameters) -> None:
    times = data.X[forecasting.time_column_name].to_numpy()
    folds = int(config.n_cross_validations) if isinstance(config.n_cross_validations, int) else 1
    data.splits = time_splits(times, forecasting.forecast_horizon, folds)
    data.validation = (
        f"{folds} rolling-origin fold(s) of forecast_horizon={forecasting.forecast_horizon}"
    )


def _fold_columns(X: Any, names: list[str] | None) -> tuple[Any, Any]:
    """The features without the columns of ``cv_split_column_names``, and their folds
    (rows marked 1 train, rows marked 0 validate); None without them."""
    import numpy as np
    import pandas as pd

    if names is None:
        return X, None
    missing = [n for n in names if n not in X.columns]
    if missing:
        raise ValidationError(
            f"cv_split_column_names: {', '.join(missing)} not in the training data"
        )
    folds = []
    for name in names:
        values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValidationError(
                f"cv split column {name!r} must hold 1 (the row trains) or 0 (it validates) "
                "in every row"
            )
        train, valid = np.flatnonzero(values == 1.0), np.flatnonzero(values == 0.0)
        if not len(train) or not len(valid):
            raise ValidationError(
                f"cv split column {name!r} must mark some rows 1 (train) and some 0 (validate)"
            )
        folds.append((train, valid))
    return X.drop(columns=names), folds


def _given_splits(folds: list[tuple[Any, Any]], labelled: Any, rows: int) -> list[tuple[Any, Any]]:
    """``cv_splits_indices`` as positions of the labelled rows (rows without a label,
    left out of training, leave their folds)."""
    import numpy as np

    position = np.full(rows, -1)
    position[labelled] = np.arange(len(labelled))
    out = []
    for number, sides in enumerate(folds):
        for side in sides:
            if side.min() < 0 or side.max() >= rows:
                outside = side[(side < 0) | (side >= rows)][0]
                raise ValidationError(
                    f"fold {number} of cv_splits_indices has row {outside}, outside the "
                    f"{rows} rows of the training data (positions 0 to {rows - 1})"
                )
        train, valid = (position[side] for side in sides)
        train, valid = train[train >= 0], valid[valid >= 0]
        if not len(train) or not len(valid):
            raise ValidationError(
                f"fold {number} of cv_splits_indices has no labelled rows to train on or to "
                "validate"
            )
        out.append((train, valid))
    return out


def _history_lags(frame: Any, valid: Any, label: str, parameters: ForecastingParameters) -> Any:
    """Forecasting's lag step over the labelled training (and validation) rows: a value
    of the past is a value of the past, wherever the split puts it."""
    import pandas as pd

    history = frame if valid is None else pd.concat([frame, check_series(valid, parameters)])
    keys = [parameters.time_column_name, *parameters.time_series_id_column_names]
    history = history[history[label].notna()].drop_duplicates(keys, keep="last")
    history[label] = pd.to_numeric(history[label])
    return lag_features(history, label, parameters)


def _split(data: Data, config: AutoMLConfig) -> None:
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    rows = len(data.X)
    size = config.validation_size
    folds = config.n_cross_validations
    if size is None and folds in (None, "auto") and rows >= _HOLDOUT_ROWS:
        size = 0.1
    if size is not None:
        stratify = data.y if _stratifiable(data.y, config.task, 2) else None
        train, valid = train_test_split(
            np.arange(rows), test_size=size, random_state=config.random_seed, stratify=stratify
        )
        data.X_valid, data.y_valid = data.X.iloc[valid].reset_index(drop=True), data.y[valid]
        data.X, data.y = data.X.iloc[train].reset_index(drop=True), data.y[train]
        if data.weights is not None:
            data.weights, data.weights_valid = data.weights[train], data.weights[valid]
        data.validation = f"{size:.0%} of the training data held out ({len(valid)} rows)"
        return
    if folds in (None, "auto"):
        folds = 3 if rows >= _FEW_ROWS else 10
    folds = int(folds)
    if folds > rows:
        raise ValidationError(f"n_cross_validations={folds} is more than the {rows} training rows")
    if _stratifiable(data.y, config.task, folds):
        splitter: Any = StratifiedKFold(folds, shuffle=True, random_state=config.random_seed)
    else:
        splitter = KFold(folds, shuffle=True, random_state=config.random_seed)
    data.splits = list(splitter.split(np.zeros(rows), data.y))
    data.validation = f"{folds}-fold cross-validation"


def _stratifiable(y: Any, task: str, folds: int) -> bool:
    import numpy as np

    if task != "classification":
        return False
    _, counts = np.unique(y, return_counts=True)
    return bool(counts.min() >= folds)


def _balance(y: Any) -> Guardrail:
    import numpy as np

    values, counts = np.unique(y, return_counts=True)
    smallest = counts.min() / counts.max()
    if smallest < _IMBALANCE:
        return Guardrail(
            "Class balancing detection",
            "Alerted",
            f"class {values[counts.argmin()]!r} has {counts.min()} rows against "
            f"{counts.max()} of the largest class; consider a metric that weighs classes "
            "(AUC_weighted, norm_macro_recall)",
        )
    return Guardrail("Class balancing detection", "Passed", "the classes are balanced")
