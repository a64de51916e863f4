"""A run's inputs as its script sees them: ``Run.input_datasets``."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.file_dataset import FileDataset
from atelier.sdk.data.tabular_dataset import TabularDataset

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset
    from atelier.sdk.tracking.run import Run
    from atelier.sdk.workspace import Workspace

ENV_INPUTS = "ATELIER_INPUT_DATASETS"


def _dataset(workspace: Workspace, entry: dict[str, Any]) -> AbstractDataset:
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
