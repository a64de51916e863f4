"""Lineage from a dataset version up: the models registered with it and the runs that
consumed it (``dataset.get_models()``, ``dataset.get_runs()``).

It sits at the top of the SDK because it builds models and runs; a dataset reaches it through
its workspace (``Workspace._models_using``), so data never imports upward. The links the other
way (a run's inputs, a model's datasets) live in :mod:`atelier.sdk.data`.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from atelier.sdk.models.model import Model
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace


def models_using(workspace: Workspace, dataset_id: str) -> builtins.list[Model]:
    """The model versions registered with the dataset version ``dataset_id``."""
    links = workspace._backend.datasets.models_using(workspace.name, dataset_id)
    return [Model(workspace, link.model_name, version=link.model_version) for link in links]


def runs_using(workspace: Workspace, dataset_id: str) -> builtins.list[Run]:
    """The runs that consumed the dataset version ``dataset_id`` as an input, each once."""
    links = workspace._backend.datasets.runs_using(workspace.name, dataset_id)
    return [Run.get(workspace, run_id) for run_id in dict.fromkeys(link.run_id for link in links)]
