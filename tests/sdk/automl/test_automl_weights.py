"""``weight_column_name``: each row counts its weight in training and in every metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atelier import Experiment, ValidationError, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.automl.metrics import classification_scores, regression_scores


def test_a_weight_counts_as_that_many_copies_of_the_row_in_the_metrics() -> None:
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    truth = rng.choice(classes, 40)
    proba = rng.dirichlet(np.ones(3), 40)
    weights = rng.integers(1, 4, 40)
    copied = classification_scores(np.repeat(truth, weights), np.repeat(proba, weights, 0), classes)
    weighted = classification_scores(truth, proba, classes, weights)
    for name in ("accuracy", "log_loss", "AUC_weighted", "f1_score_macro", "AUC_micro"):
        assert weighted[name] == pytest.approx(copied[name]), name
    assert weighted["accuracy"] != pytest.approx(
        classification_scores(truth, proba, classes)["accuracy"]
    )
    y, guess = rng.normal(size=40), rng.normal(size=40)
    copied = regression_scores(np.repeat(y, weights), np.repeat(guess, weights), (-3.0, 3.0))
    weighted = regression_scores(y, guess, (-3.0, 3.0), weights)
    for name in ("root_mean_squared_error", "r2_score", "median_absolute_error"):
        assert weighted[name] == pytest.approx(copied[name]), name


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_training_follows_the_weights(ws: Workspace) -> None:
    rng = np.random.default_rng(1)
    rows = 80
    frame = pd.DataFrame({"x": rng.normal(size=rows), "y": np.tile([0.0, 10.0], rows // 2)})
    frame["w"] = np.where(frame["y"] > 0, 9.0, 1.0)  # the 10s count nine times
    run = Experiment(ws, "weights").submit(
        AutoMLConfig(
            task="regression",
            training_data=frame,
            label_column_name="y",
            weight_column_name="w",
            iterations=1,
            n_cross_validations=2,
            allowed_models=["ElasticNet"],
            enable_voting_ensemble=False,
            enable_stack_ensemble=False,
        )
    )
    best, model = run.get_output()
    prediction = model.predict(frame[["x"]])  # the weight column is no feature
    assert 8.0 < prediction.mean() < 10.0  # the weighted mean is 9; unweighted it is 5
    assert run.get_tags()["best_child_run_id"] == best.id
    for settings, message in (
        ({"weight_column_name": "nope"}, "not in the training data"),
        ({"weight_column_name": "x"}, "numbers >= 0"),
        ({"weight_column_name": "w", "allowed_models": ["KNN"]}, "take no weight_column_name"),
    ):
        with pytest.raises(ValidationError, match=message):
            Experiment(ws, "bad-weights").submit(
                AutoMLConfig(
                    task="regression",
                    training_data=frame,
                    label_column_name="y",
                    iterations=1,
                    **settings,  # type: ignore[arg-type]
                )
            )
    assert list(Experiment(ws, "bad-weights").get_runs()) == []


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_sample_weight_arrays_with_x_and_y_weigh_the_rows(ws: Workspace) -> None:
    rng = np.random.default_rng(2)
    rows = 60
    features = pd.DataFrame({"x": rng.normal(size=rows)})
    y = np.tile([0.0, 10.0], rows // 2)
    weights = np.where(y > 0, 9.0, 1.0)
    common = {
        "task": "regression",
        "iterations": 1,
        "allowed_models": ["ElasticNet"],
        "enable_voting_ensemble": False,
        "enable_stack_ensemble": False,
    }
    run = Experiment(ws, "arrays").submit(
        AutoMLConfig(
            X=features.iloc[:40],
            y=y[:40],
            sample_weight=weights[:40],
            X_valid=features.iloc[40:],
            y_valid=y[40:],
            sample_weight_valid=weights[40:],
            **common,  # type: ignore[arg-type]
        )
    )
    best, model = run.get_output()
    assert 8.0 < model.predict(features).mean() < 10.0  # the weighted mean is 9; unweighted 5
    assert run.get_details()["runDefinition"]["automl"]["weight_column_name"] == "sample_weight"
    # the weighted error on the validation rows: the 10s count nine times
    error = model.predict(features.iloc[40:]) - y[40:]
    expected = np.sqrt(np.average(error**2, weights=weights[40:]))
    assert best.get_metrics()["root_mean_squared_error"] == pytest.approx(expected)
    for settings, message in (
        ({"X": features, "y": y, "sample_weight": weights[:10]}, "10 values for 60 rows"),
        ({"X": features, "y": y, "sample_weight": -weights}, "numbers >= 0"),
        ({"X": features, "y": y, "sample_weight_valid": weights}, "needs sample_weight"),
        (
            {"X": features, "y": y, "sample_weight": weights, "sample_weight_valid": weights},
            "X_valid",
        ),
        (
            {
                "training_data": features.assign(y=y),
                "label_column_name": "y",
                "sample_weight": weights,
            },
            "weight_column_name",
        ),
    ):
        with pytest.raises(ValidationError, match=message):
            Experiment(ws, "bad-arrays").submit(AutoMLConfig(**common, **settings))  # type: ignore[arg-type]
    assert list(Experiment(ws, "bad-arrays").get_runs()) == []
