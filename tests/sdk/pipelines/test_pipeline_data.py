"""Data into and between steps: DataReference, datasets, OutputFileDatasetConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Dataset, Experiment, Workspace
from atelier.azureml.data import OutputFileDatasetConfig
from atelier.azureml.data.data_reference import DataReference
from atelier.azureml.pipeline.core import Pipeline
from atelier.azureml.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.one_database  # the database kind is incidental here

COPY = """
import pathlib, shutil, sys
source, target = sys.argv[1], sys.argv[2]
pathlib.Path(target).mkdir(parents=True, exist_ok=True)
for item in pathlib.Path(source).rglob("*.csv"):
    shutil.copy(item, pathlib.Path(target) / item.name)
print("copied", sorted(p.name for p in pathlib.Path(target).iterdir()))
"""

READ = """
import pathlib, sys
files = sorted(p.name for p in pathlib.Path(sys.argv[1]).rglob("*"))
extra = sorted(p.name for p in pathlib.Path(sys.argv[2]).rglob("*"))
print("files", files, "extra", extra)
"""

TABLE = """
from atelier import Run

table = Run.get_context().input_datasets["table"].to_pandas_dataframe()
print("rows", len(table), "sum", int(table["y"].sum()))
"""


def _sources(tmp_path: Path) -> Path:
    source = tmp_path / "steps"
    source.mkdir()
    (source / "copy_csv.py").write_text(COPY)
    (source / "read.py").write_text(READ)
    (source / "table.py").write_text(TABLE)
    return source


def test_data_reference_dataset_and_output_config_inputs(ws: Workspace, tmp_path: Path) -> None:
    source = _sources(tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x,y\n1,10\n2,20\n")
    store = ws.get_default_datastore()
    store.upload(str(raw), target_path="raw")
    extra = Dataset.File.from_files(path=(store, "raw/a.csv"))

    copied = OutputFileDatasetConfig("copied")
    copy = PythonScriptStep(
        "copy_csv.py", name="copy", source_directory=source,
        arguments=[DataReference(store, "raw_in", "raw"), copied],
    )  # fmt: skip
    read = PythonScriptStep(
        "read.py", name="read", source_directory=source,
        arguments=[copied.as_input("files"), extra.as_named_input("extra").as_download()],
    )  # fmt: skip
    pipeline = Pipeline(ws, [copy, read])
    assert pipeline.validate() == []
    run = Experiment(ws, "data-pipes").submit(pipeline)
    run.wait_for_completion(show_output=False)
    log = run.find_step_run("read")[0].get_job_log()
    assert "files ['a.csv'] extra ['a.csv']" in log


@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_later_step_reads_an_output_as_a_table(ws: Workspace, tmp_path: Path) -> None:
    """Over HTTP: the script reads the table with its run's token."""
    source = _sources(tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x,y\n1,10\n2,20\n")
    store = ws.get_default_datastore()
    store.upload(str(raw), target_path="raw")
    copied = OutputFileDatasetConfig("copied")
    copy = PythonScriptStep(
        "copy_csv.py", name="copy", source_directory=source,
        arguments=[DataReference(store, "raw_in", "raw"), copied],
    )  # fmt: skip
    table = PythonScriptStep(
        "table.py", name="table", source_directory=source,
        inputs=[copied.read_delimited_files().as_named_input("table")],
    )  # fmt: skip
    run = Experiment(ws, "data-pipes").submit(Pipeline(ws, [copy, table]))
    run.wait_for_completion(show_output=False)
    assert "rows 2 sum 30" in run.find_step_run("table")[0].get_job_log()
