"""Building, running and reusing pipelines from the SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Experiment, RunFailedError, Workspace
from atelier.azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from atelier.azureml.pipeline.steps import PythonScriptStep


def _two_steps(ws: Workspace, source: Path, rows: PipelineParameter) -> Pipeline:
    prepared = PipelineData("prepared")
    model = PipelineData("model")
    prepare = PythonScriptStep(
        "prepare.py", name="prepare", arguments=["--out", prepared, "--rows", rows],
        outputs=[prepared], source_directory=source,
    )  # fmt: skip
    train = PythonScriptStep(
        "train.py", name="train", arguments=["--data", prepared, "--model", model],
        inputs=[prepared], outputs=[model], source_directory=source,
    )  # fmt: skip
    pipeline = Pipeline(ws, [train])  # resolve_closure brings in prepare
    assert [s.name for s in pipeline.steps] == ["train", "prepare"]
    assert prepare in pipeline.steps
    return pipeline


def test_two_steps_run_pass_data_and_are_reused(
    ws: Workspace, source: Path, tmp_path: Path
) -> None:
    rows = PipelineParameter("rows", default_value=5)
    pipeline = _two_steps(ws, source, rows)
    assert pipeline.validate() == []
    exp = Experiment(ws, "pipes")
    run = exp.submit(pipeline, pipeline_parameters={"rows": 7})
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed"
    assert run.type == "azureml.PipelineRun"
    steps = {s.name: s for s in run.get_steps()}
    assert set(steps) == {"prepare", "train"}
    assert all(s.get_status() == "Completed" for s in steps.values())
    train = run.find_step_run("train")[0]
    assert "trained on 7 rows" in train.get_job_log()
    folder = train.get_output_data("model").download(tmp_path / "got")
    assert (Path(folder) / "model.txt").read_text() == "trained on 7 rows\n"
    first_key = train.get_details()["reuse"]["key"]

    again = exp.submit(pipeline, pipeline_parameters={"rows": 7})
    again.wait_for_completion(show_output=False)
    assert again.get_status() == "Completed"
    reused = {s.name: s for s in again.get_steps()}
    assert reused["train"].reused_run_id == train.id
    assert reused["prepare"].reused_run_id == steps["prepare"].id
    details = reused["train"].get_details()
    assert details["reuse"]["key"] == first_key
    assert details["reuse"]["reused_run_id"] == train.id
    assert reused["train"].get_output_data("model").path_on_datastore == (
        train.get_output_data("model").path_on_datastore
    )

    # another parameter value: prepare reruns, and train reads new data so it reruns too
    changed = exp.submit(pipeline, pipeline_parameters={"rows": 3})
    changed.wait_for_completion(show_output=False)
    assert all(s.reused_run_id is None for s in changed.get_steps())
    assert "trained on 3 rows" in changed.find_step_run("train")[0].get_job_log()

    forced = exp.submit(pipeline, pipeline_parameters={"rows": 7}, regenerate_outputs=True)
    forced.wait_for_completion(show_output=False)
    assert all(s.reused_run_id is None for s in forced.get_steps())
    why = forced.find_step_run("prepare")[0].get_details()["reuse"]["why_not"]
    assert why == "regenerate_outputs"


@pytest.mark.one_database
def test_a_failed_step_fails_the_pipeline_and_cancels_what_depends_on_it(
    ws: Workspace, source: Path
) -> None:
    broken = PipelineData("broken")
    fail = PythonScriptStep("fail.py", name="fail", outputs=[broken], source_directory=source)
    after = PythonScriptStep(
        "train.py", name="after", arguments=["--data", broken, "--model", "m"],
        inputs=[broken], source_directory=source,
    )  # fmt: skip
    alone = PipelineData("alone")
    independent = PythonScriptStep(
        "prepare.py", name="independent", arguments=["--out", alone, "--rows", 2],
        outputs=[alone], source_directory=source, allow_reuse=False,
    )  # fmt: skip
    pipeline = Pipeline(ws, [fail, after, independent])
    run = Experiment(ws, "pipes").submit(pipeline, continue_on_step_failure=True)
    with pytest.raises(RunFailedError, match="fail"):
        run.wait_for_completion(show_output=False)
    statuses = run.get_step_statuses()
    assert statuses == {"fail": "Failed", "after": "Canceled", "independent": "Completed"}
    assert "exited with code 3" in run.get_details()["error"]["message"]
