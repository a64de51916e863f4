"""``azureml.core.compute_target``: ComputeTargetException."""

from atelier.core.errors import ComputeTargetException

__all__ = ["ComputeTargetException"]
