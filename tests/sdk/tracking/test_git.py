from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from atelier import Experiment, Workspace

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_a_run_records_its_repository(ws: Workspace, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    _git(repo, "remote", "add", "origin", "https://example.invalid/team/project.git")
    (repo / "train.py").write_text("print(1)\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    clean = Experiment(ws, "git").start_logging(snapshot_directory=repo)
    props = clean.get_properties()
    assert props["azureml.git.repository_uri"] == "https://example.invalid/team/project.git"
    assert props["azureml.git.branch"] == "main"
    assert props["azureml.git.commit"] == commit
    assert props["azureml.git.dirty"] == "false"
    (repo / "train.py").write_text("print(2)\n")
    dirty = Experiment(ws, "git").start_logging(snapshot_directory=repo)
    assert dirty.get_properties()["azureml.git.dirty"] == "true"


def test_outside_a_repository_nothing_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    run = Experiment(ws, "git").start_logging(snapshot_directory=plain)
    assert not any(k.startswith("azureml.git") for k in run.get_properties())
