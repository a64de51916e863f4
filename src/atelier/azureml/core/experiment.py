"""``azureml.core.experiment``: Experiment."""

from atelier.sdk.tracking.experiment import Experiment

__all__ = ["Experiment"]
