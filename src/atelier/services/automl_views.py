"""What the Studio shows of an AutoML run: its settings and the leaderboard of its
iterations (algorithm, primary-metric value, duration, status), best first, read from the
runs ``atelier.sdk.automl`` records: an ``automl`` parent run whose definition holds the
settings under ``automl``, and one child run per iteration with the properties
``iteration`` and ``run_algorithm`` and the primary metric logged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError
from atelier.core.metric_names import AUTOML_MINIMIZED
from atelier.core.records import RunRecord
from atelier.services import run_queries, run_records
from atelier.services.run_views import extremes

__all__ = ["AUTOML_RUN_TYPE", "AutoMLView", "Iteration", "automl_view"]

AUTOML_RUN_TYPE = "automl"
#: the metrics of which less is better (every other AutoML metric: more is better)
MINIMIZED = AUTOML_MINIMIZED


@dataclass(frozen=True, slots=True)
class Iteration:
    run: RunRecord
    number: int | None
    algorithm: str
    score: float | None
    best: bool


@dataclass(frozen=True, slots=True)
class AutoMLView:
    run: RunRecord
    settings: dict[str, Any]
    metric: str
    maximize: bool
    iterations: list[Iteration]

    @property
    def best(self) -> Iteration | None:
        return next((i for i in self.iterations if i.best), None)


def is_automl_parent(record: RunRecord) -> bool:
    return record.run_type == AUTOML_RUN_TYPE and "iteration" not in record.properties


def automl_view(session: Session, workspace: str, run_id: str) -> AutoMLView:
    """The AutoML run ``run_id``: its iterations best first by the primary metric (those
    without a value last, by iteration number); ``NotFoundError`` for any other run."""
    record = run_records.get(session, workspace, run_id)
    if not is_automl_parent(record):
        raise NotFoundError(f"run {run_id!r} is not an AutoML parent run")
    found = (record.definition or {}).get("automl")
    settings = dict(found) if isinstance(found, dict) else {}
    metric = str(settings.get("primary_metric") or "")
    maximize = metric not in MINIMIZED
    children = run_queries.descendants(session, workspace, run_id, recursive=False)
    values = extremes(session, [c.run_id for c in children], metric) if metric else {}
    # the tag: a continued search names its best again (properties are write-once)
    marked = record.tags.get("best_child_run_id") or record.properties.get("best_child_run_id")
    rows = []
    for child in children:
        low, high = values.get(child.run_id, (None, None))
        value = high if maximize else low
        number = child.properties.get("iteration", "")
        rows.append(
            Iteration(
                run=child,
                number=int(number) if number.isdigit() else None,
                algorithm=child.properties.get("run_algorithm", ""),
                score=float(value)
                if isinstance(value, int | float) and math.isfinite(value)
                else None,
                best=False,
            )
        )
    scored = sorted((i for i in rows if i.score is not None), key=lambda i: i.score or 0.0)
    if maximize:
        scored.reverse()
    unscored = sorted((i for i in rows if i.score is None), key=lambda i: i.number or 0)
    ordered = scored + unscored
    best_id = marked if any(i.run.run_id == marked for i in rows) else None
    if best_id is None and scored:
        best_id = scored[0].run.run_id
    iterations = [
        Iteration(i.run, i.number, i.algorithm, i.score, i.run.run_id == best_id) for i in ordered
    ]
    return AutoMLView(record, settings, metric, maximize, iterations)
