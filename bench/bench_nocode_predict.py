"""No-code scoring in one process: scikit-learn's predict against the compiled predictor.

For a LogisticRegression, a Pipeline(StandardScaler, LogisticRegression) and a Ridge on 4
features, each fitted on 1,000 rows, prints the per-call time (best of 5 repeats, in µs)
of ``model.predict(rows)`` and of ``compile_predictor(model)(rows)`` at 1 and 100 rows,
and their ratio; then the same for the whole generated ``run(raw_data)`` (JSON body in,
list out) with ONNX on and off. No HTTP: bench/bench_serving.py measures the server.

Run: ``python bench/bench_nocode_predict.py [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from atelier.sdk.models.nocode import _SCRIPT, PICKLE_SUFFIXES, SKLEARN
from atelier.serving.entry import load_entry_script
from atelier.serving.fastpredict import DISABLE_VARIABLE, compile_predictor

SIZES = (1, 100)


def _models() -> dict[str, Any]:
    rows = numpy.random.default_rng(0).normal(size=(1000, 4))
    labels = (rows @ [1.0, -2.0, 0.5, 0.0] > 0).astype(int)
    return {
        "LogisticRegression": LogisticRegression().fit(rows, labels),
        "Pipeline(StandardScaler, LogisticRegression)": make_pipeline(
            StandardScaler(), LogisticRegression()
        ).fit(rows, labels),
        "Ridge": Ridge().fit(rows, rows @ [1.0, 2.0, 3.0, 4.0]),
    }


def _per_call_us(call: Callable[[], object], calls: int) -> float:
    call()
    return min(timeit.repeat(call, number=calls, repeat=5)) / calls * 1e6


def _print_row(label: str, slow: float, fast: float) -> None:
    print(f"  {label:<22} {slow:10.1f}{fast:10.1f} {slow / fast:8.1f}x")


def _predict_calls(models: dict[str, Any], calls: int) -> None:
    print("predict(rows), µs per call: scikit-learn, compiled, ratio")
    for name, model in models.items():
        predict = compile_predictor(model)
        print(name)
        for size in SIZES:
            rows = numpy.random.default_rng(size).normal(size=(size, 4))
            slow = _per_call_us(lambda m=model, r=rows: m.predict(r), calls)
            fast = _per_call_us(lambda p=predict, r=rows: p(r), calls)
            _print_row(f"{size} row(s)", slow, fast)


def _run(model: Any, folder: Path, onnx: bool) -> Callable[[str], Any]:
    """The generated no-code script's ``run``, initialised on ``model``."""
    model_dir = folder / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    source = folder / ("onnx" if onnx else "sklearn")
    source.mkdir(exist_ok=True)
    script = source / "score.py"
    script.write_text(_SCRIPT.format(framework=SKLEARN, suffixes=PICKLE_SUFFIXES))
    os.environ[DISABLE_VARIABLE] = "1" if onnx else "0"
    try:
        entry = load_entry_script(script, source)
        entry.call_init(model_dir)
    finally:
        del os.environ[DISABLE_VARIABLE]
    return entry.run


def _script_calls(model: Any, calls: int) -> None:
    print(
        "\nrun(raw_data) for LogisticRegression, µs per call: json + model.predict (the "
        "script before), the generated script with ONNX off, with ONNX on, before/on"
    )

    def before(raw_data: str) -> Any:
        rows = numpy.asarray(json.loads(raw_data)["data"], dtype=float)
        return model.predict(rows).tolist()

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        off, on = _run(model, folder, onnx=False), _run(model, folder, onnx=True)
        for size in SIZES:
            rows = numpy.random.default_rng(size).normal(size=(size, 4)).round(6)
            body = json.dumps({"data": rows.tolist()})
            assert before(body) == off(body) == on(body)
            times = [_per_call_us(lambda f=f, b=body: f(b), calls) for f in (before, off, on)]
            columns = "".join(f"{value:10.1f}" for value in times)
            print(f"  {f'{size} row(s)':<22} {columns} {times[0] / times[2]:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per repeat")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models = _models()
    _predict_calls(models, arguments.calls)
    _script_calls(models["LogisticRegression"], arguments.calls)


if __name__ == "__main__":
    main()
