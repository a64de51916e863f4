"""``atelier run``: a journey through runs logged with the SDK and read with the CLI."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from tests.helpers.cli import Atelier, Result, assert_one_line_error, invoke, use_home
from tests.helpers.databases import seed_home


@dataclass(frozen=True)
class Logged:
    parent: str
    child: str
    failed: str
    other: str


@pytest.fixture(scope="module")
def logged_home(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[Path, Logged]]:
    """Workspace 'lab' (made by the CLI) with runs logged in this process by the SDK, in a
    home of this module: the tests below only read it."""
    folder = tmp_path_factory.mktemp("run-cli") / "atelier-home"
    seed_home(folder, sqlite_template)
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, folder)
        assert invoke(["workspace", "create", "lab"], cwd=folder.parent).code == 0
        experiment = Experiment(Workspace.get("lab"), "iris")
        with experiment.start_logging(display_name="first", tags={"area": "demo"}) as run:
            for step in range(5):
                run.log("loss", 1.0 / (step + 1))
            run.log("accuracy", 0.9)
            run.log_row("epochs", epoch=1, loss=0.5)
            run.log_row("epochs", epoch=2, loss=0.25)
            run.add_properties({"owner": "ci"})
            run.upload_file("outputs/model.bin", io.BytesIO(b"\x00weights"))
            run.upload_file("logs/run.log", io.BytesIO(b"it ran"))
            with run.child_run("fold-1") as child:
                child.log("accuracy", 0.8)
        with experiment.start_logging(tags={"area": "other"}) as other:
            other.log("accuracy", 0.7)
        failed = experiment.start_logging()
        failed.log("accuracy", 0.95)
        failed.fail("diverged\nat step 3", error_code="TrainingError")
        reset_backends()
        yield folder, Logged(parent=run.id, child=child.id, failed=failed.id, other=other.id)
    reset_backends()


@pytest.fixture
def cli_home(logged_home: tuple[Path, Logged], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module's home, with the runs below already logged."""
    use_home(monkeypatch, logged_home[0])
    return logged_home[0]


@pytest.fixture
def logged(logged_home: tuple[Path, Logged]) -> Logged:
    return logged_home[1]


def _ids(result: Result) -> list[str]:
    return [run["runId"] for run in result.json()]


def _cells(result: Result, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    assert result.code == 0, result.stderr
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line.strip().strip("│┃"))]
        if cells[0] == first:
            return cells
    raise AssertionError(f"no row starting with {first!r} in:\n{result.stdout}")


def test_list_table(atelier: Atelier, logged: Logged) -> None:
    table = atelier("run", "list", "-w", "lab", "-e", "iris", "--include-children")
    header_cells = _cells(table, "run id")
    assert header_cells == [
        "run id",
        "#",
        "name",
        "status",
        "started",
        "ended",
        "parent",
        "accuracy",
        "loss",
    ]
    parent = dict(zip(header_cells, _cells(table, logged.parent), strict=True))
    assert (parent["status"], parent["accuracy"], parent["loss"]) == ("Completed", "0.9", "0.2")
    assert parent["parent"] == ""
    assert parent["started"] <= parent["ended"]
    child = dict(zip(header_cells, _cells(table, logged.child), strict=True))
    assert (child["parent"], child["accuracy"], child["loss"]) == (logged.parent, "0.8", "")
    failed = dict(zip(header_cells, _cells(table, logged.failed), strict=True))
    assert (failed["status"], failed["accuracy"]) == ("Failed", "0.95")


def test_show(atelier: Atelier, logged: Logged) -> None:
    details = atelier("run", "show", logged.parent, "-w", "lab", "-o", "json").json()
    assert details["runId"] == logged.parent
    assert details["status"] == "Completed"
    assert details["tags"] == {"area": "demo"}
    assert details["properties"]["owner"] == "ci"
    assert details["children"] == [logged.child]
    assert details["files"] == ["logs/run.log", "outputs/model.bin"]
    assert details["latestMetrics"] == {"accuracy": 0.9, "loss": 0.2}
    assert "error" not in details

    failed = atelier("run", "show", logged.failed, "-w", "lab", "-o", "json").json()
    assert failed["error"]["code"] == "TrainingError"
    assert failed["error"]["message"] == "diverged\nat step 3"

    table = atelier("run", "show", logged.parent, "-w", "lab")
    assert _cells(table, "status") == ["status", "Completed"]
    assert _cells(table, "area") == ["area", "demo"]
    assert _cells(table, "owner") == ["owner", "ci"]
    assert _cells(table, "children") == ["children", logged.child]
    assert "outputs/model.bin" in table.stdout
    failed_table = atelier("run", "show", logged.failed, "-w", "lab")
    assert _cells(failed_table, "error") == ["error", "TrainingError: diverged"]


