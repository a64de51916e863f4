"""AutoML iterations as Ray tasks on a Ray target (``AmlCompute``) the workspace knows."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.datasets import load_iris

from atelier import Experiment, ValidationError, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from tests.execution.automl_remote import SETTINGS, search_on

pytestmark = pytest.mark.one_database  # the database kind is incidental here


def _marking_ray_tasks(worker: Any, name: str, params: Any, scores: Any) -> Any:
    """The iteration, its fitted model marked with the Ray task that computed it."""
    import ray

    from atelier.sdk.automl._remote import iterate

    computed = iterate(worker, name, params, scores)
    computed[-1].ray_task_ = ray.get_runtime_context().get_task_id()
    return computed


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_iterations_run_as_ray_tasks_on_the_target(
    ws: Workspace, ray_head: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.sdk.automl import _rayjobs

    monkeypatch.setattr(_rayjobs, "iterate", _marking_ray_tasks)
    backend = ws._backend
    backend.compute.create(ws.name, "cluster", "ray", {"max_nodes": 2})
    # the session's head, as a target Atelier started (it is not stopped with the target)
    backend.compute.update(
        ws.name, "cluster", state="Succeeded", config={**ray_head, "started_head": False}
    )
    run = search_on(ws, "cluster")
    tasks = {run.get_output(iteration=i)[1].ray_task_ for i in (0, 1)}
    assert None not in tasks and len(tasks) == 2  # two Ray tasks computed them
    # a target known only by its Jobs API address cannot be joined as a driver
    backend.compute.create(ws.name, "jobs-only", "ray", {"max_nodes": 1})
    backend.compute.update(
        ws.name, "jobs-only", state="Succeeded", config={"address": ray_head["address"]}
    )
    iris = load_iris(as_frame=True).frame
    with pytest.raises(ValidationError, match="GCS address"):
        Experiment(ws, "on-jobs-only").submit(
            AutoMLConfig(**SETTINGS, training_data=iris, compute_target="jobs-only")
        )
    assert list(Experiment(ws, "on-jobs-only").get_runs()) == []
