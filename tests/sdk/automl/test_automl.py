"""AutoML in the embedded workspace: classification, regression and forecasting on small
data with a few iterations each; the best model comes back fitted and registers as a
no-code scikit-learn model; bad settings and bad data fail before anything runs."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from atelier import Dataset, Experiment, MissingExtraError, Model, ValidationError, Workspace
from atelier.automl import AutoMLRun, FeaturizationConfig, ForecastingParameters
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.automl.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

pytestmark = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
    pytest.mark.parametrize("backend", ["embedded"], indirect=True),
]


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def test_classification_iterations_are_child_runs_and_the_best_model_is_fitted(
    ws: Workspace, iris: pd.DataFrame
) -> None:
    config = AutoMLConfig(
        task="classification",
        primary_metric="AUC_weighted",
        training_data=iris,
        label_column_name="target",
        iterations=3,
        n_cross_validations=3,
        allowed_models=["LogisticRegression", "DecisionTree", "KNN"],
    )
    run = Experiment(ws, "iris-automl").submit(config)
    assert isinstance(run, AutoMLRun) and run.get_status() == "Completed"
    children = run.get_children()
    algorithms = [c.properties["run_algorithm"] for c in children]
    assert algorithms == [
        "LogisticRegression",
        "KNN",
        "DecisionTree",
        "VotingEnsemble",
        "StackEnsemble",
    ]
    assert set(children[0].get_metrics()) == set(CLASSIFICATION_METRICS)
    best, model = run.get_output()
    assert best.id == run.get_best_child().id
    assert best.get_metrics()["AUC_weighted"] == max(
        c.get_metrics()["AUC_weighted"] for c in children
    )
    features = iris.drop(columns="target")
    assert (model.predict(features) == iris["target"]).mean() > 0.9
    # rows of numbers score too, as the no-code deployment sends them
    assert list(model.predict(features.to_numpy()[:5])) == list(model.predict(features[:5]))
    _, first = run.get_output(iteration=0)
    for ensemble_iteration in (3, 4):  # the vote and the stack
        _, ensemble = run.get_output(iteration=ensemble_iteration)
        assert (ensemble.predict(features) == iris["target"]).mean() > 0.9
        assert ensemble.predict_proba(features[:2]).shape == (2, 3)
    assert type(first.steps[-1][1]).__name__ == "Pipeline"  # scaler + LogisticRegression
    guardrails = {g["type"]: g["result"] for g in run.get_guardrails()}
    assert guardrails["Class balancing detection"] == "Passed"
    registered = run.register_model("iris-best")
    assert registered.model_framework == "ScikitLearn"
    assert registered.properties["automl_run_id"] == run.id
    assert Model(ws, "iris-best").version == 1


def test_regression_with_validation_data_and_shown_output(
    ws: Workspace, diabetes: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    train, valid = diabetes.iloc[:330], diabetes.iloc[330:]
    config = AutoMLConfig(
        task="regression",
        training_data=train,
        validation_data=valid,
        label_column_name="target",
        iterations=3,
        allowed_models=["ElasticNet", "DecisionTree", "LassoLars"],
        enable_voting_ensemble=False,
        max_concurrent_iterations=2,
    )
    run = Experiment(ws, "diabetes").submit(config, show_output=True)
    printed = capsys.readouterr().out
    assert "DATA GUARDRAILS" in printed and "ITER" in printed and "ElasticNet" in printed
    best, model = run.get_output(metric="r2_score")
    metrics = best.get_metrics()
    assert set(metrics) >= set(REGRESSION_METRICS) - {"normalized_root_mean_squared_log_error"}
    assert metrics["r2_score"] > 0.2
    prediction = model.predict(valid.drop(columns="target"))
    assert np.sqrt(np.mean((prediction - valid["target"]) ** 2)) == pytest.approx(
        metrics["root_mean_squared_error"]
    )
    children = run.get_children()
    assert [c.properties["run_algorithm"] for c in children][-1] == "StackEnsemble"
    _, stacked = run.get_output(iteration=3)
    assert stacked.predict(valid.drop(columns="target")).shape == (len(valid),)
    assert run.get_leaderboard()[0]["run_id"] == run.get_best_child().id


def test_featurization_imputes_encodes_and_drops_identifiers(ws: Workspace) -> None:
    rows = 60
    frame = pd.DataFrame(
        {
            "size": [float(i) if i % 7 else np.nan for i in range(rows)],
            "colour": ["red", "green", "blue"] * (rows // 3),
            "customer": [f"c{i}" for i in range(rows)],
            "when": pd.date_range("2024-01-01", periods=rows),
            "secret": range(rows),
            "review": [
                f"review {i} says {'great' if i % 3 == 0 else 'meh'} stuff" for i in range(rows)
            ],
        }
    )
    frame["label"] = np.where(frame["colour"] == "red", "yes", "no")
    featurization = FeaturizationConfig(drop_columns=["secret"])
    run = Experiment(ws, "mixed").submit(
        AutoMLConfig(
            task="classification",
            training_data=frame,
            label_column_name="label",
            featurization=featurization,
            iterations=1,
            n_cross_validations=2,
            allowed_models=["DecisionTree"],
        )
    )
    guardrails = {g["type"]: g for g in run.get_guardrails()}
    assert guardrails["Missing feature values imputation"]["result"] == "Done"
    assert "customer" in guardrails["High cardinality feature detection"]["description"]
    _, model = run.get_output()
    assert list(model.predict(frame.drop(columns="label")[:3])) == ["yes", "no", "no"]
    transformers = model.named_steps["datatransformer"].named_steps["columns"].transformers_
    assert "text_5" in [name for name, _, _ in transformers]  # the review, as TF-IDF
    with pytest.raises(ValidationError, match="not numeric"):
        Experiment(ws, "mixed").submit(
            AutoMLConfig(
                task="classification",
                training_data=frame,
                label_column_name="label",
                featurization="off",
                iterations=1,
            )
        )


def test_forecasting_validates_on_the_last_horizon(ws: Workspace) -> None:
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    frame = pd.DataFrame(
        {
            "day": list(days) * 2,
            "store": ["a"] * 40 + ["b"] * 40,
            "sales": [10.0 + i % 7 for i in range(40)] + [20.0 + i % 7 for i in range(40)],
        }
    )
    run = Experiment(ws, "sales").submit(
        AutoMLConfig(
            task="forecasting",
            training_data=frame,
            label_column_name="sales",
            iterations=2,
            allowed_models=["DecisionTree", "ElasticNet"],
            forecasting_parameters=ForecastingParameters(
                time_column_name="day", forecast_horizon=7, time_series_id_column_names="store"
            ),
        )
    )
    guardrails = {g["type"]: g["description"] for g in run.get_guardrails()}
    assert "forecast_horizon=7" in guardrails["Validation split handling"]
    _, model = run.get_output()
    future = pd.DataFrame({"day": [pd.Timestamp("2024-02-12")] * 2, "store": ["a", "b"]})
    low, high = model.predict(future)
    assert low < high  # store b sells more
    with pytest.raises(ValidationError, match="no column 'when'"):
        Experiment(ws, "sales").submit(
            AutoMLConfig(
                task="forecasting",
                training_data=frame,
                label_column_name="sales",
                forecasting_parameters=ForecastingParameters(time_column_name="when"),
            )
        )
    duplicated = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(ValidationError, match="more than once"):
        Experiment(ws, "sales").submit(
            AutoMLConfig(
                task="forecasting",
                training_data=duplicated,
                label_column_name="sales",
                forecasting_parameters=ForecastingParameters(time_column_name="day"),
            )
        )


def test_a_budget_too_short_for_one_iteration_still_gives_a_baseline(
    ws: Workspace, iris: pd.DataFrame
) -> None:
    run = Experiment(ws, "short").submit(
        AutoMLConfig(
            task="classification",
            training_data=iris,
            label_column_name="target",
            experiment_timeout_hours=1e-9,
            n_cross_validations=2,
        )
    )
    assert "too short" in run.properties["automl.stop_reason"]
    assert [c.properties["run_algorithm"] for c in run.get_children()][-1] == "Baseline"
    best, model = run.get_output()
    assert best.properties["run_algorithm"] == "Baseline"
    assert model.predict(iris.drop(columns="target")[:2]).shape == (2,)


def test_an_iteration_past_its_timeout_is_stopped(ws: Workspace, iris: pd.DataFrame) -> None:
    run = Experiment(ws, "slow").submit(
        AutoMLConfig(
            task="classification",
            training_data=iris,
            label_column_name="target",
            iteration_timeout_minutes=0.0005,  # 30 ms: less than a forest's cross-validation
            iterations=3,
            allowed_models=["RandomForest"],
        )
    )
    first = run.get_children()[0]
    assert first.status == "Failed"
    assert first.get_details()["error"]["code"] == "IterationTimedOut"
    assert run.get_best_child().properties["run_algorithm"] == "Baseline"


def test_the_exit_score_ends_the_search_on_a_tabular_dataset(
    ws: Workspace, iris: pd.DataFrame, tmp_path: Path
) -> None:
    iris.to_csv(tmp_path / "iris.csv", index=False)
    table = Dataset.Tabular.from_delimited_files(str(tmp_path / "iris.csv"), validate=False)
    run = Experiment(ws, "exit").submit(
        AutoMLConfig(
            task="classification",
            training_data=table,
            label_column_name="target",
            experiment_exit_score=0.5,
            n_cross_validations=2,
            allowed_models=["DecisionTree", "KNN"],
        )
    )
    assert "experiment_exit_score" in run.properties["automl.stop_reason"]
    assert [c.properties["run_algorithm"] for c in run.get_children()] == ["KNN"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"primary_metric": "r2_score"}, "does not fit task"),
        ({"label_column_name": "nope"}, "not in the training data"),
        ({"n_cross_validations": 3, "validation_size": 0.2}, "only one of"),
        ({"allowed_models": ["Prophet"]}, "not available"),
        ({"allowed_models": ["ElasticNet"]}, "not a classification model"),
        ({"task": "clustering"}, "task"),
        ({"task": "forecasting"}, "forecasting_parameters"),
        ({"experiment_timeout_minutes": 0}, "more than 0"),
        ({"compute_target": "gpu-cluster"}, "local compute"),
        ({"iterations": 0}, "iterations"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(
    ws: Workspace, iris: pd.DataFrame, settings: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "task": "classification",
        "training_data": iris,
        "label_column_name": "target",
        **settings,
    }
    with pytest.raises(ValidationError, match=message):
        config = AutoMLConfig(**arguments)  # type: ignore[arg-type]
        Experiment(ws, "bad").submit(config)
    assert list(Experiment(ws, "bad").get_runs()) == []


@pytest.mark.parametrize(
    ("frame", "task", "message"),
    [
        (pd.DataFrame({"x": [], "y": []}), "classification", "0 rows"),
        (pd.DataFrame({"x": [1, 2, 3], "y": [1, 1, 1]}), "classification", "one value only"),
        (pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}), "regression", "holds text"),
    ],
)
def test_bad_data_is_refused(ws: Workspace, frame: pd.DataFrame, task: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Experiment(ws, "bad").submit(
            AutoMLConfig(task=task, training_data=frame, label_column_name="y")
        )


def test_without_the_extra_the_error_names_it(
    ws: Workspace, iris: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    config = AutoMLConfig(task="classification", training_data=iris, label_column_name="target")
    with pytest.raises(MissingExtraError, match=r"atelier-ml\[automl\]"):
        Experiment(ws, "no-extra").submit(config)


def test_cancel_stops_the_search_after_its_running_iterations(
    ws: Workspace, iris: pd.DataFrame
) -> None:
    experiment = Experiment(ws, "cancel")
    canceled: list[str] = []

    def cancel_after_the_first_iteration() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not canceled:
            for listed in experiment.get_runs():
                done = [c for c in listed.get_children() if c.status == "Completed"]
                if done:
                    AutoMLRun(experiment, listed.id).cancel()
                    canceled.append(listed.id)
                    return
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_after_the_first_iteration)
    canceller.start()
    run = experiment.submit(
        AutoMLConfig(
            task="classification",
            training_data=iris,
            label_column_name="target",
            iterations=200,
            n_cross_validations=2,
            allowed_models=["RandomForest", "ExtremeRandomTrees"],
        )
    )
    canceller.join()
    assert canceled == [run.id]
    assert run.get_status() == "Canceled"
    assert run.properties["automl.stop_reason"] == "canceled"
    children = run.get_children()
    assert 1 <= len(children) < 200
    assert {c.status for c in children} <= {"Completed", "Canceled"}
    assert "VotingEnsemble" not in [c.properties["run_algorithm"] for c in children]
