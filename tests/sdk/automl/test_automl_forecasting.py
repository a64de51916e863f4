"""Forecasting's target lags, rolling windows and feature lags: each value from at least
``forecast_horizon`` periods before its row (no leakage), and the fitted model forecasts
the horizon from its history."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from atelier import Experiment, ValidationError, Workspace
from atelier.automl import ForecastingParameters
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.automl.forecasting import lag_features

DAYS = pd.date_range("2024-01-01", periods=30, freq="D")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": list(DAYS) * 2,
            "store": ["a"] * 30 + ["b"] * 30,
            "price": np.arange(60, dtype=float) * 10,
            "sales": np.concatenate([np.arange(30.0), 100 + np.arange(30.0)]),
        }
    )


def _step(**settings: Any) -> Any:
    parameters = ForecastingParameters(
        time_column_name="day", forecast_horizon=3, time_series_id_column_names="store", **settings
    )
    return lag_features(_frame(), "sales", parameters)


def test_lags_and_windows_come_from_the_horizon_before_each_row() -> None:
    step = _step(target_lags=[1, 2], target_rolling_window_size=2, feature_lags="auto")
    out = step.transform(_frame().drop(columns="sales"))
    row = out.iloc[10]  # store a, day 10: sales 10, known up to day 10 - 3 = 7
    assert row["sales_lag1"] == 7.0 and row["sales_lag2"] == 6.0
    assert row["price_lag1"] == 70.0  # the feature, lagged the same way
    assert (row["sales_roll2_mean"], row["sales_roll2_min"], row["sales_roll2_max"]) == (
        6.5,
        6.0,
        7.0,
    )
    assert out.iloc[40]["sales_lag1"] == 107.0  # store b reads its own series
    assert np.isnan(out.iloc[0]["sales_lag1"])  # no history yet: missing (imputed later)
    # never a value later than the horizon before the row
    known = out["sales_lag1"].dropna()
    assert (known.to_numpy() <= _frame().loc[known.index, "sales"].to_numpy() - 3).all()
    # the future: the horizon after the last day reads the history, later rows cannot
    future = pd.DataFrame(
        {"day": [DAYS[-1] + pd.Timedelta(days=d) for d in (1, 3, 4)], "store": "a", "price": 0.0}
    )
    lags = step.transform(future)["sales_lag1"].tolist()
    assert lags[:2] == [27.0, 29.0] and np.isnan(lags[2])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"target_lags": 0}, "target_lags"),
        ({"target_lags": [1, "x"]}, "target_lags"),
        ({"target_rolling_window_size": 1}, "target_rolling_window_size"),
        ({"feature_lags": "yes"}, "feature_lags"),
        ({"feature_lags": "auto"}, "give them"),
    ],
)
def test_bad_lag_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ForecastingParameters(time_column_name="day", **settings)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_lagged_forecast_follows_its_series(ws: Workspace) -> None:
    rng = np.random.default_rng(0)
    frame = _frame()
    frame["price"] = rng.normal(size=60)
    frame["sales"] = np.concatenate(
        [10 + np.cumsum(rng.normal(0, 1, 30)), 50 + np.cumsum(rng.normal(0, 1, 30))]
    )
    run = Experiment(ws, "lagged").submit(
        AutoMLConfig(
            task="forecasting",
            training_data=frame,
            label_column_name="sales",
            iterations=1,
            allowed_models=["ElasticNet"],
            forecasting_parameters=ForecastingParameters(
                time_column_name="day",
                forecast_horizon=2,
                time_series_id_column_names="store",
                target_lags=1,
                target_rolling_window_size=3,
            ),
        )
    )
    _, model = run.get_output()
    lags = model.named_steps["datatransformer"].named_steps["lags"]
    assert lags.lags == [1] and lags.window == 3
    future = pd.DataFrame(
        {"day": [DAYS[-1] + pd.Timedelta(days=1)] * 2, "store": ["a", "b"], "price": 0.0}
    )
    last = frame.groupby("store")["sales"].last().to_numpy()
    forecast = model.predict(future)
    assert np.abs(forecast - last).max() < 5.0  # each series near its own last value
    assert model.predict(future.to_numpy()).tolist() == forecast.tolist()  # rows of values
