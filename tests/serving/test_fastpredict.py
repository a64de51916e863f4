"""compile_predictor: ONNX Runtime where it answers like scikit-learn, else model.predict."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import numpy
import onnxruntime
import pytest
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from atelier.serving.fastpredict import DISABLE_VARIABLE, Predict, compile_predictor

ONNX_LINE = "no-code scoring: ONNX Runtime (verified on 192 probe rows)"
FALLBACK_LINE = "no-code scoring: scikit-learn predict ("


def _features(rows: int, seed: int = 0) -> NDArray[Any]:
    return numpy.random.default_rng(seed).normal(size=(rows, 4))


def _compiled(model: Any, caplog: pytest.LogCaptureFixture) -> tuple[Predict, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="atelier.serving"):
        predict = compile_predictor(model)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("atelier.serving")]
    assert len(lines) == 1, lines  # one line says which path and why
    return predict, lines[0]


def _uses_sklearn(predict: Predict, model: Any) -> bool:
    return getattr(predict, "__self__", None) is model


def _assert_same_as_sklearn(predict: Predict, model: Any, exact: bool) -> None:
    for rows in (_features(500, seed=7), _features(1, seed=8), _features(3, seed=9) * 50):
        wanted = model.predict(rows)
        got = predict(rows)
        assert (got.dtype, got.shape) == (wanted.dtype, wanted.shape)
        if exact:
            assert got.tolist() == wanted.tolist()
        else:
            numpy.testing.assert_allclose(got, wanted, rtol=1e-6, atol=1e-9)


def test_binary_logistic_regression_runs_on_onnx(caplog: pytest.LogCaptureFixture) -> None:
    rows = _features(200)
    model = LogisticRegression().fit(rows, (rows[:, 0] + rows[:, 1] > 0).astype(int))
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    assert not _uses_sklearn(predict, model)
    _assert_same_as_sklearn(predict, model, exact=True)


def test_string_classes_come_back_as_scikit_learn_gives_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = _features(300)
    labels = numpy.array(["setosa", "versicolor", "virginica"])[numpy.argmax(rows[:, :3], 1)]
    model = LogisticRegression().fit(rows, labels)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    got = predict(_features(5, seed=3))
    assert got.dtype == model.predict(_features(1)).dtype  # <U10, not ONNX's objects
    assert set(got.tolist()) <= {"setosa", "versicolor", "virginica"}
    _assert_same_as_sklearn(predict, model, exact=True)


def test_pipeline_with_a_scaler(caplog: pytest.LogCaptureFixture) -> None:
    rows = _features(300) * [1.0, 100.0, 0.01, 5.0] + [0.0, 1000.0, 0.0, -3.0]
    labels = numpy.where(rows[:, 1] > 1000.0, 7, -2)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(rows, labels)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    _assert_same_as_sklearn(predict, model, exact=True)


@pytest.mark.parametrize("estimator", [LinearRegression, Ridge])
def test_regressors(estimator: type[Any], caplog: pytest.LogCaptureFixture) -> None:
    rows = _features(200)
    model = estimator().fit(rows, rows @ [1.5, -2.0, 0.25, 3.0] + 0.5)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    _assert_same_as_sklearn(predict, model, exact=False)


def test_a_regressor_with_two_targets_keeps_its_shape(caplog: pytest.LogCaptureFixture) -> None:
    rows = _features(200)
    model = Ridge().fit(rows, numpy.c_[rows @ [1.0, 2.0, 3.0, 4.0], rows[:, 0]])
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    assert predict(_features(3)).shape == (3, 2)
    _assert_same_as_sklearn(predict, model, exact=False)


class Threshold(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """An estimator skl2onnx knows nothing about."""

    def fit(self, rows: NDArray[Any], labels: NDArray[Any]) -> Threshold:
        self.classes_ = numpy.unique(labels)
        self.n_features_in_ = rows.shape[1]
        return self

    def predict(self, rows: NDArray[Any]) -> NDArray[Any]:
        return self.classes_[(numpy.asarray(rows)[:, 0] > 0).astype(int)]  # type: ignore[no-any-return]


def test_an_estimator_skl2onnx_cannot_convert_keeps_predict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = Threshold().fit(_features(10), numpy.array([0, 1] * 5))
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line.startswith(FALLBACK_LINE + "skl2onnx cannot convert Threshold: ")
    assert predict(_features(2)).tolist() == model.predict(_features(2)).tolist()


def test_a_model_that_is_no_estimator_keeps_predict(caplog: pytest.LogCaptureFixture) -> None:
    class Doubler:
        def predict(self, rows: NDArray[Any]) -> NDArray[Any]:
            return rows * 2

    model = Doubler()
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line == FALLBACK_LINE + "Doubler is not a scikit-learn estimator with predict)"


def test_the_variable_turns_onnx_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _features(50)
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    monkeypatch.setenv(DISABLE_VARIABLE, "0")
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line == FALLBACK_LINE + "ATELIER_NOCODE_ONNX=0)"


def test_missing_libraries_keep_predict_with_an_install_hint(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _features(50)
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # makes `import skl2onnx` fail
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line == FALLBACK_LINE + "skl2onnx is not installed; pip install 'atelier-ml[serve]')"


def test_answers_that_differ_from_scikit_learn_keep_predict(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe check is what makes ONNX trustworthy: a runtime that gets one label
    wrong is not used."""
    real_run = onnxruntime.InferenceSession.run

    def off_by_one(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        labels, *rest = real_run(self, *args, **kwargs)
        labels = labels.copy()
        labels[-1] = 1 - labels[-1]
        return [labels, *rest]

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", off_by_one)
    rows = _features(50)
    model = LogisticRegression().fit(rows, (rows[:, 0] > 0).astype(int))
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line == FALLBACK_LINE + (
        "ONNX Runtime labels differ from scikit-learn's on 1 of 192 probe rows)"
    )


def test_an_unexpected_failure_while_compiling_keeps_predict(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any) -> Any:
        raise TypeError("the session lost its outputs")

    monkeypatch.setattr(onnxruntime.InferenceSession, "get_outputs", broken)
    rows = _features(50)
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    predict, line = _compiled(model, caplog)
    assert _uses_sklearn(predict, model)
    assert line == FALLBACK_LINE + ("compiling failed: TypeError: the session lost its outputs)")


def test_a_wide_model_is_probed_on_fewer_rows(caplog: pytest.LogCaptureFixture) -> None:
    rows = numpy.random.default_rng(0).normal(size=(30, 50_000))
    model = Ridge().fit(rows, rows[:, 0])
    predict, line = _compiled(model, caplog)
    assert line == "no-code scoring: ONNX Runtime (verified on 60 probe rows)"  # 20 a scale
    numpy.testing.assert_allclose(predict(rows[:3]), model.predict(rows[:3]), rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (LogisticRegression(), "X has 3 features, but LogisticRegression is expecting 4"),
        (
            make_pipeline(StandardScaler(), LogisticRegression()),
            "X has 3 features, but StandardScaler is expecting 4",
        ),
    ],
)
def test_a_row_of_the_wrong_width_is_a_value_error(
    model: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _features(50)
    model.fit(rows, rows[:, 0] > 0)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    with pytest.raises(ValueError, match=message):
        predict(numpy.zeros((1, 3)))
    with pytest.raises(ValueError, match="X has 5 features"):
        predict(numpy.zeros((2, 5)))


def test_nan_and_infinity_are_rejected_as_scikit_learn_rejects_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = _features(50)
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    with pytest.raises(ValueError, match="Input X contains NaN"):
        predict(numpy.array([[0.0, numpy.nan, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        predict(numpy.array([[0.0, 1.0, numpy.inf, 2.0]]))


def test_a_runtime_failure_is_a_value_error_without_internals(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = onnxruntime.InferenceSession.run
    failing = False

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        if failing:
            raise RuntimeError("[ONNXRuntimeError] : 6 : secret-internal-detail")
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", run)
    rows = _features(50)
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    predict, line = _compiled(model, caplog)
    assert line == ONNX_LINE
    failing = True
    with (
        caplog.at_level(logging.WARNING, logger="atelier.serving"),
        pytest.raises(ValueError, match="could not score 2 rows of 4 features") as caught,
    ):
        predict(numpy.zeros((2, 4)))
    assert "secret-internal-detail" not in str(caught.value)
    assert "secret-internal-detail" in caplog.text  # the server log keeps the detail


def test_importing_the_module_loads_nothing_heavy() -> None:
    code = (
        "import sys, atelier.serving.fastpredict; "
        "print(sorted(m for m in ('numpy', 'sklearn', 'onnx', 'onnxruntime', 'skl2onnx') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
