"""Lineage from a dataset version up: the models registered with it and the runs that
consumed it (``dataset.get_models()``, ``dataset.get_runs()``).

It sits at the top of the SDK because it builds models and runs; the links the other way
(a run's inputs, a model's datasets) live in :mod:`atelier.sdk.data`.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from atelier.core.errors import ValidationError
from atelier.sdk.models.model import Model
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset
    from atelier.sdk.workspace import Workspace


def models_using(dataset: AbstractDataset) -> builtins.list[Model]:
    """The model versions registered with ``dataset`` among their datasets."""
    workspace = _registered(dataset)
    links = workspace._backend.datasets.models_using(workspace.name, dataset.id or "")
    return [Model(workspace, link.model_name, version=link.model_version) for link in links]


def runs_using(dataset: AbstractDataset) -> builtins.list[Run]:
    """The runs that consumed ``dataset`` as an input, each once."""
    workspace = _registered(dataset)
    links = workspace._backend.datasets.runs_using(workspace.name, dataset.id or "")
    return [Run.get(workspace, run_id) for run_id in dict.fromkeys(link.run_id for link in links)]


def _registered(dataset: AbstractDataset) -> Workspace:
    if dataset.id is None or dataset.workspace is None:
        raise ValidationError("only a registered dataset version has lineage; register it first")
    return dataset.workspace
