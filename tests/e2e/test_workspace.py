"""The ``atelier`` command in real processes: a workspace's life, and an error's exit code
and single line as the interpreter leaves them (tests/cli runs the same commands in-process)."""

from __future__ import annotations

from tests.helpers.cli import Atelier, assert_one_line_error


def test_workspace_journey_in_real_processes(atelier_process: Atelier) -> None:
    atelier = atelier_process
    created = atelier("workspace", "create", "demo", "--description", "the demo")
    assert created.code == 0, created.stderr
    assert "workspace 'demo' ready at file://" in created.stdout
    listed = atelier("workspace", "list", "-o", "json").json()
    assert [(w["name"], w["description"]) for w in listed] == [("demo", "the demo")]
    assert_one_line_error(atelier("workspace", "create", "demo"), 4, "demo")
    assert_one_line_error(atelier("workspace", "show", "nowhere"), 3, "'nowhere' not found")
    assert atelier("workspace", "delete", "demo", "--yes").code == 0
    assert atelier("workspace", "list", "-o", "json").json() == []
