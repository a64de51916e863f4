"""The user-facing classes, thin over a Backend, in one sub-package per domain.

- ``tracking/``: experiments, runs and what a run records (metrics, files), submitting a
  script as a run.
- ``compute/``: compute targets, environments and their conda dependencies.
- ``data/``: datastores, datasets, a dataset's profile, the tabular reader and its cache.
- ``models/``: registered models, inference configs, packages, web services and their
  endpoints (keys, deployments, traffic).
- ``workspace.py`` on top; ``lineage.py`` (the models and runs behind a dataset) and
  ``keyvault.py`` (a workspace's secrets) beside it.

Lower domains never import higher ones (``data | compute < tracking < models <
workspace``, checked by import-linter); the few upward imports azureml's API shape forces
are named in pyproject.toml.
"""

from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run
from atelier.sdk.workspace import Workspace

__all__ = ["Experiment", "Run", "Workspace"]
