"""Runs as a DataFrame shaped like ``mlflow.search_runs``, and a run's series in long form."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import atelier
from atelier import Experiment, ValidationError, Workspace


@pytest.fixture
def exp(ws: Workspace) -> Experiment:
    experiment = Experiment(ws, "frames")
    for index, (accuracy, area) in enumerate([(0.7, "a"), (0.9, "b"), (None, "a"), (0.8, "b")]):
        run = experiment.start_logging(display_name=f"r{index}", tags={"area": area})
        run.add_properties({"lr": 0.1 * (index + 1)})
        run.log("loss", 1.0)
        run.log("loss", 0.5 / (index + 1))
        if accuracy is not None:
            run.log("accuracy", accuracy)
        run.complete()
    return experiment


def test_dataframe_columns_and_values(exp: Experiment) -> None:
    frame = exp.get_runs_dataframe()
    assert list(frame.columns[:9]) == [
        "run_id",
        "experiment_id",
        "status",
        "start_time",
        "end_time",
        "display_name",
        "experiment",
        "run_number",
        "parent_run_id",
    ]
    assert {"metrics.accuracy", "metrics.loss", "params.lr", "tags.area"} <= set(frame.columns)
    assert list(frame["display_name"]) == ["r3", "r2", "r1", "r0"]  # newest first
    assert set(frame["status"]) == {"Completed"}
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert (frame["end_time"] >= frame["start_time"]).all()
    r1 = frame.set_index("display_name").loc["r1"]
    assert r1["metrics.accuracy"] == 0.9
    assert r1["metrics.loss"] == 0.25  # the latest value
    assert r1["tags.area"] == "b"
    assert r1["params.lr"] == "0.2"
    assert math.isnan(frame.set_index("display_name").loc["r2"]["metrics.accuracy"])


def test_search_runs_filter_order_and_limit(exp: Experiment) -> None:
    best = atelier.search_runs(exp, order_by=["metrics.accuracy DESC"], max_results=2)
    assert list(best["display_name"]) == ["r1", "r3"]
    ascending = atelier.search_runs(exp, order_by="accuracy asc")
    assert list(ascending["display_name"]) == ["r0", "r3", "r1", "r2"]  # no value: last
    chosen = exp.get_runs_dataframe(filter="metrics.accuracy >= 0.8 and tags.area = 'b'")
    assert sorted(chosen["display_name"]) == ["r1", "r3"]
    by_status = atelier.search_runs(exp, filter="attributes.status = 'Completed'")
    assert len(by_status) == 4
    named = atelier.search_runs(exp, filter="display_name LIKE 'r%' and params.lr = '0.1'")
    assert list(named["display_name"]) == ["r0"]
    across = atelier.search_runs(exp.workspace)
    assert len(across) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order_by": "metrics.f1 desc"}, "no run has 'metrics.f1'"),
        ({"order_by": "bogus.x"}, "no run has 'metrics.bogus.x'"),
        ({"filter": "metrics.accuracy >> 1"}, "cannot read the run filter"),
        ({"filter": "colour = 'red'"}, "unknown run field 'colour'"),
        ({"filter": "metrics.accuracy > 0.5 or tags.area = 'a'"}, "join clauses with 'and'"),
        ({"max_results": 0}, "max_results"),
    ],
)
def test_bad_search_arguments(exp: Experiment, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        atelier.search_runs(exp, **kwargs)  # type: ignore[arg-type]


def test_empty_experiment_gives_an_empty_frame(ws: Workspace) -> None:
    frame = Experiment(ws, "nothing-yet").get_runs_dataframe(order_by="accuracy desc")
    assert frame.empty
    assert "run_id" in frame.columns


def test_metrics_dataframe(ws: Workspace) -> None:
    with Experiment(ws, "series").start_logging() as run:
        for step in range(3):
            run.log("loss", 1.0 / (step + 1))
        run.log("accuracy", 0.5)
        run.log_list("labels", ["a", "b"])
        frame = run.get_metrics_dataframe()
    assert list(frame.columns) == ["name", "step", "value", "timestamp"]
    loss = frame[frame["name"] == "loss"]
    assert list(loss["step"]) == [0, 1, 2]
    assert list(loss["value"]) == pytest.approx([1.0, 0.5, 1 / 3])
    assert list(frame[frame["name"] == "accuracy"]["value"]) == [0.5]
    assert isinstance(frame["timestamp"].iloc[0], pd.Timestamp)
    assert list(run.get_metrics_dataframe("accuracy")["value"]) == [0.5]
