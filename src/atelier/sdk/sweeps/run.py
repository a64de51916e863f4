"""``HyperDriveRun``: a sweep's parent run, with azureml v1's methods over its trials."""

from __future__ import annotations

import builtins
import json
import math
import time
from typing import TYPE_CHECKING, Any, TextIO

from atelier.core.errors import InvalidStateError, RunFailedError, ValidationError
from atelier.core.pipelines import HYPERDRIVE_RUN_TYPE
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.sdk.sweeps import _launch
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.tracking.experiment import Experiment

__all__ = ["HYPERDRIVE_RUN_TYPE", "HyperDriveRun", "metric_series"]

_POLL_SECONDS = 0.2
#: how long a new sweep's controller may take to start before a waiter starts another
_CONTROLLER_START_MS = 20_000


def metric_series(value: Any) -> list[float]:
    """A metric as ``get_metrics`` returns it (a number or a list), as a list of floats."""
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


class HyperDriveRun(Run):
    """The parent run of a sweep; its children are the trials."""

    run_type_class = HYPERDRIVE_RUN_TYPE

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        hyperdrive_config: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(experiment, run_id, **kwargs)
        if self._record.run_type != HYPERDRIVE_RUN_TYPE:
            raise ValidationError(f"run {run_id!r} is a {self._record.run_type} run, not a sweep")
        self._hyperdrive_config = hyperdrive_config

    @property
    def hyperdrive_config(self) -> Any:
        """The ``HyperDriveConfig`` this run was submitted with (None when opened by id)."""
        return self._hyperdrive_config

    @property
    def _settings(self) -> dict[str, Any]:
        return dict((self._record.definition or {}).get("hyperdrive") or {})

    @property
    def primary_metric_name(self) -> str:
        return str(self._settings.get("primary_metric_name", ""))

    @property
    def _maximize(self) -> bool:
        return self._settings.get("primary_metric_goal") == "MAXIMIZE"

    # --- the trials -------------------------------------------------------------------
    def _trials(self) -> builtins.list[RunRecord]:
        return self._backend.runs.children(self._workspace_name, self.id, False)

    def _best_values(self, records: builtins.list[RunRecord]) -> dict[str, float | None]:
        if not records:
            return {}
        metric = self.primary_metric_name
        found = self._backend.metrics.get(self._workspace_name, [r.run_id for r in records], metric)
        best: dict[str, float | None] = {}
        for record in records:
            values = [
                v
                for v in metric_series(found.get(record.run_id, {}).get(metric, []))
                if not math.isnan(v)
            ]
            best[record.run_id] = (
                (max(values) if self._maximize else min(values)) if values else None
            )
        return best

    def get_hyperparameters(self) -> dict[str, dict[str, Any]]:
        """Each trial's hyperparameters: ``{run_id: {"--lr": 0.01, ...}}``."""
        return {
            record.run_id: json.loads(record.properties.get("hyperparameters") or "{}")
            for record in self._trials()
        }

    def get_metrics(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Every trial's metrics: ``{run_id: {name: value}}``."""
        del args, kwargs
        ids = [record.run_id for record in self._trials()]
        return self._backend.metrics.get(self._workspace_name, ids) if ids else {}

    def get_children_sorted_by_primary_metric(
        self, top: int = 0, reverse: bool = False, discard_no_metric: bool = False
    ) -> builtins.list[dict[str, Any]]:
        """Trials best first by their best primary-metric value (``reverse`` turns that
        order round); trials without the metric come last, or not at all with
        ``discard_no_metric``. Each is ``{"run_id", "hyperparameters",
        "best_primary_metric", "status"}``; ``top`` > 0 keeps that many."""
        records = self._trials()
        best = self._best_values(records)
        scored = [r for r in records if best[r.run_id] is not None]
        scored.sort(key=lambda r: float(best[r.run_id] or 0.0), reverse=self._maximize != reverse)
        ordered = scored + ([] if discard_no_metric else [r for r in records if r not in scored])
        rows = [
            {
                "run_id": r.run_id,
                "hyperparameters": r.properties.get("hyperparameters", "{}"),
                "best_primary_metric": best[r.run_id],
                "status": r.status.value,
            }
            for r in ordered
        ]
        return rows[:top] if top and top > 0 else rows

    def get_best_run_by_primary_metric(
        self,
        include_failed: bool = True,
        include_canceled: bool = True,
        include_resume_from_runs: bool = False,
    ) -> Run | None:
        """The trial with the best primary-metric value (None if no trial logged it)."""
        del include_resume_from_runs
        skipped = set()
        if not include_failed:
            skipped.add(RunStatus.FAILED)
        if not include_canceled:
            skipped.update((RunStatus.CANCELED, RunStatus.CANCEL_REQUESTED))
        records = [r for r in self._trials() if r.status not in skipped]
        best = self._best_values(records)
        scored = [r for r in records if best[r.run_id] is not None]
        if not scored:
            return None
        pick = max if self._maximize else min
        winner = pick(scored, key=lambda r: float(best[r.run_id] or 0.0))
        return Run(self.experiment, winner.run_id, _record=winner)

    # --- lifecycle --------------------------------------------------------------------
    def cancel(self) -> bool:  # type: ignore[override]
        """Cancel the sweep and every trial still running; True once asked."""
        if self._refresh().status in TERMINAL_STATUSES:
            raise InvalidStateError(f"sweep {self.id} is {self.status}; there is nothing to cancel")
        self._record = self._backend.runs.cancel(self._workspace_name, self.id)
        self.resume()  # the controller ends the sweep once its trials have stopped
        return True

    def fail(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidStateError("a sweep cannot be failed by hand; cancel() it instead")

    def resume(self) -> bool:
        """Start a controller for the sweep if none is driving it (after its process was
        killed, say); it carries on from what is stored. True if one was started."""
        if self._refresh().status in TERMINAL_STATUSES:
            return False
        if _launch.controller_alive(self._backend, self.id):
            return False
        _launch.start_controller(self._backend, self._workspace_name, self.id)
        return True

    def _resume_if_orphaned(self, record: RunRecord) -> None:
        """Resume the sweep if its controller died (``resume`` finds its lock free). A new
        sweep's first controller may still be starting, so it is given
        ``_CONTROLLER_START_MS``, and its lock is not even tried meanwhile (trying takes
        it for an instant); a sweep with a trial has had a controller: at once."""
        if record.created_ms < now_ms() - _CONTROLLER_START_MS or self._trials():
            self.resume()

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        timeout_seconds: float | None = None,
        out: TextIO | None = None,
    ) -> dict[str, Any]:
        """Block until the sweep ends; with ``show_output``, a live table of its trials.
        A sweep whose controller died is resumed. Raises ``RunFailedError`` if the sweep
        failed or was canceled, unless ``raise_on_error`` is False."""
        del wait_post_processing
        from atelier.sdk.sweeps._table import TrialTable

        deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        table = TrialTable(self, out) if show_output else None
        last_check = 0.0
        try:
            while (record := self._refresh()).status not in TERMINAL_STATUSES:
                if table is not None:
                    table.update()
                if time.monotonic() - last_check > 2.0:
                    self._resume_if_orphaned(record)
                    last_check = time.monotonic()
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"sweep {self.id} still {record.status.value} after waiting")
                time.sleep(_POLL_SECONDS)
            if table is not None:
                table.update()
        finally:
            if table is not None:
                table.close()
        if raise_on_error and record.status in (RunStatus.FAILED, RunStatus.CANCELED):
            message = (record.error or {}).get("message", "no error recorded")
            raise RunFailedError(f"sweep {self.id} ended {record.status.value}: {message}")
        return self.get_details()
