"""The table of a sweep's trials, best first, drawn live by ``wait_for_completion``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from atelier.sdk.sweeps.run import HyperDriveRun

__all__ = ["TrialTable", "trial_table"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def trial_table(title: str, metric: str, rows: list[dict[str, Any]]) -> Table:
    """Rows of ``get_children_sorted_by_primary_metric`` as a table."""
    table = Table(title=title)
    for column in ("#", "run id", "status", f"best {metric}", "hyperparameters"):
        table.add_column(column)
    for index, row in enumerate(rows, start=1):
        raw = row.get("hyperparameters") or "{}"
        params = json.loads(raw) if isinstance(raw, str) else dict(raw)
        table.add_row(
            str(index),
            str(row["run_id"]),
            str(row["status"]),
            _cell(row.get("best_primary_metric")),
            ", ".join(f"{k}={_cell(v)}" for k, v in params.items()),
        )
    return table


class TrialTable:
    """A live table of the sweep's trials on a terminal; elsewhere (a log, a notebook's
    captured output) one line per trial that changes status, and the table at the end."""

    def __init__(self, run: HyperDriveRun, out: TextIO | None) -> None:
        self.run = run
        self.console = Console(file=out, highlight=False)
        self.live: Live | None = None
        if self.console.is_terminal:
            self.live = Live(console=self.console, auto_refresh=False)
            self.live.start()
        self.seen: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []

    def _table(self) -> Table:
        status = self.run._record.status.value
        return trial_table(
            f"sweep {self.run.id} ({status}): {len(self.rows)} trial(s)",
            self.run.primary_metric_name,
            self.rows,
        )

    def update(self) -> None:
        self.rows = self.run.get_children_sorted_by_primary_metric()
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            return
        for row in sorted(self.rows, key=lambda r: str(r["run_id"])):
            run_id, status = str(row["run_id"]), str(row["status"])
            if self.seen.get(run_id) != status:
                self.seen[run_id] = status
                best = _cell(row.get("best_primary_metric"))
                metric = f", best {self.run.primary_metric_name} {best}" if best else ""
                self.console.print(f"trial {run_id} {status}{metric}: {row.get('hyperparameters')}")

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        else:
            self.console.print(self._table())
