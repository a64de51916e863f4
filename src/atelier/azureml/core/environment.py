"""``azureml.core.environment``: Environment, CondaDependencies, DEFAULT_CPU_IMAGE."""

from atelier.sdk.compute.conda_dependencies import CondaDependencies
from atelier.sdk.compute.environment import DEFAULT_CPU_IMAGE, Environment

__all__ = ["DEFAULT_CPU_IMAGE", "CondaDependencies", "Environment"]
