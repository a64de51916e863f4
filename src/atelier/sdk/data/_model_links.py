"""The dataset versions behind a model: the ``datasets`` argument of a model's
registration and ``Model.datasets``."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.sdk.data._dataset_base import AbstractDataset
from atelier.sdk.data.dataset import Dataset

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model


def datasets_argument(value: Any) -> builtins.list[tuple[str, str]]:
    """``[('training data', ds), ...]`` as (scenario, dataset id); datasets must be registered."""
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
    workspace = model.workspace
    found: dict[str, builtins.list[AbstractDataset]] = {}
    for link in workspace._backend.datasets.model_datasets(
        workspace.name, model.name, model.version
    ):
        found.setdefault(link.scenario, []).append(Dataset.get_by_id(workspace, link.dataset_id))
    return found
