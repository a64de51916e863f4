"""``azureml.core.environment``: Environment."""

from atelier.sdk.compute.environment import Environment

__all__ = ["Environment"]