def test_metrics(atelier: Atelier, logged: Logged) -> None:
    values = atelier("run", "metrics", logged.parent, "-w", "lab", "-o", "json").json()
    assert values["loss"] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert values["accuracy"] == 0.9
    assert values["epochs"] == {"epoch": [1, 2], "loss": [0.5, 0.25]}
    only = atelier("run", "metrics", logged.parent, "-w", "lab", "--name", "loss", "-o", "json")
    assert list(only.json()) == ["loss"]

    table = atelier("run", "metrics", logged.parent, "-w", "lab")
    assert _cells(table, "name") == ["name", "kind", "count", "last", "min", "max"]
    assert _cells(table, "loss") == ["loss", "series", "5", "0.2", "0.2", "1"]
    assert _cells(table, "accuracy") == ["accuracy", "scalar", "1", "0.9", "0.9", "0.9"]
    assert _cells(table, "epochs") == ["epochs", "table", "2", "epoch=2, loss=0.25", "", ""]

    missing = atelier("run", "metrics", logged.parent, "-w", "lab", "-n", "f1")
    assert_one_line_error(missing, 3, "no metric 'f1'")


def test_download(atelier: Atelier, logged: Logged, tmp_path: Path) -> None:
    everything = tmp_path / "all"
    result = atelier("run", "download", logged.parent, "-w", "lab", "--output-dir", str(everything))
    assert result.code == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        str(everything / "logs" / "run.log"),
        str(everything / "outputs" / "model.bin"),
    ]
    assert (everything / "outputs" / "model.bin").read_bytes() == b"\x00weights"
    assert (everything / "logs" / "run.log").read_text() == "it ran"
    assert "downloaded 2 file(s)" in result.stderr
    (everything / "outputs" / "model.bin").write_bytes(b"mine")
    again = atelier("run", "download", logged.parent, "-w", "lab", "-o", str(everything))
    assert_one_line_error(again, 4, str(everything / "logs" / "run.log"), "--overwrite")
    assert (everything / "outputs" / "model.bin").read_bytes() == b"mine"  # nothing replaced
    replaced = atelier(
        "run", "download", logged.parent, "-w", "lab", "-o", str(everything), "--overwrite"
    )
    assert replaced.code == 0, replaced.stderr
    assert (everything / "outputs" / "model.bin").read_bytes() == b"\x00weights"

    into_cwd = tmp_path / "cwd-download"
    into_cwd.mkdir()
    only = atelier(
        "run", "download", logged.parent, "-w", "lab", "--prefix", "outputs", cwd=into_cwd
    )
    assert only.code == 0, only.stderr
    assert [p.relative_to(into_cwd).as_posix() for p in into_cwd.rglob("*") if p.is_file()] == [
        "outputs/model.bin"
    ]

    nothing = atelier(
        "run",
        "download",
        logged.parent,
        "-w",
        "lab",
        "--prefix",
        "models",
        "-d",
        str(tmp_path / "none"),
    )
    assert_one_line_error(nothing, 3, "no files under 'models'")
    escape = atelier("run", "download", logged.parent, "-w", "lab", "--prefix", "../etc")
    assert_one_line_error(escape, 2, "'..'")


def test_unknown_run_and_experiment(atelier: Atelier, logged: Logged) -> None:
    for command in ("show", "metrics", "download"):
        result = atelier("run", command, "iris_0_deadbeef", "-w", "lab")
        assert_one_line_error(result, 3, "run 'iris_0_deadbeef' not found")
    unknown = atelier("run", "list", "-w", "lab", "-e", "irs")
    assert_one_line_error(unknown, 3, "experiment 'irs' not found", "atelier experiment list")
    experiments = atelier("experiment", "list", "-w", "lab", "--view", "all", "-o", "json")
    assert [e["name"] for e in experiments.json()] == ["iris"]  # listing created nothing


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--status", "done"], "unknown run status 'done'"),
        (["--tag", "=demo"], "has no key"),
    ],
)
def test_bad_filters_are_exit_2(
    atelier: Atelier, logged: Logged, options: list[str], message: str
) -> None:
    result = atelier("run", "list", "-w", "lab", "-e", "iris", *options)
    assert_one_line_error(result, 2, message)


