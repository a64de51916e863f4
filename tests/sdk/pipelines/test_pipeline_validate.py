"""What ``Pipeline.validate()`` and submit refuse, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.azureml.data import OutputFileDatasetConfig
from atelier.azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from atelier.azureml.pipeline.steps import PythonScriptStep
from atelier.core.errors import (
    DuplicateOutputError,
    MissingProducerError,
    MissingScriptError,
    PipelineCycleError,
    PipelineValidationError,
    UndeclaredParameterError,
    ValidationError,
)


def _step(source: Path, name: str, **kwargs: object) -> PythonScriptStep:
    return PythonScriptStep("prepare.py", name=name, source_directory=source, **kwargs)  # type: ignore[arg-type]


def test_a_cycle_is_reported(ws: Workspace, source: Path) -> None:
    a_out, b_out = PipelineData("a_out"), PipelineData("b_out")
    a = _step(source, "a", inputs=[b_out], outputs=[a_out])
    b = _step(source, "b", inputs=[a_out], outputs=[b_out])
    problems = Pipeline(ws, [a, b]).validate()
    assert [type(p) for p in problems] == [PipelineCycleError]
    with pytest.raises(PipelineCycleError, match="cycle"):
        Experiment(ws, "bad").submit(Pipeline(ws, [a, b]))
    assert list(Experiment(ws, "bad").get_runs()) == []


def test_data_read_but_never_written(ws: Workspace, source: Path) -> None:
    orphan = PipelineData("orphan")
    step = _step(source, "reader", inputs=[orphan])
    problems = Pipeline(ws, [step]).validate()
    assert [type(p) for p in problems] == [MissingProducerError]
    assert "orphan" in problems[0].message


def test_two_steps_writing_one_output_name(ws: Workspace, source: Path) -> None:
    first = _step(source, "first", outputs=[PipelineData("same")])
    second = _step(source, "second", outputs=[OutputFileDatasetConfig("same")])
    problems = Pipeline(ws, [first, second]).validate()
    assert [type(p) for p in problems] == [DuplicateOutputError]


def test_a_missing_script(ws: Workspace, source: Path) -> None:
    step = PythonScriptStep("nope.py", name="nope", source_directory=source)
    problems = Pipeline(ws, [step]).validate()
    assert [type(p) for p in problems] == [MissingScriptError]
    with pytest.raises(MissingScriptError, match=r"nope\.py"):
        Experiment(ws, "bad").submit(Pipeline(ws, [step]))


def test_undeclared_and_mistyped_parameters(ws: Workspace, source: Path) -> None:
    rows = PipelineParameter("rows", default_value=5)
    step = _step(source, "p", arguments=["--out", "o", "--rows", rows])
    pipeline = Pipeline(ws, [step])
    with pytest.raises(UndeclaredParameterError, match="'colour'"):
        Experiment(ws, "bad").submit(pipeline, pipeline_parameters={"colour": "red"})
    with pytest.raises(PipelineValidationError, match="takes a int"):
        Experiment(ws, "bad").submit(pipeline, pipeline_parameters={"rows": "many"})


def test_bad_building_blocks(ws: Workspace, source: Path) -> None:
    with pytest.raises(ValidationError, match="letters, digits and underscores"):
        PipelineData("no spaces")
    with pytest.raises(ValidationError, match="inputs take"):
        _step(source, "x", inputs=["a string"])
    with pytest.raises(ValidationError, match="non-empty list of steps"):
        Pipeline(ws, [])
    with pytest.raises(ValidationError, match="default_value"):
        PipelineParameter("p", default_value=[1])


def test_an_input_and_an_output_of_one_step_share_a_name(ws: Workspace, source: Path) -> None:
    made, other = PipelineData("data"), OutputFileDatasetConfig("other")
    first = _step(source, "first", outputs=[made, other])
    second = _step(source, "second", inputs=[made, other.as_input("data")])
    problems = Pipeline(ws, [first, second]).validate()
    assert len(problems) == 1
    assert "more than one input or output named ['data']" in problems[0].message
