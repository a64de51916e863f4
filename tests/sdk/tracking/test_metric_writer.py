"""Metrics a run acknowledged are never lost: a failed background write keeps its points,
the next write stores them, and a failure that lasts is raised as a typed error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from atelier import Experiment, Run, StoreError, Workspace


class _Outage:
    """Makes one write method of the run's metrics store raise ``ConnectionError`` (not an
    Atelier error) for its next ``times`` calls, then pass through."""

    def __init__(self, run: Run, method: str, times: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.remaining = times
        self.failed = 0
        metrics = run._backend.metrics
        real: Callable[..., Any] = getattr(metrics, method)

        def write(*args: Any, **kwargs: Any) -> Any:
            if self.remaining > 0:
                self.remaining -= 1
                self.failed += 1
                raise ConnectionError("the store went away")
            return real(*args, **kwargs)

        monkeypatch.setattr(metrics, method, write)


def test_a_batch_whose_write_fails_once_is_written_by_the_next_flush(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Experiment(ws, "writer").start_logging()
    outage = _Outage(run, "log_scalars", times=1, monkeypatch=monkeypatch)
    for value in (1.0, 2.0, 3.0):
        run.log("loss", value)
    # the failed write is the background thread's or this one: either way it is kept
    with contextlib.suppress(StoreError):
        run.flush()
    run.log("loss", 4.0)
    run.flush()  # the store answers again: no error, everything written
    assert outage.failed == 1
    history = run.get_metric_history("loss")
    assert history["values"] == [1.0, 2.0, 3.0, 4.0]
    assert history["steps"] == [0, 1, 2, 3]
    run.complete()
    assert run.get_status() == "Completed"


def test_scalars_already_written_are_not_written_twice_when_documents_fail(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Experiment(ws, "writer").start_logging()
    _Outage(run, "log_documents", times=1, monkeypatch=monkeypatch)
    run.log("loss", 0.5)
    run.log_list("classes", ["a", "b"])
    with contextlib.suppress(StoreError):
        run.flush()
    run.flush()
    assert run.get_metric_history("loss")["values"] == [0.5]
    assert run.get_metrics()["classes"] == ["a", "b"]


def test_a_lasting_failure_is_raised_by_flush_and_complete_and_loses_nothing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Experiment(ws, "writer").start_logging()
    outage = _Outage(run, "log_scalars", times=10**9, monkeypatch=monkeypatch)
    run.log("loss", 1.0)
    run.log("loss", 2.0)
    with pytest.raises(StoreError, match="could not be written") as raised:
        run.flush()
    assert isinstance(raised.value.__cause__, ConnectionError)
    with pytest.raises(StoreError, match="could not be written"):
        run.complete()
    assert run.get_status() == "Running"  # not marked Completed with metrics unwritten

    outage.remaining = 0  # the store is back
    run.complete()
    assert run.get_status() == "Completed"
    assert run.get_metric_history("loss")["values"] == [1.0, 2.0]
