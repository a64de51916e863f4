"""What a run records about the git repository its source directory is in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GIT_REPOSITORY = "azureml.git.repository_uri"
GIT_BRANCH = "azureml.git.branch"
GIT_COMMIT = "azureml.git.commit"
GIT_DIRTY = "azureml.git.dirty"


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_properties(directory: str | Path) -> dict[str, str]:
    """Repository URL, branch, commit and dirtiness, or ``{}`` outside a repository.

    The keys are azureml's, so code that reads ``azureml.git.commit`` keeps working. Every
    run start asks, so git is run as few times as it can be: one ``git status`` tells the
    commit, the branch and whether tracked files changed; the repository is its ``origin``
    remote, or (without one) its top folder.
    """
    if shutil.which("git") is None:
        return {}
    root = Path(directory)
    status = _git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return {}
    headers = {}
    changed = False
    for line in status.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line:
            changed = True
    repository = _git(root, "remote", "get-url", "origin") or _git(
        root, "rev-parse", "--show-toplevel"
    )
    if not repository:
        return {}
    found = {GIT_REPOSITORY: repository}
    branch = headers.get("branch.head")
    if branch:  # a detached HEAD is named HEAD, as ``git rev-parse --abbrev-ref HEAD`` names it
        found[GIT_BRANCH] = "HEAD" if branch == "(detached)" else branch
    commit = headers.get("branch.oid")
    if commit and commit != "(initial)":  # no commit yet: none to record
        found[GIT_COMMIT] = commit
    found[GIT_DIRTY] = str(changed).lower()
    return found
