"""A run submitted without following, as a shell drives it: the script starts, Ctrl-C on
``run logs --follow`` stops following (exit 130), and ``run cancel`` ends the run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # submits a script and starts the CLI several times

SLEEP = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"
#: between two polls, each a CLI process (about 1 s of CPU): not one after another
_PAUSE = 0.5


def _poll(atelier: Atelier, run_id: str, done: str, timeout: float = 60.0) -> dict[str, object]:
    """``run show -o json`` until the run's status is ``done``."""
    deadline = time.monotonic() + timeout
    while True:
        details: dict[str, object] = atelier(
            "run", "show", run_id, "-w", "lab", "-o", "json"
        ).json()
        if details["status"] == done or time.monotonic() > deadline:
            assert details["status"] == done, details
            return details
        time.sleep(_PAUSE)


#: ``python -m atelier.cli.main`` with Ctrl-C's handler in place, as in a terminal, even when
#: this test runs in a background job (whose shell starts children ignoring SIGINT, and
#: Python then keeps ignoring it)
_CLI_WITH_INTERRUPT = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from atelier.cli.main import main\n"
    "sys.argv[0] = 'atelier'\n"
    "main()\n"
)


def _interrupt_following(run_id: str) -> None:
    """Ctrl-C on ``run logs --follow`` stops following, says how to go on, and exits 130."""
    follower = subprocess.Popen(
        [sys.executable, "-c", _CLI_WITH_INTERRUPT, "run", "logs", run_id, "-w", "lab", "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "sleeping\n"
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:  # not left running for a later test to collect
            follower.kill()
            follower.communicate()
    assert follower.returncode == 130, stderr
    assert f"atelier run cancel {run_id} -w lab" in stderr
    assert "Traceback" not in stderr


def test_cancel_a_run_submitted_without_following(atelier_process: Atelier, tmp_path: Path) -> None:
    atelier = atelier_process
    assert atelier("workspace", "create", "lab").code == 0
    source = tmp_path / "src"
    source.mkdir()
    (source / "sleep.py").write_text(SLEEP)
    submitted = atelier(
        "run", "submit", "-w", "lab", "-e", "jobs", "--source-dir", str(source),
        "--script", "sleep.py", "--no-follow",
    )  # fmt: skip
    assert submitted.code == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    assert "atelier run logs" in submitted.stderr
    deadline = time.monotonic() + 60
    while "sleeping" not in (logs := atelier("run", "logs", run_id, "-w", "lab")).stdout:
        assert logs.code == 0, logs.stderr
        assert time.monotonic() < deadline, "the script never started"
        time.sleep(_PAUSE)

    _interrupt_following(run_id)

    canceled = atelier("run", "cancel", run_id, "-w", "lab")
    assert canceled.code == 0, canceled.stderr
    assert run_id in canceled.stdout
    details = _poll(atelier, run_id, "Canceled")
    assert details["endTimeUtc"] is not None
    again = atelier("run", "cancel", run_id, "-w", "lab")
    assert_one_line_error(again, 4, "is Canceled", "nothing to cancel")
