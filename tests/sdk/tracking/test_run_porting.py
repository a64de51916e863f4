"""azureml's Run members that ported code uses: text metrics, the four typed metrics,
description, environment, page, logs, snapshots, child submissions, runs of a target."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, NotFoundError, ValidationError, Workspace
from atelier.azureml.core import ComputeTarget, Environment, Run, ScriptRunConfig
from atelier.azureml.exceptions import UserErrorException
from atelier.sdk.tracking._offline import OfflineRun

CONFUSION = {
    "schema_type": "confusion_matrix",
    "schema_version": "1.0.0",
    "data": {"class_labels": ["cat", "dog"], "matrix": [[5, 1], [2, 7]]},
}
RESIDUALS = {"schema_type": "residuals", "data": {"bin_edges": [0, 1, 2], "bin_counts": [4, 3]}}
PREDICTIONS = {
    "schema_type": "predictions",
    "schema_version": "1.0.0",
    "data": {
        "bin_averages": [0.2, 0.7],
        "bin_errors": [0.1, 0.1],
        "bin_counts": [3, 4],
        "bin_edges": [0.0, 0.5, 1.0],
    },
}
ACCURACY = {
    "schema_type": "accuracy_table",
    "schema_version": "1.0.1",
    "data": {
        "probability_tables": [[[1, 2, 0, 0]]],
        "percentile_tables": [[[1, 2, 0, 0]]],
        "probability_thresholds": [0.5],
        "percentile_thresholds": [50],
        "class_labels": ["a"],
    },
}


def test_log_takes_numbers_strings_and_bools_as_azureml_does(ws: Workspace) -> None:
    run = Experiment(ws, "port").start_logging()
    run.log("solver", "lbfgs")
    run.log("phase", "warmup")
    run.log("phase", "train")
    run.log("converged", True)
    run.log("alpha", 0.5)
    metrics = run.get_metrics()
    assert metrics["solver"] == "lbfgs"
    assert metrics["phase"] == ["warmup", "train"]  # a string series is a series of strings
    assert metrics["converged"] is True
    assert metrics["alpha"] == 0.5
    assert run.latest_metrics == {"alpha": 0.5}  # text is not ordered on as a number


def test_log_refuses_collections_with_azureml_hint(ws: Workspace) -> None:
    run = Experiment(ws, "port").start_logging()
    for value in ([1, 2], range(2), (i for i in range(2)), {"a": 1}):
        with pytest.raises(UserErrorException, match=r"run\.log_list\('m', values\)"):
            run.log("m", value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at most 4096"):
        run.log("long", "x" * 5000)
    run.complete()
    assert run.get_metrics() == {}


def test_typed_metrics_keep_azureml_json_shapes(ws: Workspace) -> None:
    run = Experiment(ws, "port").start_logging()
    run.log_confusion_matrix("cm", CONFUSION)
    run.log_residuals("res", json.dumps(RESIDUALS))  # its JSON text works too
    run.log_predictions("pred", PREDICTIONS)
    run.log_accuracy_table("acc", ACCURACY)
    metrics = run.get_metrics()
    assert metrics["cm"] == CONFUSION
    assert metrics["res"] == {**RESIDUALS, "schema_version": "1.0.0"}
    assert metrics["pred"]["data"]["bin_edges"] == [0.0, 0.5, 1.0]
    assert metrics["acc"]["schema_type"] == "accuracy_table"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1, 2]], "takes a dict like"),
        ("{not json", "not valid JSON"),
        ({"data": {"class_labels": []}}, "lacks matrix"),
        ({"schema_type": "residuals", "data": {}}, r"use run\.log_residuals\(\)"),
        ({"schema_type": "confusion_matrix"}, "needs a 'data' dict"),
    ],
)
def test_typed_metric_bad_input(ws: Workspace, value: object, message: str) -> None:
    run = Experiment(ws, "port").start_logging()
    with pytest.raises(UserErrorException, match=message):
        run.log_confusion_matrix("cm", value)
    run.complete()
    assert run.get_metrics() == {}


def test_description_portal_url_and_snapshot(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "port").start_logging()
    assert run.description is None
    run.description = "baseline with default settings"
    assert Run.get(ws, run.id).description == "baseline with default settings"
    url = run.get_portal_url()
    assert url == run.portal_url
    assert url.endswith(f"/workspaces/{ws.name}/runs/{run.id}")  # the Studio's run page
    assert url.startswith("http")
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "a.py").write_text("print(1)\n")
    snapshot_id = run.take_snapshot(folder)
    restored = run.restore_snapshot(snapshot_id, tmp_path / "back")
    assert (restored / "a.py").read_text() == "print(1)\n"
    single = run.take_snapshot(folder / "a.py")
    assert (run.restore_snapshot(single, tmp_path / "one") / "a.py").is_file()
    with pytest.raises(NotFoundError, match="no such file or folder"):
        run.take_snapshot(tmp_path / "absent")
    with pytest.raises(NotFoundError, match="has no environment"):
        run.get_environment()
    run.complete()


SCRIPT = """
import sys
from atelier.azureml.core import Run
run = Run.get_context()
run.log("seen", sys.argv[1])
print("hello from", sys.argv[1])
"""


def test_submitted_run_environment_logs_child_and_compute(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "job.py").write_text(textwrap.dedent(SCRIPT))
    parent = Experiment(ws, "port-jobs").start_logging()
    config = ScriptRunConfig(source_directory=folder, script="job.py", arguments=["child"])
    child = parent.submit_child(config, tags={"kind": "child"})
    child.wait_for_completion(raise_on_error=True)
    assert child.parent == parent
    assert [c.id for c in parent.get_children()] == [child.id]
    assert child.get_metrics()["seen"] == "child"
    assert child.get_environment().name == "atelier-default"
    written = child.get_all_logs(tmp_path / "logs")
    assert any(p.endswith("user_logs/std_log.txt") for p in written)
    assert "hello from child" in (tmp_path / "logs" / "user_logs" / "std_log.txt").read_text()
    details = child.get_details_with_logs()
    assert "hello from child" in details["logFiles"]["user_logs/std_log.txt"]
    local = ComputeTarget(ws, "local")
    assert child.id in {r.id for r in Run.list_by_compute(local)}
    parent.complete()


def test_offline_run_has_child_runs_and_typed_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    run = OfflineRun()
    run.log("solver", "adam")
    run.log_confusion_matrix("cm", CONFUSION)
    run.log_residuals("res", RESIDUALS)
    run.log_predictions("pred", PREDICTIONS)
    run.log_accuracy_table("acc", ACCURACY)
    with run.child_run("fold") as child:
        child.log("acc", 0.5)
    metrics = run.get_metrics()
    assert {name: metrics.pop(name)["schema_type"] for name in ("res", "pred", "acc")} == {
        "res": "residuals",
        "pred": "predictions",
        "acc": "accuracy_table",
    }
    assert metrics == {"solver": "adam", "cm": CONFUSION}
    assert child.get_metrics() == {"acc": 0.5}
    with pytest.raises(ValidationError, match="log_list"):
        run.log("xs", [1, 2])  # type: ignore[arg-type]
    assert "child_run fold" in capsys.readouterr().out


def test_experiment_refresh(ws: Workspace) -> None:
    experiment = Experiment(ws, "port-refresh")
    Experiment(ws, "port-refresh").tag("owner", "ana")
    assert experiment.tags == {}
    experiment.refresh()
    assert experiment.tags == {"owner": "ana"}
    experiment.tag("stage", "dev")
    experiment.remove_tags(["owner", "absent"])
    assert Experiment(ws, "port-refresh").tags == {"stage": "dev"}
    experiment.remove_tags("stage")
    assert experiment.tags == {}
    with pytest.raises(ValidationError, match="tag key or a list"):
        experiment.remove_tags([1])  # type: ignore[list-item]
    assert Environment.get(ws, "AzureML-Minimal").name == "AzureML-Minimal"
