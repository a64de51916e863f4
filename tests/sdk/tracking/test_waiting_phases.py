"""``wait_for_completion(show_output=True)`` shows where a submitted run is before its
script prints anything: its phase (queued, its environment being built) and the time
waited, one line per change, then the script's output."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from atelier.sdk.tracking import _waiting
from atelier.sdk.tracking._waiting import WaitingMixin


class _Preparing(WaitingMixin):
    """A run seen through ``get_activity`` only: the phases it passes through, in order."""

    def __init__(self, activities: list[dict[str, Any]]) -> None:
        self._activities: Iterator[dict[str, Any]] = iter(activities)

    @property
    def id(self) -> str:
        return "run-1"

    def get_activity(self) -> dict[str, Any]:
        return next(self._activities)


def test_the_phases_before_the_script_are_lines_with_the_time_waited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_waiting, "_POLL_SECONDS", 0)
    building = {"status": "Preparing", "phase": "environment", "message": "building env:1"}
    run = _Preparing(
        [
            {"status": "Queued", "phase": "queued", "message": None},
            building,
            building,
            building,
            {"status": "Running", "phase": "running", "message": "starting train.py"},
        ]
    )
    out = io.StringIO()
    run._show_preparation(out)
    lines = out.getvalue().splitlines()
    assert [re.sub(r" \(\d+\.\d s\)$", "", line) for line in lines] == [
        "run run-1: queued",
        "run run-1: building env:1",
    ]
    assert all(re.search(r"\(\d+\.\d s\)$", line) for line in lines)


def test_a_run_already_running_shows_no_phase_line() -> None:
    run = _Preparing([{"status": "Completed", "phase": "ended", "message": "the run ended"}])
    out = io.StringIO()
    run._show_preparation(out)
    assert out.getvalue() == ""
