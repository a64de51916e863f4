"""Lineage between datasets, runs and models, and a run's inputs as its script sees them."""

from __future__ import annotations

import builtins
import json
import os
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError

if TYPE_CHECKING:
    from atelier.sdk._dataset_base import AbstractDataset
    from atelier.sdk.model import Model
    from atelier.sdk.run import Run
    from atelier.sdk.workspace import Workspace

ENV_INPUTS = "ATELIER_INPUT_DATASETS"


def _dataset(workspace: Workspace, entry: dict[str, Any]) -> AbstractDataset:
    from atelier.sdk.dataset import Dataset
    from atelier.sdk.file_dataset import FileDataset
    from atelier.sdk.tabular_dataset import TabularDataset

    if entry.get("dataset_id"):
        return Dataset.get_by_id(workspace, entry["dataset_id"])
    cls = TabularDataset if entry.get("kind") == "tabular" else FileDataset
    return cls(entry["definition"], workspace)


def input_datasets(run: Run) -> dict[str, Any]:
    """Inside the run's script: each input's dataset (tabular) or local path (file).
    Elsewhere: each input's dataset."""
    workspace = run.experiment.workspace
    if os.environ.get("ATELIER_RUN_ID") == run.id and os.environ.get(ENV_INPUTS):
        entries = json.loads(os.environ[ENV_INPUTS])
        return {
            name: entry["path"] if entry.get("path") else _dataset(workspace, entry)
            for name, entry in entries.items()
        }
    definition = run._record.definition or {}
    return {entry["name"]: _dataset(workspace, entry) for entry in definition.get("inputs") or []}


def datasets_argument(value: Any) -> builtins.list[tuple[str, str]]:
    """``[('training data', ds), ...]`` as (scenario, dataset id); datasets must be registered."""
    from atelier.sdk._dataset_base import AbstractDataset

    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError("datasets must be a list of (scenario, dataset) tuples")
    pairs = []
    for item in value:
        if isinstance(item, AbstractDataset):
            item = ("training", item)  # noqa: PLW2901 - azureml also takes bare datasets
        if not (
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], AbstractDataset)
        ):
            raise ValidationError(
                "datasets takes (scenario, dataset) tuples like ('training data', ds), "
                f"not {item!r}"
            )
        scenario, dataset = item
        if dataset.id is None:
            raise ValidationError(
                f"dataset for {scenario!r} is not registered; register it first "
                "(ds.register(ws, name)) so the model can point at a version"
            )
        pairs.append((str(scenario), dataset.id))
    return pairs


def model_datasets(model: Model) -> dict[str, builtins.list[AbstractDataset]]:
    """Scenario -> the dataset versions behind the model."""
    from atelier.sdk.dataset import Dataset

    workspace = model.workspace
    found: dict[str, builtins.list[AbstractDataset]] = {}
    for link in workspace._backend.datasets.model_datasets(
        workspace.name, model.name, model.version
    ):
        found.setdefault(link.scenario, []).append(Dataset.get_by_id(workspace, link.dataset_id))
    return found


def models_using(dataset: AbstractDataset) -> builtins.list[Model]:
    from atelier.sdk.model import Model

    workspace = _registered(dataset)
    links = workspace._backend.datasets.models_using(workspace.name, dataset.id or "")
    return [Model(workspace, link.model_name, version=link.model_version) for link in links]


def runs_using(dataset: AbstractDataset) -> builtins.list[Run]:
    from atelier.sdk.run import Run

    workspace = _registered(dataset)
    links = workspace._backend.datasets.runs_using(workspace.name, dataset.id or "")
    return [Run.get(workspace, run_id) for run_id in dict.fromkeys(link.run_id for link in links)]


def _registered(dataset: AbstractDataset) -> Workspace:
    if dataset.id is None or dataset.workspace is None:
        raise ValidationError("only a registered dataset version has lineage; register it first")
    return dataset.workspace
