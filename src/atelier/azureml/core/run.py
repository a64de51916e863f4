"""``azureml.core.run``: Run."""

from atelier.sdk import Run

__all__ = ["Run"]
