"""Cancelling a pipeline run, and a step kind built on the step base class."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atelier import Experiment, RunFailedError, Workspace
from atelier.azureml.pipeline.core import Pipeline, PipelineData
from atelier.azureml.pipeline.steps import PythonScriptStep
from atelier.sdk.pipelines import PipelineStep

pytestmark = pytest.mark.one_database  # the database kind is incidental here

SLOW = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"


class EchoStep(PipelineStep):
    """A step that is a shell command, as ParallelRunStep or HyperDriveStep build theirs."""

    kind = "EchoStep"

    def __init__(self, name: str, words: str, source_directory: Path) -> None:
        super().__init__(name, command=f"echo {words}", source_directory=source_directory)


def test_cancel_stops_the_running_step_and_starts_no_more(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW)
    (tmp_path / "after.py").write_text("print('never')\n")
    handoff = PipelineData("handoff")
    slow = PythonScriptStep("slow.py", name="slow", outputs=[handoff], source_directory=tmp_path)
    after = PythonScriptStep("after.py", name="after", inputs=[handoff], source_directory=tmp_path)
    run = Experiment(ws, "cancel-pipes").submit(Pipeline(ws, [slow, after]))
    deadline = time.monotonic() + 60
    while run.find_step_run("slow")[0].get_status() != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    run.cancel()
    with pytest.raises(RunFailedError, match="Canceled"):
        run.wait_for_completion(show_output=False, timeout_seconds=60)
    assert run.get_step_statuses() == {"slow": "Canceled"}


def test_a_command_step_on_the_base_class(ws: Workspace, tmp_path: Path) -> None:
    pipeline = Pipeline(ws, [EchoStep("echo", "hello from a command", tmp_path)])
    run = Experiment(ws, "echo-pipes").submit(pipeline)
    run.wait_for_completion(show_output=False)
    step = run.find_step_run("echo")[0]
    assert "hello from a command" in step.get_job_log()
    assert step.get_details()["reuse"]["components"]["kind"] == "EchoStep"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_step_that_wrote_an_empty_output_is_reused(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "empty-src"
    source.mkdir()
    (source / "nothing.py").write_text(
        "import pathlib, sys\npathlib.Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)\n"
    )
    nothing = PipelineData("nothing")
    step = PythonScriptStep(
        "nothing.py", name="nothing", arguments=[nothing], outputs=[nothing],
        source_directory=source,
    )  # fmt: skip
    exp = Experiment(ws, "empty-pipes")
    first = exp.submit(Pipeline(ws, [step]))
    first.wait_for_completion(show_output=False)
    (done,) = first.get_steps()
    again = exp.submit(Pipeline(ws, [step]))
    again.wait_for_completion(show_output=False)
    assert again.get_steps()[0].reused_run_id == done.id
