"""Errors that fit: a broken home is one typed error that names it and what to do (never a
silently re-created empty database), and a missing optional extra names the pip command."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from atelier import Experiment, HomeError, Workspace
from atelier.cli.main import build
from atelier.client.registry import reset_backends
from tests.helpers.cli import Atelier, assert_one_line_error


def _home_with_a_run(atelier: Atelier, home: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    with Experiment(Workspace.get("lab"), "iris").start_logging() as run:
        run.upload_file("outputs/model.bin", io.BytesIO(b"weights"))
    reset_backends()


def _remove_database(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (home / f"atelier.db{suffix}").unlink(missing_ok=True)


def test_a_missing_database_beside_runs_files_is_refused(atelier: Atelier, cli_home: Path) -> None:
    _home_with_a_run(atelier, cli_home)
    _remove_database(cli_home)
    result = atelier("workspace", "list")
    assert_one_line_error(result, 6, f"{cli_home / 'atelier.db'} is missing", "backup")
    assert not (cli_home / "atelier.db").exists()  # nothing re-created
    with pytest.raises(HomeError, match="is missing"):
        Workspace.list()
    (cli_home / "atelier.db").write_bytes(b"")
    assert_one_line_error(atelier("workspace", "list"), 6, "is empty")


def test_a_corrupted_database_or_a_file_as_home_is_one_error(
    atelier: Atelier, cli_home: Path, tmp_path: Path
) -> None:
    _remove_database(cli_home)
    (cli_home / "atelier.db").write_bytes(b"this is not sqlite at all")
    assert_one_line_error(atelier("workspace", "list"), 6, "not a SQLite database")
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("x")
    result = atelier("workspace", "list", env={"ATELIER_HOME": str(not_a_folder)})
    assert_one_line_error(result, result.code, str(not_a_folder))
    assert result.code != 0
    with pytest.raises(HomeError, match="is a file, not a folder"):
        Workspace.list(home=str(not_a_folder))


def test_server_start_without_the_server_extra(
    atelier: Atelier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = atelier("server", "start")
    assert_one_line_error(result, 1, "pip install 'atelier-ml[server]'")
    init = atelier("server", "init", "--admin", "root")
    assert_one_line_error(init, 1, "atelier server init", "pip install 'atelier-ml[server]'")


def test_doctor_reports_the_home_extras_and_what_to_fix(atelier: Atelier, cli_home: Path) -> None:
    report = {row["check"]: row for row in atelier("doctor", "-o", "json").json()}
    assert report["home"]["status"] == "ok"
    assert report["database"]["status"] == "ok"
    assert report["extra server"]["status"] == "ok"
    assert "atelier-ml[" in report["extra gcs"]["detail"] or report["extra gcs"]["status"] == "ok"
    assert report["server"]["status"] == "-"
    table = atelier("doctor")
    assert table.code == 0, table.stderr
    assert "container engine" in table.stdout
    (cli_home / "secret.key").write_text("x")
    (cli_home / "secret.key").chmod(0o644)
    broken = atelier("doctor", "-o", "json")
    assert broken.code == 1
    assert "chmod 600" in broken.stdout


def test_shell_completion_is_offered(atelier: Atelier, monkeypatch: pytest.MonkeyPatch) -> None:
    result = atelier("--help")
    assert "--install-completion" in result.stdout
    # the shell named rather than looked for among this process's parents (a test started
    # from a detached job has none): Typer then takes the option's value as the shell. It
    # reads the variable as it builds the Click command, so this builds the app afresh.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    script = CliRunner().invoke(build(), ["--show-completion", "bash"], prog_name="atelier")
    assert script.exit_code == 0, script.output
    assert "_ATELIER_COMPLETE=complete_bash" in script.stdout
    completed = atelier(
        env={"_ATELIER_COMPLETE": "complete_bash", "COMP_WORDS": "atelier wor", "COMP_CWORD": "1"}
    )
    assert completed.stdout.split() == ["workspace"], completed


def test_cli_errors_give_cli_advice(atelier: Atelier, cli_cwd: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    again = atelier("workspace", "create", "lab")
    assert_one_line_error(again, 4, "--exist-ok", "'atelier workspace show lab'")
    assert "exist_ok" not in again.stderr
    assert "Workspace.get" not in again.stderr
    data = cli_cwd / "data.csv"
    data.write_text("a,b\n1,2\n")
    store = Workspace.get("lab").get_default_datastore()
    store.upload_files([str(data)], target_path="d")
    reset_backends()
    register = ("dataset", "register", "table", "--path", "d/data.csv", "-w", "lab")
    first = atelier(*register)
    assert first.code == 0, first.stderr
    twice = atelier(*register)
    assert_one_line_error(twice, 4, "--new-version")
    assert "create_new_version" not in twice.stderr


def test_every_delete_takes_yes_and_names_may_follow_double_dash(atelier: Atelier) -> None:
    import typer.main

    from atelier.cli.main import app

    root = typer.main.get_command(app)
    deletes = []
    stack = [(name, command) for name, command in root.commands.items()]  # type: ignore[attr-defined]
    while stack:
        path, command = stack.pop()
        for name, sub in getattr(command, "commands", {}).items():
            stack.append((f"{path} {name}", sub))
        if path.endswith(" delete"):
            deletes.append(path)
            assert "--yes" in [o for p in command.params for o in p.opts], path
    assert {"workspace delete", "secret delete", "endpoint delete"} <= set(deletes)
    dashed = atelier("workspace", "show", "--", "-lab")
    assert dashed.code in (2, 3), dashed.stderr
    assert "No such option" not in dashed.stderr
    assert "'-lab'" in dashed.stderr


def test_a_script_traceback_is_shown_as_its_last_frames(capsys: pytest.CaptureFixture[str]) -> None:
    from atelier.cli._errors import report
    from atelier.core.errors import WebserviceError

    log = "\n".join(
        [
            "INFO starting replica",
            "Traceback (most recent call last):",
            '  File "/srv/atelier/serving/app.py", line 220, in start',
            "    self.entry.init()",
            '  File "/srv/atelier/serving/entry.py", line 40, in init',
            "    module.init()",
            '  File "/tmp/src/score.py", line 3, in init',
            '    raise RuntimeError("the coefficient file is corrupt")',
            "RuntimeError: the coefficient file is corrupt",
            "INFO replica exiting",
        ]
    )
    error = WebserviceError(f"init() of replica default-1 failed; the end of the log:\n{log}")
    assert report(error) == 9
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        "error: init() of replica default-1 failed; the end of the log: INFO starting replica"
    )
    assert lines[-1].strip() == "RuntimeError: the coefficient file is corrupt"
    assert '  File "/tmp/src/score.py", line 3, in init' in lines
    assert sum(line.strip().startswith("File ") for line in lines) == 3
    assert max(len(line) for line in lines) < 200
