"""Forecasting settings (``ForecastingParameters``) and the time-ordered validation splits.

A forecasting run learns the label from the time column's calendar parts and the series'
identifiers (and any other columns), validated on the last ``forecast_horizon`` time
points (or ``n_cross_validations`` rolling origins, each ``forecast_horizon`` long).
``target_lags``, ``target_rolling_window_size`` and ``feature_lags="auto"`` add columns of
past values, each from at least ``forecast_horizon`` periods before its row (``_lags``).
"""

from __future__ import annotations

from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["ForecastingParameters", "check_series", "lag_features", "time_splits"]


class ForecastingParameters:
    """azureml's ``ForecastingParameters``: the time column, the horizon, the series ids."""

    LEGACY_NAMES = (
        "time_column_name",
        "forecast_horizon",
        "max_horizon",
        "time_series_id_column_names",
        "grain_column_names",
        "target_lags",
        "target_rolling_window_size",
    )

    def __init__(
        self,
        time_column_name: str | None = None,
        forecast_horizon: int | str = 1,
        time_series_id_column_names: str | list[str] | None = None,
        group_column_names: Any = None,
        target_lags: Any = None,
        feature_lags: Any = None,
        target_rolling_window_size: Any = None,
        freq: str | None = None,
        country_or_region_for_holidays: str | None = None,
        seasonality: Any = "auto",
        use_stl: Any = None,
        short_series_handling_configuration: str = "auto",
        target_aggregation_function: Any = None,
        cv_step_size: Any = "auto",
        **kwargs: Any,
    ) -> None:
        del group_column_names, country_or_region_for_holidays, seasonality
        del use_stl, short_series_handling_configuration, target_aggregation_function
        del cv_step_size
        forecast_horizon = kwargs.pop("max_horizon", forecast_horizon)
        ids = time_series_id_column_names or kwargs.pop("grain_column_names", None)
        if not isinstance(time_column_name, str) or not time_column_name:
            raise ValidationError("forecasting needs time_column_name, the column of time stamps")
        if forecast_horizon == "auto":
            forecast_horizon = 1
        if isinstance(forecast_horizon, bool) or not isinstance(forecast_horizon, int):
            raise ValidationError(
                f"forecast_horizon must be a whole number >= 1, not {forecast_horizon!r}"
            )
        if forecast_horizon < 1:
            raise ValidationError("forecast_horizon must be at least 1")
        self.target_lags = _lags(target_lags)
        self.target_rolling_window_size = _window(target_rolling_window_size)
        if feature_lags not in (None, "auto", "none"):
            raise ValidationError(f"feature_lags must be 'auto' or None, not {feature_lags!r}")
        self.feature_lags = "auto" if feature_lags == "auto" else None
        if self.feature_lags and not self.target_lags:
            raise ValidationError("feature_lags='auto' lags features by target_lags; give them")
        self.time_column_name = time_column_name
        self.forecast_horizon = forecast_horizon
        self.time_series_id_column_names = [ids] if isinstance(ids, str) else list(ids or [])
        self.freq = freq

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_column_name": self.time_column_name,
            "forecast_horizon": self.forecast_horizon,
            "time_series_id_column_names": self.time_series_id_column_names,
            "freq": self.freq,
            "target_lags": self.target_lags,
            "target_rolling_window_size": self.target_rolling_window_size,
            "feature_lags": self.feature_lags,
        }


def _lags(value: Any) -> list[int]:
    """azureml's ``target_lags``: a whole number, a list of them, or "auto" (lag 1)."""
    if value is None:
        return []
    if value == "auto":
        return [1]
    values = [value] if isinstance(value, int) else value
    if (
        not isinstance(values, list | tuple)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values)
    ):
        raise ValidationError(
            f"target_lags must be a whole number >= 1, a list of them, or 'auto'; not {value!r}"
        )
    return sorted(set(values))


def _window(value: Any) -> int:
    """azureml's ``target_rolling_window_size``: a whole number >= 2 ("auto": none)."""
    if value in (None, "auto"):
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValidationError(
            f"target_rolling_window_size must be a whole number >= 2, not {value!r}"
        )
    return value


def lag_features(frame: Any, label: str, parameters: ForecastingParameters) -> Any:
    """The step that adds the lag and window columns, its history ``frame`` (the checked
    training rows, with the label); None when no lags or window are asked for."""
    import pandas as pd

    from atelier.sdk.automl._lags import LagFeatures, period_of

    if not parameters.target_lags and not parameters.target_rolling_window_size:
        return None
    time, ids = parameters.time_column_name, parameters.time_series_id_column_names
    features = [c for c in frame.columns if c not in (time, label, *ids)]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    lagged = numeric if parameters.feature_lags else []
    return LagFeatures(
        history=frame[[time, *ids, label, *lagged]].copy(),
        time_column=time,
        ids=list(ids),
        target=label,
        lags=parameters.target_lags,
        window=parameters.target_rolling_window_size,
        horizon=parameters.forecast_horizon,
        period=period_of(frame[time], parameters.freq),
        lagged_features=lagged,
        columns=[c for c in frame.columns if c != label],
    )


def check_series(frame: Any, parameters: ForecastingParameters) -> Any:
    """The frame sorted by time, its time column parsed; ``ValidationError`` for a missing
    time or id column, unreadable time stamps, or a time stamp twice in one series."""
    import pandas as pd

    column = parameters.time_column_name
    ids = parameters.time_series_id_column_names
    for name in (column, *ids):
        if name not in frame.columns:
            raise ValidationError(f"the forecasting frame has no column {name!r}")
    frame = frame.copy()
    try:
        frame[column] = pd.to_datetime(frame[column])
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"time column {column!r} holds values that are not times: {exc}"
        ) from None
    duplicated = frame.duplicated(subset=[column, *ids])
    if duplicated.any():
        first = frame.loc[duplicated, column].iloc[0]
        raise ValidationError(
            f"time stamp {first} appears more than once in a series; give "
            "time_series_id_column_names, or aggregate the rows"
        )
    return frame.sort_values([column, *ids], kind="stable").reset_index(drop=True)


def time_splits(times: Any, horizon: int, folds: int) -> list[tuple[Any, Any]]:
    """Rolling-origin (train, validation) row positions: each validation is the next
    ``horizon`` distinct time points after its training rows."""
    import numpy as np

    distinct = np.unique(times)
    if len(distinct) <= horizon * folds:
        raise ValidationError(
            f"{len(distinct)} time points are too few for {folds} validation fold(s) of "
            f"forecast_horizon={horizon}; lower them or give more history"
        )
    splits = []
    for k in range(folds, 0, -1):
        start = distinct[len(distinct) - k * horizon]
        end = distinct[len(distinct) - (k - 1) * horizon] if k > 1 else None
        train = np.flatnonzero(times < start)
        valid = np.flatnonzero((times >= start) & ((times < end) if end is not None else True))
        splits.append((train, valid))
    return splits
