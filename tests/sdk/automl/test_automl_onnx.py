"""``enable_onnx_compatible_models=True``: each kept iteration also has an ONNX model
(where skl2onnx converts it), ``get_output(return_onnx_model=True)`` returns the best one,
and ONNX Runtime answers as the scikit-learn pipeline does."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from atelier import Experiment, ValidationError, Workspace
from atelier.azureml.train.automl import AutoMLConfig

pytestmark = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
    pytest.mark.parametrize("backend", ["embedded"], indirect=True),
]


def test_the_best_onnx_model_answers_as_the_pipeline(ws: Workspace) -> None:
    iris = load_iris(as_frame=True).frame
    run = Experiment(ws, "onnx").submit(
        AutoMLConfig(
            task="classification",
            training_data=iris,
            label_column_name="target",
            iterations=2,
            n_cross_validations=2,
            enable_onnx_compatible_models=True,
            allowed_models=["LogisticRegression", "DecisionTree"],
            enable_stack_ensemble=False,
        )
    )
    best, converted = run.get_output(return_onnx_model=True)
    assert best.properties["onnx_model_name"] == "outputs/model.onnx"
    _, model = run.get_output(iteration=int(best.properties["iteration"]))
    features = iris.drop(columns="target")
    session = onnxruntime.InferenceSession(converted.SerializeToString())
    labels, proba = session.run(None, {"X": features.to_numpy(np.float32)})
    assert (labels == model.predict(features)).all()
    assert np.abs(proba - model.predict_proba(features)).max() < 1e-4
    with pytest.raises(ValidationError, match="an ensemble has no ONNX form"):
        run.get_output(iteration=2, return_onnx_model=True)  # the VotingEnsemble


def test_models_without_an_onnx_form_say_why(ws: Workspace) -> None:
    frame = pd.DataFrame(
        {"size": np.arange(40.0), "colour": ["red", "blue"] * 20, "label": [0, 1] * 20}
    )
    settings = {
        "task": "classification",
        "training_data": frame,
        "label_column_name": "label",
        "iterations": 1,
        "n_cross_validations": 2,
        "allowed_models": ["DecisionTree"],
    }
    plain = Experiment(ws, "no-onnx").submit(AutoMLConfig(**settings))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="enable_onnx_compatible_models=True"):
        plain.get_output(return_onnx_model=True)
    run = Experiment(ws, "no-onnx").submit(
        AutoMLConfig(**settings, enable_onnx_compatible_models=True)  # type: ignore[arg-type]
    )
    assert "only numeric features" in run.get_children()[0].properties["onnx_error"]
    with pytest.raises(ValidationError, match="no ONNX model: only numeric features"):
        run.get_output(iteration=0, return_onnx_model=True)
    only_lightgbm = {**settings, "allowed_models": ["LightGBM"]}
    with pytest.raises(ValidationError, match="no ONNX form here"):
        Experiment(ws, "lightgbm-onnx").submit(
            AutoMLConfig(**only_lightgbm, enable_onnx_compatible_models=True)  # type: ignore[arg-type]
        )
    assert list(Experiment(ws, "lightgbm-onnx").get_runs()) == []
