"""Datasets as run inputs and outputs, and the lineage from models back to data."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, Model, ValidationError, Workspace
from atelier.sdk.data._inputs import OutputFileDatasetConfig
from atelier.sdk.data.data_reference import DataReference
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.tracking.runconfig import ScriptRunConfig

pytestmark = pytest.mark.one_database  # the database kind is incidental here

SCRIPT = """
    import os, sys
    from pathlib import Path
    from atelier import Run
    run = Run.get_context()
    table = run.input_datasets["iris"]
    frame = table.to_pandas_dataframe()
    print("rows", len(frame), "columns", ",".join(frame.columns), flush=True)
    images = run.input_datasets["images"]
    print("images at", images, sorted(p.name for p in Path(images).rglob("*.txt")), flush=True)
    print("argv", sys.argv[1:], flush=True)
    out = Path(sys.argv[sys.argv.index("--out") + 1])
    (out / "summary.txt").write_text(f"{len(frame)} rows")
    os.makedirs("outputs", exist_ok=True)
    Path("outputs/model.txt").write_text("weights")
"""


@pytest.fixture
def data(ws: Workspace, tmp_path: Path) -> tuple[Datastore, Path]:
    folder = tmp_path / "data"
    (folder / "images" / "a").mkdir(parents=True)
    (folder / "iris.csv").write_text("sepal,petal,label\n5.1,1.4,setosa\n6.2,4.5,versicolor\n")
    (folder / "images" / "a" / "one.txt").write_text("1")
    (folder / "images" / "two.txt").write_text("2")
    return Datastore.register_local(ws, "lake", folder), folder


def _source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(SCRIPT))
    return folder


@pytest.mark.parametrize("mode", ["download", "mount"])
def test_inputs_reach_the_script_and_lineage_is_recorded(
    ws: Workspace, data: tuple[Datastore, Path], tmp_path: Path, mode: str
) -> None:
    store, _ = data
    iris = Dataset.Tabular.from_delimited_files((store, "iris.csv")).register(ws, "iris")
    images = Dataset.File.from_files((store, "images")).register(ws, "images")
    named = images.as_named_input("images")
    output = OutputFileDatasetConfig("summary", destination=(store, "summaries")).as_upload()
    config = ScriptRunConfig(
        source_directory=_source(tmp_path),
        script="train.py",
        arguments=[
            iris.as_named_input("iris"),
            named.as_mount() if mode == "mount" else named.as_download(),
            "--out",
            output.register_on_complete("summaries"),
        ],
    )
    run = Experiment(ws, "with-data").submit(config)
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", (details.get("error"), out.getvalue())
    text = out.getvalue()
    assert "rows 2 columns sepal,petal,label" in text
    assert "['one.txt', 'two.txt']" in text
    assert f"argv ['{iris.id}', " in text
    # the run's inputs, and the registered output
    assert {d["name"]: d["datasetId"] for d in details["inputDatasets"]}["iris"] == iris.id
    inputs = run.input_datasets
    assert (inputs["iris"].name, inputs["iris"].version) == ("iris", 1)
    assert [r.id for r in iris.get_runs()] == [run.id]
    summaries = Dataset.get_by_name(ws, "summaries")
    assert summaries.to_path() == ["/summary.txt"]  # type: ignore[attr-defined]
    # the model's lineage, both ways
    model = run.register_model("clf", "outputs/model.txt", datasets=[("training data", iris)])
    assert [d.id for d in model.datasets["training data"]] == [iris.id]
    assert [m.id for m in iris.get_models()] == [model.id]
    assert [m.id for m in Model.list(ws, dataset_id=iris.id)] == [model.id]
    assert images.get_models() == []


def test_a_changed_input_fails_the_run_clearly(
    ws: Workspace, data: tuple[Datastore, Path], tmp_path: Path
) -> None:
    store, folder = data
    images = Dataset.File.from_files((store, "images")).register(ws, "images")
    (folder / "images" / "two.txt").write_text("changed!")
    config = ScriptRunConfig(
        source_directory=_source(tmp_path),
        script="train.py",
        arguments=[images.as_named_input("images")],
    )
    run = Experiment(ws, "with-data").submit(config)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "changed since it was registered" in details["error"]["message"]


def test_model_datasets_must_be_registered_versions(ws: Workspace, tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"w")
    (tmp_path / "d.csv").write_text("a\n1\n")
    unregistered = Dataset.Tabular.from_delimited_files(str(tmp_path / "d.csv"))
    with pytest.raises(ValidationError, match="not registered"):
        Model.register(ws, weights, "m", datasets=[("training data", unregistered)])
    registered = unregistered.register(ws, "d")
    model = Model.register(ws, weights, "m", datasets=[("training data", registered)])
    assert list(model.datasets) == ["training data"]
    assert Model.list(ws, name="m")[0].datasets["training data"][0].version == 1
    with pytest.raises(ValidationError, match="tuples"):
        Model.register(ws, weights, "m", datasets=["nope"])
    with pytest.raises(ValidationError, match="passed directly"):
        registered.as_named_input("x").as_download()


def test_input_names_are_checked_before_the_run_exists(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    ds = Dataset.Tabular.from_delimited_files(str(tmp_path / "d.csv"))
    config = ScriptRunConfig(
        source_directory=_source(tmp_path),
        script="train.py",
        arguments=[ds.as_named_input("x"), ds.as_named_input("x")],
    )
    with pytest.raises(ValidationError, match="share the name"):
        Experiment(ws, "dup").submit(config)
    assert not list(Experiment(ws, "dup").get_runs())
    with pytest.raises(ValidationError, match="invalid input name"):
        ds.as_named_input("not a name")


LISTS_ITS_ARGUMENTS = """
    import sys
    from pathlib import Path
    for folder in sys.argv[1:]:
        print("files", sorted(p.name for p in Path(folder).rglob("*") if p.is_file()), flush=True)
