"""MLflow's ``python_function`` loader for model versions registered from plain files.

A version registered with ``Model.register(ws, "model.joblib", "name")`` has no ``MLmodel``
of its own; the server shows MLflow clients a generated one whose ``loader_module`` is this
module, so ``mlflow.pyfunc.load_model("models:/name/1")`` loads the file (with Atelier
installed where it runs). A joblib or pickle file is loaded with joblib (which reads both),
else pickle; a folder that holds one such file loads that file. The object must have
``predict``. Loading a pickle runs code from it: load only models you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from atelier.core.errors import ValidationError

__all__ = ["PickledModel"]

_SUFFIXES = (".joblib", ".pkl", ".pickle", ".sav")


class PickledModel:
    """The loaded object behind MLflow's ``PyFuncModel``: ``predict`` calls the object's."""

    def __init__(self, model: Any) -> None:
        if not callable(getattr(model, "predict", None)):
            raise ValidationError(
                f"the registered file holds a {type(model).__name__}, which has no predict(); "
                "pyfunc can load only a model with a predict method"
            )
        self.model = model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        del params
        return self.model.predict(model_input)


def _model_file(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ValidationError(
            f"{path} must hold exactly one {'/'.join(_SUFFIXES)} file to load; found {names}"
        )
    return found[0]


def _load_pyfunc(path: str, model_config: Any = None) -> PickledModel:
    """MLflow's loader hook: the model file (or folder) at ``path``, ready to predict."""
    del model_config
    target = _model_file(Path(path))
    try:
        import joblib
    except ImportError:
        with target.open("rb") as handle:
            return PickledModel(pickle.load(handle))
    return PickledModel(joblib.load(target))
