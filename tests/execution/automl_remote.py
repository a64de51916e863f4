"""The AutoML search the remote-target tests (Ray, SSH) submit, and what they check of it."""

from __future__ import annotations

from typing import Any

from sklearn.datasets import load_iris

from atelier import Experiment, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.automl.run import AutoMLRun

SETTINGS: dict[str, Any] = {
    "task": "classification",
    "label_column_name": "target",
    "iterations": 2,
    "n_cross_validations": 2,
    "allowed_models": ["LogisticRegression", "DecisionTree"],
    "max_concurrent_iterations": 2,
    "enable_stack_ensemble": False,
}


def search_on(ws: Workspace, target: str) -> AutoMLRun:
    """Two iterations at once on ``target``, then the vote; checked: every child ran on
    the target and completed, and the best model predicts iris."""
    iris = load_iris(as_frame=True).frame
    config = AutoMLConfig(**SETTINGS, training_data=iris, compute_target=target)
    run = Experiment(ws, f"on-{target}").submit(config)
    assert run.get_status() == "Completed" and run.get_details()["target"] == target
    children = run.get_children()
    errors = [c.get_details().get("error") for c in children]
    assert [c.status for c in children] == ["Completed"] * 3, errors
    assert all(c.get_details()["target"] == target for c in children)
    _, model = run.get_output()
    features = iris.drop(columns="target")
    assert (model.predict(features) == iris["target"]).mean() > 0.9
    return run
