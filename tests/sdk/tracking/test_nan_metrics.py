"""NaN and infinities are valid metric values, as in MLflow: a diverged loss is logged, not a
crash; the series keeps them exactly and ordering puts NaN last."""

from __future__ import annotations

import math

import pytest

from atelier import Experiment, Run, Workspace


def test_nan_and_infinities_are_stored_exactly_and_sorted_last(ws: Workspace) -> None:
    exp = Experiment(ws, "diverged")
    with exp.start_logging() as good:
        good.log("loss", 0.5)
    with exp.start_logging() as diverged:
        diverged.log("loss", 1.0)
        diverged.log("loss", math.inf)
        diverged.log("loss", -math.inf)
        diverged.log("loss", math.nan)
    with exp.start_logging() as better:
        better.log("loss", 0.25)
    values = diverged.get_metrics()["loss"]
    assert values[:3] == [1.0, math.inf, -math.inf]
    assert math.isnan(values[3])
    assert math.isnan(diverged.get_metric_history("loss")["values"][3])
    assert math.isnan(Run.get(ws, diverged.id).latest_metrics["loss"])
    assert Run.list(exp, order_by="loss asc") == [better, good, diverged]
    assert Run.list(exp, order_by="loss desc") == [good, better, diverged]
    assert exp.get_best_run("loss", goal="minimize") == better
    frame = exp.get_runs_dataframe(order_by="loss desc")
    assert list(frame["run_id"]) == [good.id, better.id, diverged.id]
    assert math.isnan(frame["metrics.loss"].iloc[2])


@pytest.mark.parametrize("backend", ["embedded"])  # the databases differ, not the backends
def test_a_nan_latest_value_still_counts_for_top_and_best_run(ws: Workspace) -> None:
    exp = Experiment(ws, "all-diverged")
    with exp.start_logging() as diverged:
        diverged.log("loss", math.nan)
    with exp.start_logging() as other:
        other.log("accuracy", 0.5)  # never logged the loss: not a candidate
    assert Run.list(exp, order_by=("loss", "asc"), top=5) == [diverged]
    assert exp.get_best_run("loss", goal="minimize") == diverged
    with exp.start_logging() as finite:
        finite.log("loss", 2.0)
    assert Run.list(exp, order_by=("loss", "desc"), top=5) == [finite, diverged]
    assert exp.get_best_run("loss", goal="maximize") == finite
