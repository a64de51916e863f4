"""The CLI's one error mapping: each error exits with its own code and one line."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from atelier import AtelierError, RunFailedError
from atelier.cli._errors import AtelierGroup
from atelier.cli.main import app as atelier_app
from atelier.core.errors import ERRORS_BY_CODE, EXIT_CODES, WebserviceError


def _exit_of(error: AtelierError) -> tuple[int, str]:
    app = typer.Typer(cls=AtelierGroup)

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:  # a second command keeps 'fail' a sub-command
        """Unused."""

    result = CliRunner().invoke(app, ["fail"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize("cls", list(ERRORS_BY_CODE.values()), ids=list(ERRORS_BY_CODE))
def test_each_error_exits_with_its_code_and_one_line(cls: type[AtelierError]) -> None:
    code, stderr = _exit_of(cls("it went wrong\non two lines; do this"))
    assert code == cls.exit_code
    assert stderr == "error: it went wrong on two lines; do this\n"


def test_a_failed_run_and_a_failed_web_service_exit_differently() -> None:
    assert _exit_of(RunFailedError("run 'r' Failed"))[0] == 7
    assert _exit_of(WebserviceError("the service answered 500"))[0] == 9


def test_help_lists_every_exit_code() -> None:
    result = CliRunner().invoke(atelier_app, ["--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for code, (meaning, _) in EXIT_CODES.items():
        assert f"{code} ({meaning})" in text
