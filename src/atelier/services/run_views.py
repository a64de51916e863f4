"""What the Studio shows of a sweep and of a pipeline run, read from the runs the SDK
records: a sweep's trials with their hyperparameters, best primary-metric value and
early termination; a pipeline run's steps as a graph with each step's run and status.

The shapes are those written by ``atelier.sdk.sweeps`` (a ``hyperdrive`` parent run whose
definition holds the settings; trials as child runs with a ``hyperparameters`` property)
and ``atelier.sdk.pipelines`` (an ``azureml.PipelineRun`` whose definition holds the graph;
steps as child runs named by ``azureml.pipeline.step_name``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError
from atelier.core.pipelines import PIPELINE_RUN_TYPE, REUSED_RUN, STEP_NAME
from atelier.core.records import RunRecord
from atelier.services import run_queries, run_records, workspaces
from atelier.store.models import ExperimentRow, MetricLatestRow, RunRow

__all__ = [
    "CANCELED_BY",
    "SWEEP_RUN_TYPE",
    "PipelineView",
    "StepNode",
    "SweepView",
    "Trial",
    "extremes",
    "pipeline_view",
    "runs_on_target",
    "sweep_view",
]

SWEEP_RUN_TYPE = "hyperdrive"
#: the property the sweep controller sets on a trial its early-termination policy cancels
CANCELED_BY = "hyperdrive.canceled_by"
_TRIAL_NUMBER = "hyperdrive.trial"


@dataclass(frozen=True, slots=True)
class Trial:
    run: RunRecord
    number: int | None
    hyperparameters: dict[str, Any]
    best: float | None
    canceled_by: str | None


@dataclass(frozen=True, slots=True)
class SweepView:
    run: RunRecord
    settings: dict[str, Any]
    metric: str
    maximize: bool
    trials: list[Trial]
    parameter_names: list[str]
    best: Trial | None

    @property
    def early_terminated(self) -> list[Trial]:
        return [t for t in self.trials if t.canceled_by]


def _hyperparameters(record: RunRecord) -> dict[str, Any]:
    try:
        found = json.loads(record.properties.get("hyperparameters") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def extremes(session: Session, run_ids: list[str], metric: str) -> dict[str, tuple[Any, Any]]:
    found: dict[str, tuple[Any, Any]] = {}
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        query = select(
            MetricLatestRow.run_id, MetricLatestRow.min_value, MetricLatestRow.max_value
        ).where(MetricLatestRow.run_id.in_(chunk), MetricLatestRow.name == metric)
        for run_id, low, high in session.execute(query):
            found[run_id] = (low, high)
    return found


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping (a run's definition is whatever its creator sent)."""
    return dict(value) if isinstance(value, dict) else {}


