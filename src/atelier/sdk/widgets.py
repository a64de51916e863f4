"""``RunDetails(run).show()``: watch a run live, in a notebook or in a terminal.

In Jupyter (with ``ipywidgets`` installed) ``show()`` displays a widget (the run's status,
a table of its child runs and a small chart of each metric series) and returns at once;
a background thread refreshes it until the run ends. Elsewhere it draws the same view as
a live ``rich`` table in the terminal and returns when the run ends.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.status import TERMINAL_STATUSES, RunStatus

if TYPE_CHECKING:
    from atelier.sdk.tracking.run import Run

_BARS = "▁▂▃▄▅▆▇█"
REFRESH_SECONDS = 2.0


def sparkline(values: list[float], width: int = 30) -> str:
    """A series drawn as block characters (its last ``width`` points)."""
    points = [v for v in values if isinstance(v, int | float)][-width:]
    if not points:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    return "".join(_BARS[int((v - low) / span * (len(_BARS) - 1))] for v in points)


class RunDetails:
    """azureml's run widget: ``RunDetails(run).show()``."""

    def __init__(self, run_instance: Run) -> None:
        if not hasattr(run_instance, "get_children") or not hasattr(run_instance, "get_metrics"):
            raise ValidationError(
                "RunDetails takes a Run (from experiment.submit() or Run.get()), not "
                f"{type(run_instance).__name__}"
            )
        self.run_instance = run_instance
        self._thread: threading.Thread | None = None
        #: the notebook widget ``show()`` displayed (an ``ipywidgets.HTML``), else None
        self.widget: Any = None

    # --- what is shown --------------------------------------------------------------------
    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the view shows now: the run's status, its children and its metrics."""
        del widget_settings
        run = self.run_instance
        children = [
            {
                "run_id": child.id,
                "name": child.display_name,
                "status": child.get_status(),
                "metrics": {
                    k: v for k, v in child.get_metrics().items() if isinstance(v, int | float)
                },
            }
            for child in run.get_children()
        ]
        metrics = run.get_metrics()
        return {
            "run_id": run.id,
            "experiment": run.experiment.name,
            "status": run.get_status(),
            "children": children,
            "metrics": metrics,
            "portal_url": run.get_portal_url(),
        }

    def _ended(self, data: dict[str, Any]) -> bool:
        return RunStatus(data["status"]) in TERMINAL_STATUSES

    # --- the two views ----------------------------------------------------------------------
    def show(self) -> None:
        """Display the live view: a widget in Jupyter, a live table in a terminal."""
        widget = _jupyter_widget()
        if widget is not None:
            self._show_widget(widget)
        else:
            self._show_terminal()

    def _show_widget(self, widget: Any) -> None:
        from IPython.display import display

        widget.value = render_html(self.get_widget_data())  # drawn before show() returns
        self.widget = widget
        display(widget)  # type: ignore[no-untyped-call]

        def refresh() -> None:
            while True:
                data = self.get_widget_data()
                widget.value = render_html(data)
                if self._ended(data):
                    return
                time.sleep(REFRESH_SECONDS)

        self._thread = threading.Thread(target=refresh, name="run-details", daemon=True)
        self._thread.start()

    def _show_terminal(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=sys.stdout)
        data = self.get_widget_data()
        with Live(render_table(data), console=console, auto_refresh=False) as live:
            while not self._ended(data):
                time.sleep(REFRESH_SECONDS)
                data = self.get_widget_data()
                live.update(render_table(data), refresh=True)


def _jupyter_widget() -> Any:
    """An ``ipywidgets.HTML`` when running in a Jupyter kernel (a shell with a kernel that
    carries the widget's messages) with ipywidgets installed, else None."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return None
    try:
        from IPython import get_ipython

        if getattr(get_ipython(), "kernel", None) is None:  # a terminal IPython has none
            return None
        import ipywidgets
    except (ImportError, AttributeError):
        return None
    return ipywidgets.HTML()


def _series(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


def render_table(data: dict[str, Any]) -> Any:
    """The terminal view: a rich table of the run, its metrics and its children."""
    from rich.table import Table

    table = Table(title=f"Run {data['run_id']} ({data['experiment']}): {data['status']}")
    table.add_column("metric or child run")
    table.add_column("value or status")
    table.add_column("chart")
    for name, value in sorted(data["metrics"].items()):
        points = _series(value)
        shown = points[-1] if points else value
        table.add_row(name, str(shown), sparkline(points) if len(points) > 1 else "")
    for child in data["children"]:
        summary = ", ".join(f"{k}={v:g}" for k, v in sorted(child["metrics"].items()))
        table.add_row(f"child {child['name'] or child['run_id']}", child["status"], summary)
    return table


def render_html(data: dict[str, Any]) -> str:
    """The notebook view: status, a child-runs table and an SVG chart per metric series."""
    parts = [
        f"<h4>Run {html.escape(data['run_id'])}: {html.escape(data['status'])}</h4>",
        f"<a href='{html.escape(data['portal_url'])}' target='_blank'>open in the Studio</a>",
    ]
    if data["children"]:
        rows = "".join(
            f"<tr><td>{html.escape(c['name'] or c['run_id'])}</td>"
            f"<td>{html.escape(c['status'])}</td>"
            f"<td>{html.escape(', '.join(f'{k}={v:g}' for k, v in sorted(c['metrics'].items())))}"
            "</td></tr>"
            for c in data["children"]
        )
        parts.append(
            "<table><tr><th>child run</th><th>status</th><th>metrics</th></tr>" + rows + "</table>"
        )
    for name, value in sorted(data["metrics"].items()):
        points = _series(value)
        if len(points) > 1:
            parts.append(f"<div>{html.escape(name)}</div>{_svg(points)}")
        elif points:
            parts.append(f"<div>{html.escape(name)} = {points[0]:g}</div>")
        else:
            parts.append(f"<div>{html.escape(name)} = {html.escape(str(value))}</div>")
    return "\n".join(parts)


def _svg(points: list[float], width: int = 240, height: int = 60) -> str:
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = width / max(1, len(points) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - (v - low) / span * height:.1f}" for i, v in enumerate(points)
    )
    return (
        f"<svg width='{width}' height='{height}'><polyline fill='none' stroke='#1f77b4' "
        f"points='{coords}'/></svg>"
    )
