"""``atelier environment``: register, list, show and build, then run a script in the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # builds a real environment (PyPI) and submits a script


@pytest.fixture
def lab(atelier: Atelier) -> None:
    assert atelier("workspace", "create", "lab").code == 0


def test_register_list_show_build_and_run_in_it(
    atelier: Atelier, lab: None, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    registered = atelier(
        "environment", "register", "sixenv", "-w", "lab", "--pip-requirements", str(requirements)
    )
    assert registered.code == 0, registered.stderr
    assert "version 1" in registered.stdout

    listed = atelier("environment", "list", "-w", "lab", "-o", "json").json()
    # azureml's curated environments (AzureML-*) are listed beside the registered ones
    mine = [e for e in listed if not e["name"].startswith("AzureML-")]
    assert [(e["name"], e["version"], e["pip"], e["built"]) for e in mine] == [
        ("sixenv", "1", ["six==1.16.0"], False)
    ]
    assert any(e["name"] == "AzureML-Minimal" for e in listed)
    table = atelier("environment", "show", "sixenv", "-w", "lab")
    assert table.code == 0, table.stderr
    assert "six==1.16.0" in table.stdout
    assert "atelier environment build sixenv" in table.stdout

    built = atelier("environment", "build", "sixenv", "-w", "lab", "--version", "1")
    assert built.code == 0, built.stderr
    python = Path(built.stdout.strip())
    assert built.stdout.count("\n") == 1
    assert python.is_file()
    assert python.is_relative_to(tmp_path / "atelier-home" / "envs")
    assert "six" in built.stderr  # the build log
    assert "environment sixenv: done" not in built.stderr  # no progress line in a pipe
    cached = atelier(
        "environment", "build", "sixenv", "-w", "lab", "--version", "1",
        env={"TTY_COMPATIBLE": "1"},
    )  # fmt: skip
    assert cached.stdout.strip() == str(python)  # reused at once
    assert "environment sixenv: done" in cached.stderr  # the progress line on a terminal
    shown = atelier("environment", "show", "sixenv", "-w", "lab", "-o", "json").json()
    assert (shown["built"], shown["python"]) == (True, str(python))

    source = tmp_path / "src"
    source.mkdir()
    (source / "where.py").write_text("import sys, six\nprint('python is', sys.executable)\n")
    run = atelier(
        "run", "submit", "-w", "lab", "-e", "envs", "--source-dir", str(source),
        "--script", "where.py", "--environment", "sixenv:1",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert f"python is {python}" in run.stdout.splitlines()


def test_a_conda_file_and_bad_registrations(atelier: Atelier, lab: None, tmp_path: Path) -> None:
    conda = tmp_path / "environment.yml"
    conda.write_text(
        "name: x\ndependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n"
        "variables:\n  MODE: test\n"
    )
    shown = atelier(
        "environment", "register", "condaenv", "-w", "lab", "--conda-file", str(conda), "-o", "json"
    ).json()
    assert (shown["version"], shown["python_version"], shown["pip"]) == (
        "1",
        "3.11",
        ["six==1.16.0"],
    )
    assert shown["environment_variables"] == {"MODE": "test"}

    neither = atelier("environment", "register", "bad", "-w", "lab")
    assert_one_line_error(neither, 2, "exactly one of --pip-requirements")
    missing = atelier(
        "environment", "register", "bad", "-w", "lab", "--pip-requirements", "no-such.txt"
    )
    assert_one_line_error(missing, 3, "no-such.txt")
    unknown = atelier("environment", "build", "condaenv", "-w", "lab", "--version", "2")
    assert_one_line_error(unknown, 3, "no version 2")
    assert re.search(r"condaenv\s.*\s1\s", atelier("environment", "list", "-w", "lab").stdout)
