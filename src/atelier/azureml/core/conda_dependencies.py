"""``azureml.core.conda_dependencies``: CondaDependencies."""

from atelier.sdk.compute.conda_dependencies import CondaDependencies

__all__ = ["CondaDependencies"]
