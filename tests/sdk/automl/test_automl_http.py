"""The AutoML journey over HTTP: search, take the best model, register it and serve it
with the no-code deployment, no entry script written."""

from __future__ import annotations

import re

import pytest
from sklearn.datasets import load_iris

from atelier import Experiment, Model, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from tests.helpers import web


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("backend", ["http"], indirect=True)
def test_automl_register_and_deploy_without_an_entry_script(ws: Workspace) -> None:
    assert ws._backend.child_environment().get("ATELIER_DATABASE_URL") is None  # over HTTP
    iris = load_iris(as_frame=True).frame
    run = Experiment(ws, "iris-automl").submit(
        AutoMLConfig(
            task="classification",
            training_data=iris,
            label_column_name="target",
            primary_metric="accuracy",
            iterations=2,
            n_cross_validations=2,
            allowed_models=["LogisticRegression", "DecisionTree"],
            enable_voting_ensemble=False,
            enable_stack_ensemble=False,
        )
    )
    assert run.get_status() == "Completed"
    best, fitted = run.get_output()
    # the Studio's leaderboard reads the iterations the search recorded, best marked
    transport = ws._backend.transport  # type: ignore[attr-defined]
    page = web.get(
        f"{transport.url}/workspaces/{ws.name}/automl/{run.id}",
        headers={"Authorization": f"Bearer {transport.token}", "Accept": "text/html"},
    )
    assert page.status_code == 200, page.text
    assert len(re.findall(r'<tr data-run="', page.text)) == 2
    assert re.findall(r'<tr data-run="([^"]+)" class="best">', page.text) == [best.id]
    assert best.parent is not None and best.parent.id == run.id
    model = run.register_model("iris-automl", tags={"from": "automl"})
    assert model.run_id == best.id and model.tags == {"from": "automl"}
    service = Model.deploy(ws, "iris-automl-ep", [model])
    try:
        service.wait_for_deployment(timeout_sec=60)
        rows = iris.drop(columns="target").to_numpy()[::30]
        assert service.run({"data": rows.tolist()}) == fitted.predict(rows).tolist()
    finally:
        service.delete()
