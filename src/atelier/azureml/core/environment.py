"""``azureml.core.environment``: Environment."""

from atelier.sdk.environment import Environment

__all__ = ["Environment"]