"""


def test_azureml_shortcuts_mount_and_download_as_arguments(
    ws: Workspace, data: tuple[Datastore, Path], tmp_path: Path
) -> None:
    store, _ = data
    images = Dataset.File.from_files((store, "images"))
    source = tmp_path / "src"
    source.mkdir()
    (source / "job.py").write_text(textwrap.dedent(LISTS_ITS_ARGUMENTS))
    arguments = [
        images.as_mount(),  # FileDataset.as_mount()
        images.take(1).as_download(),  # FileDataset.as_download()
        store.path("images/a").as_mount(),  # DataPath.as_mount()
        store.as_download(),  # Datastore.as_download(): the whole datastore
    ]
    assert str(arguments[0]).startswith("DatasetConsumptionConfig:input_")
    config = ScriptRunConfig(source_directory=source, script="job.py", arguments=arguments)
    run = Experiment(ws, "shortcuts").submit(config)
    out = io.StringIO()
    run.stream_logs(out)
    assert run.wait_for_completion()["status"] == "Completed", out.getvalue()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("files")]
    assert lines == [
        "files ['one.txt', 'two.txt']",
        "files ['one.txt']",
        "files ['one.txt']",
        "files ['iris.csv', 'one.txt', 'two.txt']",
    ]
    with pytest.raises(ValidationError, match="mode must be one of"):
        DataReference(store, mode="upload")


def test_datastore_mount_is_named_after_the_datastore(
    ws: Workspace, data: tuple[Datastore, Path]
) -> None:
    store, _ = data
    reference = store.as_mount()
    assert reference.data_reference_name == "lake" and reference.mode == "mount"
    assert str(reference) == "DatasetConsumptionConfig:lake"


READS_ITS_INPUTS = """
    import os, sys
    from pathlib import Path
    for folder in sys.argv[1:]:
        files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        print("at", folder, [(p.name, p.read_text()) for p in files], flush=True)
    print("cwd", os.getcwd(), flush=True)
    print("variables", os.environ["AZUREML_DATAREFERENCE_lake"], os.environ["lake"], flush=True)
"""


def test_inputs_go_where_path_on_compute_says(
    ws: Workspace, data: tuple[Datastore, Path], tmp_path: Path
) -> None:
    """Mounted and downloaded at the given paths (a relative one below the working
    directory), read there by the script, and named in azureml's variables."""
    store, _ = data
    source = tmp_path / "src"
    source.mkdir()
    (source / "job.py").write_text(textwrap.dedent(READS_ITS_INPUTS))
    mounted, downloaded = tmp_path / "compute" / "mounted", tmp_path / "compute" / "downloaded"
    arguments = [
        Dataset.File.from_files((store, "images")).as_mount(path_on_compute=str(mounted)),
        store.path("images/a").as_mount(path_on_compute="data/a"),  # DataPath.as_mount
        store.path("images").as_download(path_on_compute=str(downloaded)),
        store.as_mount(path_on_compute="whole"),  # Datastore.as_mount
    ]
    config = ScriptRunConfig(source_directory=source, script="job.py", arguments=arguments)
    run = Experiment(ws, "placed").submit(config)
    out = io.StringIO()
    run.stream_logs(out)
    assert run.wait_for_completion()["status"] == "Completed", out.getvalue()
    lines = dict(line.split(" ", 1) for line in out.getvalue().splitlines() if " " in line)
    cwd = Path(lines["cwd"])
    assert out.getvalue().count("\nat ") + out.getvalue().startswith("at ") == 4
    assert f"at {mounted} [('one.txt', '1'), ('two.txt', '2')]" in out.getvalue()
    assert f"at {cwd / 'data' / 'a'} [('one.txt', '1')]" in out.getvalue()
    assert f"at {downloaded} [('one.txt', '1'), ('two.txt', '2')]" in out.getvalue()
    assert f"at {cwd / 'whole'} [('one.txt', '1'), ('two.txt', '2'), ('iris.csv'," in out.getvalue()
    assert lines["variables"] == f"{cwd / 'whole'} {cwd / 'whole'}"
    assert (downloaded / "a" / "one.txt").read_text() == "1"  # a download stays where it was put
    with pytest.raises(ValidationError, match="path_on_compute"):
        store.path("images").as_mount(path_on_compute="  ")
