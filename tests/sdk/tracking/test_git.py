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


def test_without_a_remote_the_repository_is_its_folder_and_a_detached_head_is_head(
    tmp_path: Path,
) -> None:
    from atelier.sdk.tracking._git import git_properties

    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "trunk")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    # no commit yet: the branch is known, there is no commit to record
    assert git_properties(repo / "sub") == {
        "azureml.git.repository_uri": str(repo.resolve()),
        "azureml.git.branch": "trunk",
        "azureml.git.dirty": "false",
    }
    (repo / "sub" / "a.txt").write_text("a\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    (repo / "untracked.txt").write_text("not added\n")  # untracked files do not count
    _git(repo, "checkout", "-q", "--detach")
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert git_properties(repo / "sub") == {
        "azureml.git.repository_uri": str(repo.resolve()),
        "azureml.git.branch": "HEAD",
        "azureml.git.commit": commit,
        "azureml.git.dirty": "false",
    }
    _git(repo, "rm", "-q", "--cached", "sub/a.txt")  # a staged change counts
    assert git_properties(repo)["azureml.git.dirty"] == "true"
