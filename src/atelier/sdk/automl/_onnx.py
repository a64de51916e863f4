"""ONNX forms of AutoML's fitted pipelines (``enable_onnx_compatible_models=True``).

An iteration's pipeline converts when its featurizer only imputes numeric columns and
skl2onnx has a converter for its model: the ONNX model takes one float tensor ``X`` of
the training frame's columns, in order, and gives the label (and, for a classifier, the
class probabilities). Text, categorical and date-time columns, forecasting's lag step and
the ensembles have no ONNX form here; their iterations record why.
"""

from __future__ import annotations

import warnings
from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["ONNX_FILE", "onnx_bytes"]

ONNX_FILE = "outputs/model.onnx"
_ENSEMBLES = ("PreFittedSoftVotingClassifier", "PreFittedSoftVotingRegressor", "StackEnsemble")


def onnx_bytes(pipeline: Any) -> bytes:
    """The serialized ONNX model of a fitted AutoML pipeline; ``ValidationError`` saying
    why when it has none."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.base import is_classifier
    from sklearn.pipeline import Pipeline

    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    steps = getattr(featurizer, "named_steps", {})
    if "columns" not in steps:
        raise ValidationError("forecasting's lag step has no ONNX form")
    columns = steps["columns"]
    kinds = sorted({name.split("_")[0] for name, _, _ in columns.transformers_} - {"remainder"})
    if kinds != ["numeric"]:
        raise ValidationError(
            f"only numeric features convert to ONNX; this featurizer has {', '.join(kinds)}"
        )
    if type(model).__name__ in _ENSEMBLES:
        raise ValidationError(
            "an ensemble has no ONNX form here; the iterations it joins have theirs"
        )
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    options = {id(final): {"zipmap": False}} if is_classifier(final) else None
    graph = Pipeline([("columns", columns), ("model", model)])
    inputs = [("X", FloatTensorType([None, columns.n_features_in_]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # converter chatter
        try:
            converted = to_onnx(graph, initial_types=inputs, options=options)
        except Exception as exc:  # skl2onnx's many errors: no converter, no shape, ...
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValidationError(
                f"skl2onnx cannot convert {type(final).__name__}: {reason}"
            ) from None
    return bytes(converted.SerializeToString())
