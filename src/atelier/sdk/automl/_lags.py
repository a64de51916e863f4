"""Forecasting's target lags, rolling windows and feature lags, without leakage.

A row at time ``t`` is forecast from an origin at least ``forecast_horizon`` (H) periods
before it, so every value it is given comes from time ``t - H`` or earlier: lag ``k`` is
the value at ``t - (H - 1 + k)`` periods, and the rolling window of size ``w`` summarizes
(mean, min, max) the ``w`` values ending at ``t - H``. Each row's values come from the same
series (``time_series_id_column_names``). Within a rolling-origin validation fold every
looked-up time lies at or before the fold's origin, and the fitted model forecasts up to
H periods after the end of its history (later rows get missing values, imputed).

``LagFeatures`` keeps the history (time, series ids, the target and, with
``feature_lags="auto"``, the numeric features) and adds the columns by looking times up
in it, so the fitted pipeline scores a frame of future rows without their target.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["LagFeatures", "period_of"]


def period_of(times: Any, freq: str | None) -> Any:
    """The series' period: ``freq`` when given, else inferred from the distinct times."""
    from pandas.tseries.frequencies import to_offset

    if freq:
        return to_offset(freq)
    distinct = pd.DatetimeIndex(np.unique(times))
    with warnings.catch_warnings():  # pandas 3 warns that it will answer an offset
        warnings.simplefilter("ignore")
        inferred = pd.infer_freq(distinct) if len(distinct) >= 3 else None
    if inferred:
        return to_offset(inferred)
    return to_offset(pd.Series(distinct).diff().median())


class LagFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Adds ``<target>_lag<k>``, ``<target>_roll<w>_{mean,min,max}`` and, for lagged
    features, ``<column>_lag<k>`` columns to a frame with the time and id columns."""

    def __init__(
        self,
        history: Any,
        time_column: str,
        ids: list[str],
        target: str,
        lags: list[int],
        window: int,
        horizon: int,
        period: Any,
        lagged_features: list[str],
        columns: list[str],
    ) -> None:
        self.history = history
        self.time_column = time_column
        self.ids = ids
        self.target = target
        self.lags = lags
        self.window = window
        self.horizon = horizon
        self.period = period
        self.lagged_features = lagged_features
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> LagFeatures:
        return self  # the history is set when the data are checked

    def _frame(self, X: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            return X.reset_index(drop=True)
        return pd.DataFrame(np.asarray(X, dtype=object), columns=self.columns)

    def _look_up(self, keys: Any, steps: int, columns: list[str]) -> Any:
        """The history's ``columns`` at each row's time less ``steps`` periods."""
        wanted = keys.copy()
        wanted[self.time_column] = wanted[self.time_column] - steps * self.period
        found = wanted.merge(
            self.history[[self.time_column, *self.ids, *columns]],
            on=[self.time_column, *self.ids],
            how="left",
        )
        return found[columns].to_numpy(dtype=float)

    def transform(self, X: Any) -> Any:
        frame = self._frame(X)
        keys = frame[[self.time_column, *self.ids]].copy()
        keys[self.time_column] = pd.to_datetime(keys[self.time_column])
        added: dict[str, Any] = {}
        shift = self.horizon - 1
        lagged = [self.target, *self.lagged_features]
        for k in self.lags:
            values = self._look_up(keys, shift + k, lagged)
            for i, column in enumerate(lagged):
                added[f"{column}_lag{k}"] = values[:, i]
        if self.window > 1:
            window = np.column_stack(
                [
                    self._look_up(keys, shift + step, [self.target])[:, 0]
                    for step in range(1, self.window + 1)
                ]
            )
            name = f"{self.target}_roll{self.window}"
            with warnings.catch_warnings():  # an all-missing window is missing, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                added[f"{name}_mean"] = np.nanmean(window, axis=1)
                added[f"{name}_min"] = np.nanmin(window, axis=1)
                added[f"{name}_max"] = np.nanmax(window, axis=1)
        return pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)
