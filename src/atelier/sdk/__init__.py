"""The user-facing classes, thin over a Backend."""

from atelier.sdk.experiment import Experiment
from atelier.sdk.run import Run
from atelier.sdk.workspace import Workspace

__all__ = ["Experiment", "Run", "Workspace"]
