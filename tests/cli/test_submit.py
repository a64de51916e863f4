"""``atelier run submit | logs | cancel``: real scripts on local compute, as a shell sees them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from atelier.sdk.tracking.runconfig import RunConfiguration
from tests.helpers.cli import Atelier, Result, assert_one_line_error

pytestmark = pytest.mark.slow  # each test submits scripts and starts the CLI several times

SCRIPTS = {
    "train.py": """
        import sys
        print("hello from train.py", flush=True)
        print("arguments:", sys.argv[1:], flush=True)
    """,
    "fail.py": """
        print("about to fail", flush=True)
        raise SystemExit("boom: the data is bad")
    """,
}


@pytest.fixture
def source(atelier: Atelier, tmp_path: Path) -> Path:
    """Workspace 'lab' and a source folder holding the scripts above."""
    assert atelier("workspace", "create", "lab").code == 0
    folder = tmp_path / "src"
    folder.mkdir()
    for name, body in SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(body))
    return folder


def _submit(atelier: Atelier, source: Path, *args: str) -> Result:
    return atelier("run", "submit", "-w", "lab", "-e", "jobs", "--source-dir", str(source), *args)


def _run_id(result: Result) -> str:
    """The run id from the first line a following ``run submit`` prints."""
    first = result.stdout.splitlines()[0]
    assert first.startswith("run ") and "submitted" in first, result.stdout
    return first.split()[1]


def test_submit_follows_the_script_then_show_and_logs_read_it(
    atelier: Atelier, source: Path
) -> None:
    result = _submit(
        atelier, source, "--script", "train.py", "--tag", "area=demo",
        "--", "--lr", "0.5", "two words",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    run_id = _run_id(result)
    assert "hello from train.py" in lines
    assert "arguments: ['--lr', '0.5', 'two words']" in lines
    assert lines[-1] == f"run {run_id} Completed"

    details = atelier("run", "show", run_id, "-w", "lab", "-o", "json").json()
    assert details["status"] == "Completed"
    assert details["tags"] == {"area": "demo"}
    assert details["runDefinition"]["arguments"] == ["--lr", "0.5", "two words"]
    assert "user_logs/std_log.txt" in details["files"]

    logs = atelier("run", "logs", run_id, "-w", "lab")
    assert logs.code == 0, logs.stderr
    assert logs.stdout.splitlines() == [
        "hello from train.py",
        "arguments: ['--lr', '0.5', 'two words']",
    ]

    restored = atelier("run", "snapshot", run_id, "-w", "lab", "-d", str(source.parent / "back"))
    assert restored.code == 0, restored.stderr
    folder = Path(restored.stdout.strip())
    assert (folder / "train.py").read_text() == (source / "train.py").read_text()


def test_a_failing_script_exits_7_with_its_message(atelier: Atelier, source: Path) -> None:
    result = _submit(atelier, source, "--script", "fail.py")
    assert_one_line_error(result, 7, "ended Failed", "boom: the data is bad")
    assert "about to fail" in result.stdout
    assert result.stdout.splitlines()[-1] == f"run {_run_id(result)} Failed"

    logs = atelier("run", "logs", _run_id(result), "-w", "lab", "--follow")
    assert_one_line_error(logs, 7, "boom: the data is bad")
    assert "about to fail" in logs.stdout


def test_a_saved_runconfig_with_json_output(atelier: Atelier, source: Path) -> None:
    saved = RunConfiguration(script="train.py", arguments=["from-config", 3]).save(source, "train")
    result = _submit(atelier, source, "-f", str(saved), "-o", "json")
    details = result.json()  # stdout holds only the details ...
    assert details["status"] == "Completed"
    assert details["runDefinition"]["arguments"] == ["from-config", "3"]
    assert "arguments: ['from-config', '3']" in result.stderr  # ... the output went to stderr

    overridden = _submit(atelier, source, "-f", str(saved), "--", "mine")
    assert overridden.code == 0, overridden.stderr
    assert "arguments: ['mine']" in overridden.stdout


def test_bad_submissions_and_logs_of_an_unsubmitted_run(atelier: Atelier, source: Path) -> None:
    assert_one_line_error(_submit(atelier, source), 2, "--script", "-f")
    assert_one_line_error(
        _submit(atelier, source, "--script", "train.py", "--tag", "area"), 2, "KEY=VALUE"
    )
    assert_one_line_error(
        _submit(atelier, source, "--script", "train.py", "--environment", "nope:1"), 3, "'nope'"
    )

    reset_backends()
    with Experiment(Workspace.get("lab"), "notebook").start_logging() as run:
        run.log("accuracy", 0.9)
    reset_backends()  # let go of the database before the CLI processes open it
    result = atelier("run", "logs", run.id, "-w", "lab")
    assert_one_line_error(result, 3, "was not submitted")


def test_a_terminal_sees_the_run_prepare_on_a_progress_line(atelier: Atelier, source: Path) -> None:
    result = atelier(
        "run", "submit", "-w", "lab", "-e", "jobs", "--source-dir", str(source),
        "--script", "train.py", env={"TTY_COMPATIBLE": "1"},
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert f"run {_run_id(result)}: started" in result.stderr  # the line, once the script runs
    assert "hello from train.py" in result.stdout.splitlines()
