"""The curated environments azureml samples name, as pip specifications that build here.

azureml served these as prebuilt images; Atelier keeps a small catalogue of the ones the
public samples use, each mapped to the pip packages that make an equivalent environment.
``Environment.get(ws, "AzureML-Minimal")`` returns one unless the workspace registered an
environment of that name; an unknown curated name lists the known ones.

PyTorch is pinned to a version with a CPU build: a bare ``torch`` requirement would pull a
CUDA build of several gigabytes onto machines that have no GPU.
"""

from __future__ import annotations

from atelier.core.errors import NotFoundError

#: the prefixes azureml keeps for curated environments
CURATED_PREFIXES = ("AzureML-", "Microsoft-")
TORCH = "torch==2.13.0+cpu"

#: name -> (python version, pip packages)
CATALOGUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "AzureML-Minimal": ("3.11", ()),
    "AzureML-Tutorial": ("3.11", ("scikit-learn", "pandas", "matplotlib", "joblib")),
    "AzureML-Scikit-learn-0.20.3": ("3.11", ("scikit-learn", "pandas", "joblib")),
    "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu": ("3.11", ("scikit-learn", "pandas", "joblib")),
    "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu": ("3.11", ("scikit-learn", "pandas", "joblib")),
    "AzureML-sklearn-1.5": ("3.11", ("scikit-learn", "pandas", "joblib")),
    "AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu": ("3.11", ("lightgbm", "scikit-learn", "pandas")),
    "AzureML-AutoML": ("3.11", ("scikit-learn", "pandas", "lightgbm", "joblib")),
    "AzureML-PyTorch-1.6-CPU": ("3.11", (TORCH,)),
    "AzureML-pytorch-1.10-ubuntu18.04-py38-cuda11-gpu": ("3.11", (TORCH,)),
    "AzureML-acpt-pytorch-2.2-cuda12.1": ("3.11", (TORCH,)),
    "AzureML-TensorFlow-2.3-CPU": ("3.11", ("tensorflow-cpu",)),
    "AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11-gpu": ("3.11", ("tensorflow-cpu",)),
}


def is_curated_name(name: str) -> bool:
    return name.startswith(CURATED_PREFIXES)


def curated_spec(name: str) -> dict[str, object]:
    """The environment spec of a curated environment; ``NotFoundError`` naming the
    catalogue when ``name`` is not in it."""
    entry = CATALOGUE.get(name)
    if entry is None:
        raise NotFoundError(
            f"curated environment {name!r} is not in Atelier's catalogue; the curated "
            f"environments are: {', '.join(sorted(CATALOGUE))}. Or build your own with "
            "Environment.from_pip_requirements() and env.register(ws)"
        )
    python_version, pip = entry
    return {
        "python_version": python_version,
        "pip": sorted(pip),
        "conda_packages": [],
        "user_managed": False,
        "interpreter_path": None,
        "environment_variables": {},
        "base_image": "python:3.11-slim",
    }
