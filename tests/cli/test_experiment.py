"""``atelier experiment list`` and how commands find their workspace."""

from __future__ import annotations

from pathlib import Path

from atelier import Experiment, Workspace
from atelier.client.registry import reset_backends
from tests.helpers.cli import Atelier, assert_one_line_error


def _workspace_with_experiments(name: str) -> Workspace:
    """A workspace with active experiments 'b-active', 'a-active' and archived 'old'."""
    ws = Workspace.create(name)
    Experiment(ws, "b-active")
    Experiment(ws, "a-active")
    Experiment(ws, "old").archive()
    reset_backends()  # let go of the database before the CLI process opens it
    return ws


def test_list_by_view(atelier: Atelier) -> None:
    _workspace_with_experiments("lab")

    def names(*view: str) -> list[str]:
        return [
            e["name"]
            for e in atelier("experiment", "list", "-w", "lab", *view, "-o", "json").json()
        ]

    assert names() == ["a-active", "b-active"]
    assert names("--view", "active") == ["a-active", "b-active"]
    assert names("--view", "archived") == ["old"]
    assert names("--view", "all") == ["a-active", "b-active", "old"]
    table = atelier("experiment", "list", "-w", "lab", "--view", "all")
    assert table.code == 0
    old_line = next(line for line in table.stdout.splitlines() if " old " in line)
    assert "archived" in old_line


def test_bad_view_is_a_usage_error(atelier: Atelier) -> None:
    result = atelier("experiment", "list", "-w", "lab", "--view", "deleted")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_workspace_comes_from_env_then_config(atelier: Atelier, tmp_path: Path) -> None:
    ws = _workspace_with_experiments("from-env")
    by_env = atelier("experiment", "list", "-o", "json", env={"ATELIER_WORKSPACE": "from-env"})
    assert len(by_env.json()) == 2

    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    ws.write_config(project)
    by_config = atelier("experiment", "list", "-o", "json", cwd=project / "src")
    assert [e["name"] for e in by_config.json()] == ["a-active", "b-active"]

    Workspace.create("other")
    reset_backends()
    explicit = atelier("experiment", "list", "-w", "other", "-o", "json", cwd=project)
    assert explicit.json() == []


def test_no_workspace_anywhere_says_how_to_give_one(atelier: Atelier) -> None:
    result = atelier("experiment", "list")
    assert_one_line_error(result, 2, "--workspace", "ATELIER_WORKSPACE", ".azureml/config.json")


def test_unknown_workspace_from_env_is_exit_3(atelier: Atelier) -> None:
    result = atelier("experiment", "list", env={"ATELIER_WORKSPACE": "missing"})
    assert_one_line_error(result, 3, "workspace 'missing' not found")


def test_delete_needs_yes_and_names_unknown_experiments(atelier: Atelier) -> None:
    _workspace_with_experiments("lab-del")
    refused = atelier("experiment", "delete", "old", "-w", "lab-del")
    assert_one_line_error(refused, 2, "--yes")
    assert atelier("experiment", "delete", "old", "-w", "lab-del", "--yes").code == 0
    listed = atelier("experiment", "list", "-w", "lab-del", "--view", "all", "-o", "json")
    assert [e["name"] for e in listed.json()] == ["a-active", "b-active"]
    missing = atelier("experiment", "delete", "old", "-w", "lab-del", "--yes")
    assert_one_line_error(missing, 3, "experiment 'old' not found")
