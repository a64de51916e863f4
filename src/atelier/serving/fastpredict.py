"""A fast ``predict`` for no-code scikit-learn scoring, through ONNX Runtime when it agrees.

scikit-learn validates its input on every ``predict`` call: one row through a
``LogisticRegression`` costs ~85 µs, almost all of it checks. The same model converted by
skl2onnx and run by ONNX Runtime (one thread, no ZipMap) scores that row in a few µs.
:func:`compile_predictor` converts a fitted estimator or pipeline, checks the converted
model against scikit-learn on probe rows, and hands back the faster of the two that gives
the same answers. Anything it cannot convert or verify keeps ``model.predict``.

``ATELIER_NOCODE_ONNX=0`` in the environment keeps ``model.predict`` for every model.

This module imports nothing heavy itself: numpy, scikit-learn, skl2onnx and ONNX Runtime
are imported by :func:`compile_predictor`.
"""

from __future__ import annotations

import importlib
import logging
import numbers
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["DISABLE_VARIABLE", "Predict", "compile_predictor"]

logger = logging.getLogger("atelier.serving")

#: ``ATELIER_NOCODE_ONNX=0`` keeps scikit-learn's ``predict``.
DISABLE_VARIABLE = "ATELIER_NOCODE_ONNX"
#: rows drawn from a standard normal distribution (fixed seed), then the same rows scaled
#: down and up, so the comparison covers small, ordinary and large feature values
PROBE_ROWS = 64
PROBE_SCALES = (1.0, 1e-3, 1e3)
_PROBE_SEED = 20240611
#: a model with more than 15,625 features gets fewer rows (8 at least): 8 MB per scale
_PROBE_VALUES = 1_000_000
#: predict's output by the name skl2onnx gives it: labels for classifiers and clusterers,
#: values for regressors
_PREDICT_OUTPUTS = ("label", "variable")
_INSTALL_HINT = "pip install 'atelier-ml[serve]'"

Predict = Callable[["NDArray[Any]"], "NDArray[Any]"]


class _NotCompiledError(Exception):
    """Why the ONNX path is not taken; the message completes the log line."""


def compile_predictor(model: Any, log: logging.Logger | None = None) -> Predict:
    """``predict(rows) -> labels or values`` for a fitted scikit-learn ``model``.

    The result answers like ``model.predict``: the same values, dtype and shape, and a
    ``ValueError`` (scikit-learn's own) for rows of the wrong width, with NaN or infinity
    (those rows are handed to ``model.predict``). It is ONNX Runtime when skl2onnx can
    convert the model and the converted model gives scikit-learn's answers on probe rows
    (labels equal, values within ``rtol=1e-6``); otherwise it is ``model.predict``. One
    line on ``log`` (default: the ``atelier.serving`` logger) says which and why. Never
    raises for a model it cannot compile; an ONNX Runtime failure while scoring surfaces
    as a ``ValueError`` that names no internals.
    """
    log = log or logger
    try:
        predict, probes = _compile_onnx(model)
    except _NotCompiledError as exc:
        log.info("no-code scoring: scikit-learn predict (%s)", exc)
        return model.predict  # type: ignore[no-any-return]
    except Exception as exc:  # a faster path must never keep a model from being served
        reason = f"{type(exc).__name__}: {_first_line(exc)}"
        log.warning("no-code scoring: scikit-learn predict (compiling failed: %s)", reason)
        return model.predict  # type: ignore[no-any-return]
    log.info("no-code scoring: ONNX Runtime (verified on %d probe rows)", probes)
    return predict


