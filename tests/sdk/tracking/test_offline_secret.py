"""The secret example of docs/guide/secrets.md, as written: ``DB_PASSWORD=... python train.py`` with
``Run.get_context().get_secret("db-password")`` in the script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atelier import NotFoundError
from atelier.sdk.tracking._offline import OfflineRun


def test_the_documented_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "from atelier import Run\n"
        'password = Run.get_context().get_secret("db-password")\n'
        "print(password)\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("ATELIER_RUN_ID", raising=False)
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**__import__("os").environ, "DB_PASSWORD": "s3cret"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "s3cret"


def test_a_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.delenv("api-token", raising=False)
    with pytest.raises(NotFoundError, match="set API_TOKEN"):
        OfflineRun().get_secret("api-token")
    monkeypatch.setenv("api-token", "exact")
    assert OfflineRun().get_secret("api-token") == "exact"
