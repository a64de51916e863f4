"""RunDetails(run).show() in a Jupyter kernel: an ipywidgets widget with the run's status,
metrics and child runs, refreshed while the run goes on and left as the run ended.

The kernel is ipykernel's in-process kernel: a real kernel and shell (``get_ipython()``
has its ``kernel``, widgets open their comms through it) in the test's own process, so
the notebook cell below uses the test's run object as a notebook would use its own."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from atelier import Workspace
from atelier.azureml.core import Experiment
from atelier.sdk import widgets
from tests.conftest import _missing

pytestmark = pytest.mark.one_database


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell of a running Jupyter kernel."""
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        from ipykernel.inprocess.manager import InProcessKernelManager
    except ImportError as exc:
        _missing("ipykernel and ipywidgets", f"{exc} (pip install 'atelier-ml[widgets]')")
    environment = dict(os.environ)
    manager = InProcessKernelManager()
    manager.start_kernel()
    shell = manager.kernel.shell
    try:
        yield shell
    finally:
        manager.shutdown_kernel()
        type(shell).clear_instance()  # get_ipython() is None again: no kernel any more
        # the kernel sets FORCE_COLOR, CLICOLOR_FORCE, TERM, PAGER... for its process: later
        # tests in this process must see the environment they started with
        os.environ.clear()
        os.environ.update(environment)


def _until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait for the widget's refresh thread (polling; what is awaited is asserted after)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _cell(shell: Any, code: str) -> None:
    result = shell.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_show_in_a_kernel_displays_a_widget_that_follows_the_run(
    ws: Workspace, notebook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipywidgets

    monkeypatch.setattr(widgets, "REFRESH_SECONDS", 0.05)
    run = Experiment(ws, "notebook").start_logging()
    run.log("loss", 0.9)
    run.log("loss", 0.5)
    notebook.user_ns["run"] = run
    _cell(
        notebook,
        "from atelier.azureml.widgets import RunDetails\n"
        "details = RunDetails(run)\n"
        "details.show()\n",
    )
    details = notebook.user_ns["details"]
    widget = details.widget
    assert isinstance(widget, ipywidgets.HTML) and widget.comm is not None  # a live widget
    assert f"Run {run.id}: Running" in widget.value
    assert "<polyline" in widget.value and ">loss<" in widget.value  # the loss series chart
    # the run goes on: a new metric and a child run show up without calling show() again
    run.log("accuracy", 0.75)
    with run.child_run("fold-1") as child:
        child.log("acc", 0.8)
    _until(lambda: "fold-1" in widget.value and "accuracy = 0.75" in widget.value)
    assert "fold-1" in widget.value and "acc=0.8" in widget.value
    assert "accuracy = 0.75" in widget.value
    run.complete()
    details._thread.join(timeout=60)  # the refresh ends with the run
    assert not details._thread.is_alive()
    assert f"Run {run.id}: Completed" in widget.value


def test_outside_a_kernel_show_draws_no_widget(ws: Workspace) -> None:
    run = Experiment(ws, "notebook").start_logging()
    run.complete()
    details = widgets.RunDetails(run)
    details.show()  # a terminal: the rich table, returning as the run has ended
    assert details.widget is None
