"""``atelier run metrics`` names text, typed and image metrics for what they are."""

from __future__ import annotations

from atelier.cli._run_views import metric_row


def test_text_typed_and_image_metrics_are_told_apart() -> None:
    assert metric_row("solver", "lbfgs")[1:4] == ("text", 1, "lbfgs")
    assert metric_row("converged", True)[1] == "text"
    assert metric_row("phases", ["warmup", "train"])[1:4] == ("list", 2, "train")
    assert metric_row("curve", "images/curve.png")[1] == "image"
    matrix = {"schema_type": "confusion_matrix", "schema_version": "1.0.0", "data": {"m": 1}}
    assert metric_row("cm", matrix)[1:4] == ("confusion_matrix", 1, {"m": 1})
    assert metric_row("loss", 0.5)[1] == "scalar"
