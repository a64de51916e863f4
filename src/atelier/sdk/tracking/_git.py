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

    The keys are azureml's, so code that reads ``azureml.git.commit`` keeps working.
    """
    if shutil.which("git") is None:
        return {}
    root = Path(directory)
    top = _git(root, "rev-parse", "--show-toplevel")
    if not top:
        return {}
    found = {GIT_REPOSITORY: _git(root, "remote", "get-url", "origin") or top}
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        found[GIT_BRANCH] = branch
    commit = _git(root, "rev-parse", "HEAD")
    if commit:
        found[GIT_COMMIT] = commit
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        found[GIT_DIRTY] = str(bool(status)).lower()
    return found
