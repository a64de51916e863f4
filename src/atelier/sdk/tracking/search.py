"""Runs as a pandas DataFrame, shaped like ``mlflow.search_runs``.

``atelier.search_runs(exp, filter="metrics.accuracy > 0.9", order_by=["metrics.accuracy
DESC"], max_results=10)`` gives one row per run with ``run_id``, ``experiment_id``,
``status``, ``start_time``, ``end_time`` (UTC timestamps), ``display_name``, ``experiment``,
``run_number``, ``parent_run_id``, then ``metrics.NAME`` (the latest value of each scalar
series), ``params.NAME`` (the run's properties: MLflow params are Atelier properties) and
``tags.NAME``. The runs are read in a few set-wise queries, so 10,000 runs take well under
a second or two.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.records import RunQuery, RunRecord
from atelier.sdk.tracking._frames import select
from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    import pandas as pd

    from atelier.sdk.workspace import Workspace

__all__ = ["list_runs", "search_runs"]

ATTRIBUTE_COLUMNS = (
    "run_id",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "display_name",
    "experiment",
    "run_number",
    "parent_run_id",
)


def _records(
    workspace: Workspace, experiment: str | None, query: RunQuery
) -> builtins.list[RunRecord]:
    return workspace._backend.runs.list(workspace.name, experiment, query)


def list_runs(
    workspace: Workspace,
    experiment: str | None = None,
    *,
    tags: Any = None,
    status: Sequence[str] | None = None,
    include_children: bool = False,
    order_by: str | None = None,
    top: int | None = None,
) -> builtins.list[Run]:
    """Runs of one experiment, or of every experiment of the workspace (``experiment=None``),
    newest first or by a metric's latest value (``order_by="accuracy desc"``)."""
    if experiment is not None:
        return Run.list(
            Experiment(workspace, experiment, _record=_experiment_record(workspace, experiment)),
            tags=tags,
            status=list(status) if status else None,
            include_children=include_children,
            order_by=order_by,
            top=top,
        )
    from atelier.sdk.tracking import _query

    query = _query.build(
        tags=tags,
        status=list(status) if status else None,
        include_children=include_children,
        order_by=order_by,
        top=top,
        with_latest_metrics=True,
    )
    experiments: dict[str, Experiment] = {}
    runs = []
    for record in _records(workspace, None, query):
        name = record.experiment_name
        if name not in experiments:
            experiments[name] = workspace._experiment(name)
        runs.append(Run(experiments[name], record.run_id, _record=record))
    return runs


def _experiment_record(workspace: Workspace, name: str) -> Any:
    return workspace._backend.experiments.get(workspace.name, name)


def _scope(target: Any) -> tuple[Workspace, builtins.list[str | None]]:
    """(workspace, experiment names or [None] for all) for an Experiment, a list of them or a
    Workspace."""
    if isinstance(target, Experiment):
        return target.workspace, [target.name]
    if (
        isinstance(target, list | tuple)
        and target
        and all(isinstance(t, Experiment) for t in target)
    ):
        return target[0].workspace, [t.name for t in target]
    if hasattr(target, "_backend") and hasattr(target, "_experiment"):
        return target, [None]
    raise ValidationError(
        f"search_runs takes an Experiment, a list of Experiments or a Workspace, "
        f"not {type(target).__name__}"
    )


def search_runs(
    experiment: Any,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    max_results: int | None = None,
    *,
    include_children: bool = False,
) -> pd.DataFrame:
    """Runs of ``experiment`` (an Experiment, a list of them, or a Workspace for all its
    experiments) as a DataFrame shaped like ``mlflow.search_runs``.

    ``filter`` takes MLflow's filter syntax (``"metrics.accuracy > 0.9 and tags.area =
    'demo'"``); ``order_by`` a column or a list of them with ``ASC``/``DESC`` (a bare name is
    a metric); runs without the value come last, and so do NaN values. Default order: newest
    first. An unknown field in ``filter`` or ``order_by`` raises ``ValidationError``."""
    workspace, names = _scope(experiment)
    query = RunQuery(include_children=include_children, with_latest_metrics=True)
    records: builtins.list[RunRecord] = []
    for name in names:
        records.extend(_records(workspace, name, query))
    if len(names) > 1:
        records.sort(key=lambda r: (r.created_ms, r.number), reverse=True)
    return select(records, filter, order_by, max_results)
