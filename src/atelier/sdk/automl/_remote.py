"""What computes an AutoML iteration on another machine (a Ray node, an SSH target): a
copy of the search without its run, and the call that runs one iteration on it."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

__all__ = ["iterate", "worker_copy"]


def iterate(worker: Any, name: str, params: dict[str, Any], scores: list[float]) -> Any:
    """One iteration on another machine: the search's ``_compute`` with the scores so
    far (which decide whether the model is refitted and kept)."""
    from atelier.sdk.automl.models import MODELS

    worker.outcomes = [SimpleNamespace(score=score) for score in scores]
    return worker._compute(MODELS[name], params)


def worker_copy(search: Any) -> Any:
    """What another machine needs of the search to compute iterations: a copy without
    its run, jobs, outcomes, frames or compute target (the featurized data stay)."""
    worker = copy.copy(search)
    worker.parent = worker.out = None
    worker.__dict__.pop("jobs", None)
    worker.outcomes = []
    worker.config = copy.copy(search.config)
    worker.config.training_data = worker.config.validation_data = None
    worker.config.compute_target = None
    worker.config.ssh_config = None
    return worker
