"""``azureml.core.runconfig``: RunConfiguration."""

from atelier.sdk.tracking.runconfig import RunConfiguration

__all__ = ["RunConfiguration"]
