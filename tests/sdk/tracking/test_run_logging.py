from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from atelier import Experiment, NotFoundError, ValidationError, Workspace


def test_series_and_single_values(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    for i in range(5):
        run.log("loss", 1.0 / (i + 1))
    run.log("accuracy", 0.93)
    run.log("count", 7)
    run.log("np", np.float32(0.25))
    metrics = run.get_metrics()
    assert metrics["loss"] == [1.0, 0.5, pytest.approx(1 / 3), 0.25, 0.2]
    assert metrics["accuracy"] == 0.93
    assert metrics["count"] == 7.0
    assert metrics["np"] == 0.25
    assert run.get_metrics("accuracy") == {"accuracy": 0.93}
    assert run.get_metrics("absent") == {}


def test_steps_are_recorded_and_default_to_the_next_index(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    run.log("loss", 3.0)
    run.log("loss", 2.0)
    run.log("loss", 1.0, step=10)
    run.log("loss", 0.5)
    history = run.get_metric_history("loss")
    assert history["steps"] == [0, 1, 10, 11]
    assert history["values"] == [3.0, 2.0, 1.0, 0.5]
    assert len(history["timestamps_ms"]) == 4
    assert history["timestamps_ms"] == sorted(history["timestamps_ms"])
    with pytest.raises(NotFoundError, match="no scalar metric"):
        run.get_metric_history("nope")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be a number"),
        ([0.1, 0.2], r"run\.log_list\('m', values\)"),
        (range(3), "not a range"),
        ((x for x in [1.0]), "not a generator"),
    ],
)
def test_bad_values_are_refused_at_the_call(ws: Workspace, value: object, message: str) -> None:
    run = Experiment(ws, "log").start_logging()
    with pytest.raises(ValidationError, match=message):
        run.log("m", value)  # type: ignore[arg-type]
    run.complete()
    assert run.get_metrics() == {}


def test_bad_names_and_steps(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    with pytest.raises(ValidationError, match="metric name"):
        run.log("../x", 1)
    with pytest.raises(ValidationError, match="step"):
        run.log("x", 1, step=-1)
    with pytest.raises(ValidationError, match="step"):
        run.log("x", 1, step=1.5)  # type: ignore[arg-type]


def test_lists_rows_and_tables(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    run.log_list("classes", ["setosa", "versicolor", "virginica"])
    run.log_row("epochs", epoch=1, loss=0.5)
    run.log_row("epochs", epoch=2, loss=0.25, lr=0.1)
    run.log_table("confusion", {"pred": [0, 1], "count": [10, 2]})
    metrics = run.get_metrics()
    assert metrics["classes"] == ["setosa", "versicolor", "virginica"]
    assert metrics["epochs"] == {"epoch": [1, 2], "loss": [0.5, 0.25], "lr": [None, 0.1]}
    assert metrics["confusion"] == {"pred": [0, 1], "count": [10, 2]}
    with pytest.raises(ValidationError, match="same number"):
        run.log_table("t", {"a": [1], "b": [1, 2]})
    with pytest.raises(ValidationError, match="finite"):
        run.log_list("l", [1.0, math.nan])
    with pytest.raises(ValidationError, match="at least one column"):
        run.log_row("r")
    with pytest.raises(ValidationError, match="list of values"):
        run.log_list("l", "abc")


def test_log_image_from_plot_and_path(ws: Workspace, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Experiment(ws, "img").start_logging()
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    first = run.log_image("curve", plot=figure)
    plt.close(figure)
    png = tmp_path / "a.png"
    run.download_file(first, png)
    assert png.read_bytes().startswith(b"\x89PNG")
    second = run.log_image("curve", path=png)
    assert (first, second) == ("images/curve.png", "images/curve_1.png")
    assert run.get_metrics("curve") == {"curve": [first, second]}
    assert set(run.get_file_names()) == {first, second}
    not_png = tmp_path / "a.jpg"
    not_png.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    with pytest.raises(ValidationError, match="not a PNG"):
        run.log_image("photo", path=not_png)
    with pytest.raises(ValidationError, match="exactly one"):
        run.log_image("nothing")


def test_tight_loop_is_batched_and_all_points_arrive(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    for i in range(50_000):
        run.log("loss", float(i), step=i)
    run.complete()
    history = run.get_metric_history("loss")
    assert len(history["values"]) == 50_000
    assert history["steps"] == list(range(50_000))
    assert run.latest_metrics == {"loss": 49_999.0}


def test_large_series_read_back_in_order(ws: Workspace) -> None:
    run = Experiment(ws, "log").start_logging()
    values = np.random.default_rng(1).normal(size=300_000)
    for i, value in enumerate(values):
        run.log("noise", float(value))
        if i % 100_000 == 0:
            run.flush()
    assert np.array_equal(np.asarray(run.get_metrics("noise")["noise"]), values)
