"""``azureml.core``: Workspace, Experiment, Run."""

from atelier.sdk import Experiment, Run, Workspace

__all__ = ["Experiment", "Run", "Workspace"]
