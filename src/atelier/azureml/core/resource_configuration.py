"""``azureml.core.resource_configuration``: ResourceConfiguration."""

from atelier.sdk.models.resource_configuration import ResourceConfiguration

__all__ = ["ResourceConfiguration"]
