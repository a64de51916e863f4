"""A failed ``atelier endpoint create`` leaves nothing behind: no router process, no Failed
record that blocks the name; the same command with a fixed script then works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import Atelier
from tests.helpers.scoring import SCORE

pytestmark = pytest.mark.slow  # starts endpoint processes

BROKEN = """
def init():
    raise RuntimeError("the coefficient file is corrupt")

def run(data):
    return data
"""


def _managers_of(folder: Path) -> list[int]:
    """The endpoint manager processes (router and replicas' parent) started for ``folder``."""
    from atelier.sdk.models._endpoint_process import MANAGER_MODULE

    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        ours = MANAGER_MODULE.encode() in cmdline and str(folder).encode() in cmdline
        if ours and state != "Z":  # a zombie has exited
            found.append(int(proc.name))
    return found


def test_a_failed_create_leaves_no_endpoint_behind(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    path = tmp_path / "coef.json"
    path.write_text(json.dumps({"coefficient": 3}))
    assert atelier("model", "register", "-w", "lab", "-n", "coef", "-p", str(path)).code == 0
    source = tmp_path / "serve"
    source.mkdir()
    (source / "score.py").write_text(BROKEN)
    create = (
        "endpoint", "create", "again", "-w", "lab", "-m", "coef:1",
        "--entry-script", "score.py", "--source-dir", str(source), "--timeout", "60",
    )  # fmt: skip
    failed = atelier(*create, env={"TTY_COMPATIBLE": "1"})  # stderr as a terminal
    assert failed.code == 9, failed.stderr
    assert "endpoint again: waiting for its replicas" in failed.stderr  # the progress line
    assert "the coefficient file is corrupt" in failed.stderr
    lines = failed.stderr.splitlines()  # the script's traceback: its last frames, as lines
    assert any(line.strip().startswith('File "') and "score.py" in line for line in lines), lines
    assert lines[-1].strip() == "RuntimeError: the coefficient file is corrupt", lines
    assert atelier("endpoint", "list", "-w", "lab", "-o", "json").json() == []
    assert _managers_of(tmp_path) == []  # no router or manager process left serving
    (source / "score.py").write_text(SCORE)
    fixed = atelier(*create, "-o", "json", env={"TTY_COMPATIBLE": "1"})
    try:
        assert fixed.json()["state"] == "Healthy"
        assert _managers_of(tmp_path)  # the check above sees a live endpoint's manager
        assert "endpoint again" not in fixed.stderr  # quiet under -o json
    finally:
        atelier("endpoint", "delete", "again", "-w", "lab", "--yes")
