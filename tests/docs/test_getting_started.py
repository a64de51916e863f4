"""Every code block of the Getting started pages runs as written, in a fresh home and
folder, page by page (tests/docs/blocks.py says which blocks run and how to mark one
that should not)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import DOCS, Block, page_blocks

PAGES = sorted((DOCS / "getting-started").glob("*.md"))
#: the port the server page names, replaced by a free one so runs never collide
SERVER_PORT = "8642"


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATELIER_", "MLFLOW_"))}
    env.update(
        HOME=str(tmp_path),
        ATELIER_HOME=str(tmp_path / "home"),
        ATELIER_AGENT="0",  # no warm agent left behind once the page is done
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        MPLBACKEND="Agg",
    )
    return env


def _stop_leftovers(folder: Path) -> None:
    """Kill what a page started in the background and recorded in a ``*.pid`` file."""
    for pid_file in folder.glob("*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


@pytest.mark.slow  # each page runs its commands in fresh processes
@pytest.mark.one_database
@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    blocks = page_blocks(page)
    assert blocks, f"{page.name} has no block that runs"
    port = _free_port()
    work = tmp_path / "work"
    work.mkdir()
    listing = [
        {"page": page.name, "line": b.line, "language": b.language,
         "code": b.code.replace(SERVER_PORT, port)}
        for b in blocks
    ]  # fmt: skip
    script = tmp_path / "blocks.json"
    script.write_text(json.dumps(listing), encoding="utf-8")
    runner = Path(__file__).with_name("run_blocks.py")
    try:
        done = subprocess.run(
            [sys.executable, str(runner), str(script)],
            cwd=work,
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        _stop_leftovers(work)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_a_block_that_fails_fails_its_page(tmp_path: Path) -> None:
    """The runner is able to fail: a python block raising, a bash block exiting non-zero."""
    runner = Path(__file__).with_name("run_blocks.py")
    for bad in (Block("python", "assert 1 == 2\n", 3), Block("bash", "false\necho no\n", 9)):
        listing = [{"page": "p.md", "line": bad.line, "language": bad.language, "code": bad.code}]
        script = tmp_path / "blocks.json"
        script.write_text(json.dumps(listing), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(runner), str(script)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1
        assert f"p.md:{bad.line}" in done.stderr
        assert "no" not in done.stdout.split("---")[-1].split("\n", 1)[1]


def test_blocks_are_found_and_marked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 1\n```\n\n```{.bash .notest}\npip install x\n```\n\n"
        "```text\nout\n```\n\n```bash\necho $x\n```\n",
        encoding="utf-8",
    )
    assert page_blocks(page) == [Block("python", "x = 1\n", 1), Block("bash", "echo $x\n", 13)]
    page.write_text("```ruby\nputs 1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mark it \{\.ruby \.notest\}"):
        page_blocks(page)
    page.write_text("```{.bash}\nls\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"add \.notest"):
        page_blocks(page)