def _compile_onnx(model: Any) -> tuple[Predict, int]:
    """The verified ONNX Runtime predictor and the number of probe rows it was checked on."""
    if os.environ.get(DISABLE_VARIABLE, "").strip() == "0":
        raise _NotCompiledError(f"{DISABLE_VARIABLE}=0")
    width = _checked_width(model)
    for module in ("numpy", "onnx", "onnxruntime", "skl2onnx"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise _NotCompiledError(f"{module} is not installed; {_INSTALL_HINT}") from None
    import numpy

    probes = _probe_rows(width)
    try:
        with warnings.catch_warnings():
            # e.g. "X does not have valid feature names": the probes are ours, not the caller's
            warnings.simplefilter("ignore")
            expected = numpy.asarray(model.predict(probes))
    except Exception as exc:
        raise _NotCompiledError(f"predict fails on probe rows: {_first_line(exc)}") from None
    session, input_dtype = _converted_session(model, probes)
    output = _predict_output(session)
    predict = _onnx_predict(model, session, output, input_dtype, width, expected)
    _verify(model, predict, probes, expected)
    return predict, len(probes)


def _checked_width(model: Any) -> int:
    """The number of features a fitted scikit-learn ``model`` expects."""
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        raise _NotCompiledError(f"scikit-learn is not installed; {_INSTALL_HINT}") from None
    name = type(model).__name__
    if not isinstance(model, BaseEstimator) or not callable(getattr(model, "predict", None)):
        raise _NotCompiledError(f"{name} is not a scikit-learn estimator with predict")
    width = getattr(model, "n_features_in_", None)
    if not isinstance(width, numbers.Integral) or width < 1:
        raise _NotCompiledError(f"{name} does not record n_features_in_ (not fitted?)")
    return int(width)


def _probe_rows(width: int) -> NDArray[Any]:
    import numpy

    rows = max(8, min(PROBE_ROWS, _PROBE_VALUES // width))
    base = numpy.random.default_rng(_PROBE_SEED).standard_normal((rows, width))
    return numpy.ascontiguousarray(numpy.vstack([base * scale for scale in PROBE_SCALES]))


def _converted_session(model: Any, probes: NDArray[Any]) -> tuple[Any, Any]:
    """An ONNX Runtime session for ``model`` and the dtype of its input."""
    import onnxruntime

    converted, dtype = _converted(model, probes)
    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads = 1
    settings.inter_op_num_threads = 1
    settings.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    settings.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    settings.log_severity_level = 3  # errors only: its warnings would fill the replica log
    try:
        session = onnxruntime.InferenceSession(
            converted.SerializeToString(), settings, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise _NotCompiledError(
            f"ONNX Runtime cannot load the converted model: {_first_line(exc)}"
        ) from None
    return session, dtype


def _converted(model: Any, probes: NDArray[Any]) -> tuple[Any, Any]:
    """``model`` as an ONNX graph and its input dtype: float64 where skl2onnx converts the
    model for it (scikit-learn computes in float64), else float32."""
    import numpy
    from skl2onnx import to_onnx
    from sklearn.base import is_classifier

    # ZipMap turns probabilities into a list of dicts: slow, and predict never needs it
    options = {id(model): {"zipmap": False}} if is_classifier(model) else None
    first_failure: Exception | None = None
    for dtype in (numpy.float64, numpy.float32):
        sample = probes[:1].astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # converter chatter is not the caller's
            try:
                try:
                    return to_onnx(model, sample, options=options), dtype
                except NameError:  # skl2onnx's answer to an option the converter lacks
                    return to_onnx(model, sample), dtype
            except Exception as exc:
                first_failure = first_failure or exc
    reason = _first_line(first_failure) if first_failure else "no converter"
    raise _NotCompiledError(f"skl2onnx cannot convert {type(model).__name__}: {reason}")


def _predict_output(session: Any) -> str:
    names = [output.name for output in session.get_outputs()]
    for name in _PREDICT_OUTPUTS:
        if name in names:
            return name
    raise _NotCompiledError(f"the converted model has no label or variable output ({names})")


def _onnx_predict(
    model: Any,
    session: Any,
    output: str,
    input_dtype: Any,
    width: int,
    expected: NDArray[Any],
) -> Predict:
    """``predict`` through ``session``, shaped and typed like scikit-learn's ``expected``."""
    import numpy

    fallback = model.predict
    run = session.run
    outputs = [output]
    feed_name = session.get_inputs()[0].name
    output_dtype = expected.dtype
    flat = expected.ndim == 1
    isfinite = numpy.isfinite
    name = type(model).__name__

    def predict(rows: NDArray[Any]) -> NDArray[Any]:
        if rows.ndim != 2 or rows.shape[1] != width or rows.dtype.kind not in "fiu":
            return fallback(rows)  # type: ignore[no-any-return]  # sklearn's own ValueError
        feed = rows if rows.dtype == input_dtype else rows.astype(input_dtype)
        if not isfinite(feed).all():
            # scikit-learn rejects NaN and infinity with its own message, or imputes them
            return fallback(rows)  # type: ignore[no-any-return]
        try:
            result = run(outputs, {feed_name: feed})[0]
        except Exception as exc:
            logger.warning("ONNX Runtime failed on %s rows: %s", rows.shape, _first_line(exc))
            raise ValueError(
                f"the compiled {name} could not score {rows.shape[0]} rows of "
                f"{rows.shape[1]} features"
            ) from None
        if flat and result.ndim != 1:
            result = result.reshape(-1)
        if result.dtype != output_dtype:
            result = result.astype(output_dtype)
        return result  # type: ignore[no-any-return]

    return predict


def _verify(model: Any, predict: Predict, probes: NDArray[Any], expected: NDArray[Any]) -> None:
    """Raise unless ``predict`` answers like scikit-learn on the probes, together and one
    row at a time (a batch of one is the common request)."""
    import numpy
    from sklearn.base import is_classifier

    exact = is_classifier(model) or expected.dtype.kind not in "fc"
    checks = [(probes, expected)] + [
        (probes[index : index + 1], expected[index : index + 1]) for index in range(4)
    ]
    for rows, wanted in checks:
        try:
            got = predict(rows)
        except Exception as exc:
            raise _NotCompiledError(
                f"ONNX Runtime fails on probe rows: {_first_line(exc)}"
            ) from None
        if got.shape != wanted.shape or got.dtype != wanted.dtype:
            raise _NotCompiledError(
                f"ONNX Runtime answers {got.dtype}{list(got.shape)} where scikit-learn "
                f"answers {wanted.dtype}{list(wanted.shape)}"
            )
        if exact:
            differ = int(numpy.count_nonzero(got != wanted))
        else:
            close = numpy.isclose(got, wanted, rtol=1e-6, atol=1e-9)
            differ = int(numpy.count_nonzero(~close))
        if differ:
            what = "labels" if exact else "values"
            raise _NotCompiledError(
                f"ONNX Runtime {what} differ from scikit-learn's on {differ} of "
                f"{len(rows)} probe rows"
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."