def test_top_below_one_is_a_usage_error(atelier: Atelier, logged: Logged) -> None:
    result = atelier("run", "list", "-w", "lab", "-e", "iris", "--top", "0")
    assert result.code == 2
    assert "--top" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def _table_lines(result: Result) -> list[str]:
    assert result.code == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_list_fits_the_terminal_one_line_per_run(
    atelier: Atelier, logged: Logged, width: int
) -> None:
    table = atelier(
        "run", "list", "-w", "lab", "-e", "iris", "--include-children", env={"COLUMNS": str(width)}
    )
    lines = _table_lines(table)
    assert all(len(line) <= width for line in lines), table.stdout
    # one line per run: four runs, nothing folded
    assert len([line for line in lines if line.startswith("│")]) == 4, table.stdout
    header = _cells(table, "run id")
    assert {"status", "name", "started"} <= set(header)
    first = dict(zip(header, _cells(table, _short(table, logged.parent)), strict=True))
    assert (first["status"], first["name"]) == ("Completed", "first")


def _short(table: Result, run_id: str) -> str:
    """The id as the table shows it: whole, or its last 8 characters."""
    return run_id if run_id in table.stdout else run_id[-8:]


def test_short_ids_are_accepted(atelier: Atelier, logged: Logged) -> None:
    shown = atelier("run", "show", logged.parent[-8:], "-w", "lab", "-o", "json").json()
    assert shown["runId"] == logged.parent


def test_list_across_the_workspace_and_chosen_columns(atelier: Atelier, logged: Logged) -> None:
    everything = atelier("run", "list", "-w", "lab", "-o", "json").json()
    assert {run["runId"] for run in everything} == {logged.parent, logged.failed, logged.other}
    assert {run["experiment"] for run in everything} == {"iris"}
    chosen = atelier("run", "list", "-w", "lab", "--columns", "id,name,accuracy")
    assert _cells(chosen, "run id") == ["run id", "name", "accuracy"]
    assert _cells(chosen, logged.parent) == [logged.parent, "first", "0.9"]
    bad = atelier("run", "list", "-w", "lab", "--columns", "id,acuracy")
    assert_one_line_error(bad, 2, "unknown column 'acuracy'", "accuracy")


@pytest.mark.parametrize(("output", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_list_as_csv_and_tsv(atelier: Atelier, logged: Logged, output: str, delimiter: str) -> None:
    import csv
    import io

    result = atelier("run", "list", "-w", "lab", "-e", "iris", "-o", output)
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter=delimiter))
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {logged.parent, logged.failed, logged.other}
    assert by_id[logged.parent]["accuracy"] == "0.9"
    assert by_id[logged.parent]["name"] == "first"
    assert by_id[logged.failed]["status"] == "Failed"
    # every table command takes it: the metrics summary as CSV
    metrics = atelier("run", "metrics", logged.parent, "-w", "lab", "-o", output)
    assert metrics.stdout.splitlines()[0].split(delimiter) == [
        "name",
        "kind",
        "count",
        "last",
        "min",
        "max",
    ]


def test_bad_order_by_is_an_error(atelier: Atelier, logged: Logged) -> None:
    result = atelier("run", "list", "-w", "lab", "-e", "iris", "--order-by", "accuracy descending")
    assert_one_line_error(result, 2, "'accuracy descending'", "accuracy, loss")
    unknown = atelier("run", "list", "-w", "lab", "-e", "iris", "--order-by", "f1 desc")
    assert_one_line_error(unknown, 2, "no run logged a metric 'f1'")


def test_downloads_take_output_dir_as_o(atelier: Atelier, logged: Logged, tmp_path: Path) -> None:
    folder = tmp_path / "by-o"
    result = atelier("run", "download", logged.parent, "-w", "lab", "-o", str(folder))
    assert result.code == 0, result.stderr
    assert (folder / "outputs" / "model.bin").read_bytes() == b"\x00weights"
    for command in (["run"], ["model"], ["dataset"], ["datastore"]):
        helped = atelier(*command, "download", "--help", env={"COLUMNS": "200"})
        assert "--output-dir" in helped.stdout, command
        assert "--overwrite" in helped.stdout, command  # one overwrite rule
        assert "-o" in helped.stdout, command
