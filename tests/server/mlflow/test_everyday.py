"""What an MLflow user meets first: NaN metrics, experiment names with spaces and '/',
and a hint that names MLFLOW_TRACKING_TOKEN when the client sent no token."""

from __future__ import annotations

import math

import pytest

from atelier import Experiment, Run, Workspace
from tests.server.mlflow.conftest import Served
from tests.server.mlflow.test_protocol import raw

mlflow = pytest.importorskip("mlflow")


def test_nan_and_infinite_metrics_are_logged_and_read_back(sdk: Workspace) -> None:
    mlflow.set_experiment("diverging")
    with mlflow.start_run() as active:
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", math.inf, step=1)
        mlflow.log_metric("loss", math.nan, step=2)
        mlflow.log_metrics({"grad": -math.inf})
        run_id = active.info.run_id
    fetched = mlflow.get_run(run_id)
    assert math.isnan(fetched.data.metrics["loss"])
    assert fetched.data.metrics["grad"] == -math.inf
    history = mlflow.MlflowClient().get_metric_history(run_id, "loss")
    assert [m.value for m in history][:2] == [0.5, math.inf]
    assert math.isnan(history[2].value)
    values = Run.get(sdk, run_id).get_metrics()["loss"]
    assert values[:2] == [0.5, math.inf]
    assert math.isnan(values[2])


def test_unauthenticated_hint_names_the_token_variable(
    tracking: str, mlflow_server: Served
) -> None:
    search = "/api/2.0/mlflow/experiments/search"
    status, payload = raw(mlflow_server.uri_for(tracking), "POST", search, b"{}", token="")
    assert (status, payload["error_code"]) == (401, "UNAUTHENTICATED")
    assert "MLFLOW_TRACKING_TOKEN" in payload["message"]


def test_experiment_names_with_spaces_and_slashes(sdk: Workspace) -> None:
    created = mlflow.set_experiment("/Users/ana/churn model")
    assert created.name == "/Users/ana/churn model"
    with mlflow.start_run() as active:
        mlflow.log_metric("auc", 0.8)
    again = mlflow.get_experiment_by_name("/Users/ana/churn model")
    assert again is not None
    assert again.experiment_id == created.experiment_id
    assert mlflow.set_experiment("/Users/ana/churn model").experiment_id == created.experiment_id
    found = mlflow.search_experiments(filter_string="name = '/Users/ana/churn model'")
    assert [e.experiment_id for e in found] == [created.experiment_id]
    # Atelier names it by its rule and keeps the original as a tag
    stored = Run.get(sdk, active.info.run_id).experiment
    assert stored.name.startswith("Users-ana-churn-model-")
    assert stored.tags["mlflow.experimentName"] == "/Users/ana/churn model"
    assert isinstance(stored, Experiment)