def _names(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def sweep_view(session: Session, workspace: str, run_id: str) -> SweepView:
    """The sweep ``run_id``: its settings and trials, best first (trials that never logged
    the primary metric last, newest trial number first among them)."""
    record = run_records.get(session, workspace, run_id)
    if record.run_type != SWEEP_RUN_TYPE:
        raise NotFoundError(f"run {run_id!r} is a {record.run_type} run, not a sweep")
    settings = _mapping((record.definition or {}).get("hyperdrive"))
    metric = str(settings.get("primary_metric_name") or "")
    maximize = str(settings.get("primary_metric_goal") or "").upper() == "MAXIMIZE"
    children = run_queries.descendants(session, workspace, run_id, recursive=False)
    found = extremes(session, [c.run_id for c in children], metric) if metric else {}
    trials = []
    for child in children:
        low, high = found.get(child.run_id, (None, None))
        number = child.properties.get(_TRIAL_NUMBER, "")
        trials.append(
            Trial(
                run=child,
                number=int(number) if number.isdigit() else None,
                hyperparameters=_hyperparameters(child),
                best=_finite(high if maximize else low),
                canceled_by=child.properties.get(CANCELED_BY),
            )
        )
    scored = [t for t in trials if t.best is not None]
    scored.sort(key=lambda t: t.best or 0.0, reverse=maximize)
    unscored = sorted(
        (t for t in trials if t.best is None), key=lambda t: -(t.number or 0)
    )  # fmt: skip
    names = sorted({k for t in trials for k in t.hyperparameters})
    return SweepView(
        run=record,
        settings=settings,
        metric=metric,
        maximize=maximize,
        trials=scored + unscored,
        parameter_names=names,
        best=scored[0] if scored else None,
    )


@dataclass(slots=True)
class StepNode:
    """A step of the graph, where the page draws it, and its run (None: not started)."""

    name: str
    upstream: list[str]
    layer: int
    row: int
    run: RunRecord | None = None
    reused_run_id: str | None = None
    extra_runs: list[RunRecord] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.run.status.value if self.run is not None else "NotStarted"


@dataclass(frozen=True, slots=True)
class PipelineView:
    run: RunRecord
    steps: list[StepNode]
    parameters: dict[str, Any]
    layers: int
    rows: int

    def edges(self) -> list[tuple[StepNode, StepNode]]:
        by_name = {s.name: s for s in self.steps}
        return [(by_name[u], s) for s in self.steps for u in s.upstream if u in by_name]


def _layers(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Each step's column: one past its deepest upstream step (a cycle cannot reach here,
    but a step naming itself or an unknown step is not followed)."""
    upstream = {str(s.get("name")): _names(s.get("upstream")) for s in steps}
    depth: dict[str, int] = {}

    def of(name: str, seen: frozenset[str]) -> int:
        if name in depth:
            return depth[name]
        ups = [u for u in upstream.get(name, []) if u in upstream and u not in seen]
        depth[name] = 1 + max((of(u, seen | {name}) for u in ups), default=-1)
        return depth[name]

    for name in upstream:
        of(name, frozenset())
    return depth


def pipeline_view(session: Session, workspace: str, run_id: str) -> PipelineView:
    """The pipeline run ``run_id``: its steps laid out by dependency, with their runs."""
    record = run_records.get(session, workspace, run_id)
    if record.run_type != PIPELINE_RUN_TYPE:
        raise NotFoundError(f"run {run_id!r} is a {record.run_type} run, not a pipeline run")
    definition = record.definition or {}
    graph = _mapping(definition.get("graph"))
    steps = graph.get("steps")
    specs = (
        [s for s in steps if isinstance(s, dict) and s.get("name")]
        if isinstance(steps, list)
        else []
    )
    depth = _layers(specs)
    rows_in: dict[int, int] = {}
    nodes: dict[str, StepNode] = {}
    for spec in specs:
        name = str(spec["name"])
        layer = depth.get(name, 0)
        nodes[name] = StepNode(
            name=name,
            upstream=_names(spec.get("upstream")),
            layer=layer,
            row=rows_in.get(layer, 0),
        )
        rows_in[layer] = rows_in.get(layer, 0) + 1
    for child in run_queries.descendants(session, workspace, run_id, recursive=False):
        node = nodes.get(child.properties.get(STEP_NAME, ""))
        if node is None:
            continue
        if node.run is None:
            node.run = child
            node.reused_run_id = child.properties.get(REUSED_RUN)
        else:
            node.extra_runs.append(child)
    return PipelineView(
        run=record,
        steps=list(nodes.values()),
        parameters=_mapping(definition.get("parameters")),
        layers=max(depth.values(), default=0) + 1,
        rows=max(rows_in.values(), default=1),
    )


def runs_on_target(
    session: Session, workspace: str, target: str, limit: int = 100
) -> tuple[list[RunRecord], int]:
    """The newest ``limit`` runs of the workspace on compute target ``target`` (child runs
    included), and how many there are."""
    ws = workspaces.get_row(session, workspace)
    where = (ExperimentRow.workspace_id == ws.id, RunRow.target == target)
    total = session.scalar(
        select(func.count())
        .select_from(RunRow)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(*where)
    )
    rows = session.execute(
        select(RunRow, ExperimentRow.name)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(*where)
        .order_by(RunRow.created_ms.desc(), RunRow.number.desc())
        .limit(limit)
    ).all()
    found = run_records.records(session, [(run, name) for run, name in rows], workspace)
    return found, int(total or 0)
