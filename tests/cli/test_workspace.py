"""``atelier workspace`` as a shell runs it."""

from __future__ import annotations

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from tests.helpers.cli import Atelier, assert_one_line_error


def test_create_list_show_delete(atelier: Atelier) -> None:
    created = atelier("workspace", "create", "demo", "--description", "the demo")
    assert created.code == 0, created.stderr
    assert "workspace 'demo' ready at file://" in created.stdout

    listed = atelier("workspace", "list", "-o", "json").json()
    assert [(w["name"], w["description"]) for w in listed] == [("demo", "the demo")]
    table = atelier("workspace", "list")
    assert table.code == 0
    assert "demo" in table.stdout
    assert "the demo" in table.stdout

    shown = atelier("workspace", "show", "demo", "--output", "json").json()
    assert shown["name"] == "demo"
    assert shown["mode"] == "embedded"
    assert shown["id"] == listed[0]["id"]
    assert shown["id"] in atelier("workspace", "show", "demo").stdout

    deleted = atelier("workspace", "delete", "demo", "--yes")
    assert deleted.code == 0, deleted.stderr
    assert atelier("workspace", "list", "-o", "json").json() == []


def test_create_twice_conflicts_unless_exist_ok(atelier: Atelier) -> None:
    assert atelier("workspace", "create", "twice").code == 0
    again = atelier("workspace", "create", "twice")
    assert_one_line_error(again, AlreadyExistsError.exit_code, "twice")
    assert again.code == 4
    relaxed = atelier("workspace", "create", "twice", "--exist-ok", "-o", "json")
    assert relaxed.json()["name"] == "twice"


def test_unknown_workspace_is_one_line_and_exit_3(atelier: Atelier) -> None:
    result = atelier("workspace", "show", "nowhere")
    assert_one_line_error(result, 3, "workspace 'nowhere' not found", "atelier workspace create")
    assert result.code == NotFoundError.exit_code
    assert result.stdout == ""


def test_invalid_name_is_exit_2(atelier: Atelier) -> None:
    result = atelier("workspace", "create", "bad name!")
    assert_one_line_error(result, 2, "invalid workspace name 'bad name!'")
    assert result.code == ValidationError.exit_code
    assert atelier("workspace", "list", "-o", "json").json() == []


def test_delete_without_yes_refuses_and_keeps_the_workspace(atelier: Atelier) -> None:
    assert atelier("workspace", "create", "keep").code == 0
    refused = atelier("workspace", "delete", "keep")
    assert_one_line_error(refused, 2, "pass --yes")
    assert [w["name"] for w in atelier("workspace", "list", "-o", "json").json()] == ["keep"]


def test_delete_unknown_workspace_is_exit_3(atelier: Atelier) -> None:
    assert_one_line_error(atelier("workspace", "delete", "ghost", "--yes"), 3, "'ghost'")
