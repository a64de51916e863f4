"""The user's own cross-validation folds: azureml's ``cv_splits_indices`` (pairs of row
positions) and ``cv_split_column_names`` (columns marking 1 train, 0 validate)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from atelier import Experiment, ValidationError, Workspace
from atelier.azureml.train.automl import AutoMLConfig

pytestmark = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
    pytest.mark.parametrize("backend", ["embedded"], indirect=True),
]

_COMMON: dict[str, Any] = {
    "task": "regression",
    "label_column_name": "y",
    "iterations": 1,
    "allowed_models": ["ElasticNet"],
    "enable_voting_ensemble": False,
    "enable_stack_ensemble": False,
}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    # a feature of noise: a model predicts about the mean of the rows it trains on
    return pd.DataFrame({"x": rng.normal(size=40), "y": [0.0] * 20 + [10.0] * 20})


def test_the_given_folds_are_the_ones_validated_on(ws: Workspace) -> None:
    frame = _frame()
    # one fold: trained mostly on the 0s, validated on 10s only (far off); a shuffled
    # split would be off by about 5
    indices = [[list(range(25)), list(range(25, 40))]]
    by_indices = Experiment(ws, "folds").submit(
        AutoMLConfig(training_data=frame, cv_splits_indices=indices, **_COMMON)
    )
    error = by_indices.get_best_child().get_metrics()["root_mean_squared_error"]
    assert error > 6.0
    guardrails = {g["type"]: g["description"] for g in by_indices.get_guardrails()}
    assert guardrails["Validation split handling"] == "the 1 fold(s) of cv_splits_indices"
    # the same fold as a column of the frame (not a feature): the same score
    marked = frame.assign(fold=[1] * 25 + [0] * 15)
    by_column = Experiment(ws, "folds").submit(
        AutoMLConfig(training_data=marked, cv_split_column_names=["fold"], **_COMMON)
    )
    assert by_column.get_best_child().get_metrics()["root_mean_squared_error"] == pytest.approx(
        error
    )
    _, model = by_column.get_output()
    assert model.predict(frame[["x"]]).shape == (40,)  # the fold column is no feature


def test_bad_folds_are_refused_before_a_run(ws: Workspace) -> None:
    frame = _frame()
    for settings, message in (
        ({"cv_splits_indices": [[[0, 1], [2, 40]]]}, "row 40, outside the 40 rows"),
        ({"cv_splits_indices": [[[0, 1, 2], [2, 3]]]}, "both its training and its validation"),
        ({"cv_splits_indices": [[[0, 1]]]}, "pairs"),
        ({"cv_splits_indices": [[[0.5], [1]]]}, "whole numbers"),
        ({"cv_splits_indices": [[[0], [1]]], "n_cross_validations": 3}, "give only one"),
        ({"cv_split_column_names": ["nope"]}, "nope not in the training data"),
        ({"cv_split_column_names": ["x"]}, "1 \\(the row trains\\) or 0"),
    ):
        with pytest.raises(ValidationError, match=message):
            Experiment(ws, "bad-folds").submit(
                AutoMLConfig(training_data=frame, **_COMMON, **settings)
            )
    with pytest.raises(ValidationError, match="rolling origins"):
        AutoMLConfig(
            task="forecasting",
            training_data=frame,
            label_column_name="y",
            cv_splits_indices=[[[0], [1]]],
            time_column_name="x",
            forecast_horizon=1,
        )
    assert list(Experiment(ws, "bad-folds").get_runs()) == []
