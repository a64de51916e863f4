"""``azureml.core.workspace``: Workspace."""

from atelier.sdk.workspace import Workspace

__all__ = ["Workspace"]
