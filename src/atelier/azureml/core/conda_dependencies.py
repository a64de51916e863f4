"""``azureml.core.conda_dependencies``: CondaDependencies."""

from atelier.sdk.conda_dependencies import CondaDependencies

__all__ = ["CondaDependencies"]
