"""Atelier's optional extras: what each enables and the modules that show it is installed.

``require_extra("server", "atelier server start")`` raises one typed error naming the pip
command instead of an ImportError traceback; ``atelier doctor`` lists them all.
"""

from __future__ import annotations

import importlib
import importlib.util

from atelier.core.errors import MissingExtraError

#: extra -> (the modules it brings, what it enables)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "server": (("fastapi", "uvicorn"), "the workspace server: atelier server start"),
    "serve": (
        ("fastapi", "uvicorn", "onnxruntime", "skl2onnx"),
        "local web services and endpoints (Model.deploy, atelier endpoint)",
    ),
    "postgres": (("psycopg",), "PostgreSQL as the metadata database"),
    "ray": (("ray",), "Ray clusters as compute targets (AmlCompute)"),
    "plot": (("matplotlib",), "run.log_image from matplotlib figures"),
    "drift": (("scipy", "sklearn"), "data drift detection (DataDriftDetector, atelier drift)"),
    "sweep": (("optuna",), "HyperDrive sweeps (HyperDriveConfig, atelier sweep)"),
    "s3": (("s3fs",), "S3 datastores and blob stores"),
    "azure": (("adlfs",), "Azure Blob / ADLS datastores"),
    "gcs": (("gcsfs",), "Google Cloud Storage datastores"),
    "automl": (("sklearn", "optuna"), "AutoML (AutoMLConfig, atelier automl)"),
    "widgets": (("ipywidgets",), "RunDetails(run).show() in Jupyter notebooks"),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    missing = []
    for module in EXTRAS[extra][0]:
        try:
            if module in __import__("sys").modules:
                importlib.import_module(module)
            elif importlib.util.find_spec(module) is None:
                missing.append(module)
        except (ImportError, ValueError):
            missing.append(module)
    return missing


def require_extra(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise ``MissingExtraError`` naming ``pip install 'atelier-ml[extra]'`` when a module
    of ``extra`` (of those in ``modules``, when given) is not installed."""
    missing = [m for m in missing_modules(extra) if modules is None or m in modules]
    if missing:
        raise MissingExtraError(
            f"{what} needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install 'atelier-ml[{extra}]'"
        )
