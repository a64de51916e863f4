"""``azureml.core.runconfig``: RunConfiguration."""

from atelier.sdk.runconfig import RunConfiguration

__all__ = ["RunConfiguration"]
